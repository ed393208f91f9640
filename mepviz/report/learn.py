"""The physics of the Learn page: the MEP of atomic multipoles truncated at each order, the
molecular multipole terms about the centre of mass, and how each decays along a line.

Units: Å, e, e·Å, e·Å²; potentials in kcal/mol/e (docs/physics.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..core.molecule import Molecule
from ..core.units import COULOMB_KCAL_ANGSTROM, convert_potential
from ..physics.electrostatics import multipole_potential

ORDER_LABELS = {0: "charges only", 1: "charges + atomic dipoles",
                2: "charges + atomic dipoles + atomic quadrupoles"}


def atomic_order_potentials(positions, prediction, points) -> dict[int, np.ndarray]:
    """MEP (kcal/mol/e) at `points` from the atomic multipoles truncated at order 0, 1, 2."""
    q = np.asarray(prediction.charges, float)
    p = np.asarray(prediction.atomic_dipoles, float)
    t = np.asarray(prediction.atomic_quadrupoles, float)
    return {0: multipole_potential(points, positions, q),
            1: multipole_potential(points, positions, q, p),
            2: multipole_potential(points, positions, q, p, t)}


def molecular_multipole_terms(points, origin, charge, dipole, quadrupole) -> dict[str, np.ndarray]:
    """Potential (kcal/mol/e) of the molecular monopole, dipole and traceless quadrupole
    placed at `origin`: k Q/r, k μ·r/r³, k Σ Θ_ab r_a r_b / r⁵ (decay 1/r, 1/r², 1/r³)."""
    r = np.asarray(points, float).reshape(-1, 3) - np.asarray(origin, float)
    d = np.linalg.norm(r, axis=1)
    mono = COULOMB_KCAL_ANGSTROM * float(charge) / d
    dip = COULOMB_KCAL_ANGSTROM * (r @ np.asarray(dipole, float)) / d ** 3
    quad = COULOMB_KCAL_ANGSTROM * np.einsum("pa,ab,pb->p", r, np.asarray(quadrupole, float), r) / d ** 5
    return {"monopole": mono, "dipole": dip, "quadrupole": quad}


def line_direction(mol: Molecule, prediction, which: str) -> np.ndarray:
    """Unit vector: 'dipole' (along μ; falls back to the principal Θ axis, then x),
    'quadrupole' (principal axis of the largest |Θ| eigenvalue), 'x', 'y' or 'z'."""
    axes = {"x": [1.0, 0, 0], "y": [0, 1.0, 0], "z": [0, 0, 1.0]}
    if which in axes:
        return np.asarray(axes[which])
    if which == "dipole":
        mu = np.asarray(prediction.dipole, float)
        if np.linalg.norm(mu) > 1e-3:
            return mu / np.linalg.norm(mu)
        which = "quadrupole"
    if which == "quadrupole":
        w, v = np.linalg.eigh(np.asarray(prediction.quadrupole, float))
        u = v[:, int(np.argmax(np.abs(w)))]
        return u / np.linalg.norm(u)
    raise ValueError(f"unknown direction {which!r}")


def line_profile(mol: Molecule, prediction, direction: str = "dipole", r_min: float = 0.5,
                 r_max: float = 50.0, n: int = 200, log_spacing: bool = True):
    """Potential along the ray COM + r·u, r in [r_min, r_max] Å, as a pandas DataFrame.

    Columns: r (Å); atomic-multipole MEPs truncated at order 0/1/2 ('atomic q', 'atomic
    q+p', 'atomic q+p+θ' — the last is the model's MEP); the molecular multipole terms
    about the COM ('monopole', 'dipole', 'quadrupole') and their sum ('multipole sum').
    """
    u = line_direction(mol, prediction, direction)
    com = mol.center_of_mass
    r = (np.geomspace(r_min, r_max, n) if log_spacing else np.linspace(r_min, r_max, n))
    pts = com + r[:, None] * u
    atomic = atomic_order_potentials(mol.positions, prediction, pts)
    terms = molecular_multipole_terms(pts, com, mol.charge, prediction.dipole, prediction.quadrupole)
    df = pd.DataFrame({"r": r, "atomic q": atomic[0], "atomic q+p": atomic[1],
                       "atomic q+p+θ": atomic[2], **terms})
    df["multipole sum"] = df["monopole"] + df["dipole"] + df["quadrupole"]
    return df


def profile_csv(profile, unit: str = "kcal/mol/e") -> str:
    """A line profile (see line_profile) as CSV, potentials converted to `unit`."""
    df = profile.copy()
    cols = {"r": "r_angstrom"}
    for c in df.columns:
        if c != "r":
            df[c] = convert_potential(df[c].to_numpy(), unit)
            cols[c] = f"V {c} ({unit})"
    return df.rename(columns=cols).to_csv(index=False, float_format="%.8g")


def decay_slopes(profile, columns: Iterable[str] = ("monopole", "dipole", "quadrupole"),
                 r_from: float = 10.0) -> dict[str, float]:
    """Log–log slope d ln|V| / d ln r beyond `r_from` Å for each column (≈ −1, −2, −3)."""
    far = profile[profile["r"] >= r_from]
    out = {}
    for c in columns:
        v = np.abs(far[c].to_numpy())
        ok = v > 1e-12
        if ok.sum() >= 2:
            out[c] = float(np.polyfit(np.log(far["r"].to_numpy()[ok]), np.log(v[ok]), 1)[0])
        else:
            out[c] = float("nan")
    return out


# --------------------------------------------------------------------------- lines clear of nuclei
# A potential line profile that never runs through a nucleus.
# 
# The Learn page plots the potential along a line from the centre of mass; for CO₂ along its
# axis that line hits an O nucleus, where the atomic-multipole potential diverges (a 10⁸
# spike). :func:`clear_offset` finds the smallest shift perpendicular to the line that keeps
# every point of the segment at least `clearance` Å from every nucleus, and
# :func:`offset_line_profile` evaluates the same columns as the Learn profile along the
# shifted line. Lengths Å, potentials kcal/mol/e.

#: shifts tried, Å (the smallest one that clears all nuclei wins)
OFFSET_STEPS = np.arange(0.0, 4.01, 0.1)
OFFSET_ANGLES = np.deg2rad(np.arange(0, 360, 15))


def segment_clearance(positions, start, u, r_min: float, r_max: float) -> float:
    """Smallest distance (Å) from any of `positions` to the segment start + r·u, r ∈ [r_min, r_max]."""
    a = np.asarray(positions, float).reshape(-1, 3) - np.asarray(start, float)
    t = np.clip(a @ u, r_min, r_max)
    return float(np.linalg.norm(a - t[:, None] * u[None, :], axis=1).min())


def clear_offset(positions, origin, u, r_min: float, r_max: float, clearance: float = 0.5) -> np.ndarray:
    """The shortest vector s ⟂ u (Å) such that the segment origin + s + r·u (r ∈ [r_min, r_max])
    stays ≥ `clearance` Å from every nucleus; zero when the line is already clear."""
    u = np.asarray(u, float) / np.linalg.norm(u)
    e1 = np.cross(u, [1.0, 0, 0] if abs(u[0]) < 0.9 else [0, 1.0, 0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(u, e1)
    for step in OFFSET_STEPS:
        for ang in (OFFSET_ANGLES if step > 0 else [0.0]):
            s = step * (np.cos(ang) * e1 + np.sin(ang) * e2)
            if segment_clearance(positions, np.asarray(origin, float) + s, u, r_min, r_max) >= clearance:
                return s
    raise ValueError(f"no line within {OFFSET_STEPS[-1]:.1f} Å of the centre of mass stays "
                     f"{clearance} Å from every nucleus")


def offset_line_profile(mol, prediction, direction: str = "dipole", r_min: float = 0.5,
                        r_max: float = 50.0, n: int = 200, clearance: float = 0.5):
    """Potential along COM + s + r·u (s from :func:`clear_offset`), as a DataFrame with the
    columns of the Learn profile: r = distance from the centre of mass (Å), 'atomic q',
    'atomic q+p', 'atomic q+p+θ', 'monopole', 'dipole', 'quadrupole', 'multipole sum'.
    ``df.attrs["offset"]`` holds s (Å), ``df.attrs["clearance"]`` the closest approach."""
    u = line_direction(mol, prediction, direction)
    com = mol.center_of_mass
    s = clear_offset(mol.positions, com, u, r_min, r_max, clearance)
    t = np.geomspace(r_min, r_max, n)
    pts = com + s + t[:, None] * u
    atomic = atomic_order_potentials(mol.positions, prediction, pts)
    terms = molecular_multipole_terms(pts, com, mol.charge, prediction.dipole, prediction.quadrupole)
    df = pd.DataFrame({"r": np.linalg.norm(pts - com, axis=1), "atomic q": atomic[0],
                       "atomic q+p": atomic[1], "atomic q+p+θ": atomic[2], **terms})
    df["multipole sum"] = df["monopole"] + df["dipole"] + df["quadrupole"]
    df.attrs["offset"] = s
    df.attrs["clearance"] = segment_clearance(mol.positions, com + s, u, r_min, r_max)
    return df


# --------------------------------------------------------------------------- lessons
#: a molecular dipole below this (D) is zero for teaching: no dipole curve, no dipole direction
NEGLIGIBLE_DIPOLE_D = 0.05
#: a molecular quadrupole whose largest principal value is below this (D·Å) is zero likewise
NEGLIGIBLE_QUADRUPOLE_DA = 0.05


def significant_terms(charge: int, dipole_debye: float, quadrupole_max_da: float) -> list[str]:
    """The molecular multipole terms worth drawing: 'monopole' for an ion, 'dipole' when
    |μ| ≥ NEGLIGIBLE_DIPOLE_D, 'quadrupole' when its largest |principal value| ≥
    NEGLIGIBLE_QUADRUPOLE_DA (a CO₂ "dipole" of 1e-6 D is numerical noise, not physics)."""
    out = []
    if int(charge):
        out.append("monopole")
    if dipole_debye >= NEGLIGIBLE_DIPOLE_D:
        out.append("dipole")
    if quadrupole_max_da >= NEGLIGIBLE_QUADRUPOLE_DA:
        out.append("quadrupole")
    return out


@dataclass(frozen=True)
class Lesson:
    """A lecture-ready lesson: molecules shown side by side on one colour scale, with the
    point to make. `molecules`: (label, SMILES) pairs, or for the σ-hole lesson the names of
    the stored DFT references (data/newchem/sigma_hole.npz); `scale`: the colour-scale rule
    (mepviz.surface.colors.SCALES) shared by all its panels; `sigma_hole`: show DFT and every
    model per molecule with the halogen cap value read out."""

    id: str
    title: str
    molecules: tuple
    text: str
    look_for: str
    scale: str = "symmetric"
    sigma_hole: bool = False


LESSONS: dict[str, Lesson] = {ls.id: ls for ls in (
    Lesson("phenol-phenoxide", "Phenol vs phenoxide: where the negative charge goes",
           (("phenol", "Oc1ccccc1"), ("phenoxide", "[O-]c1ccccc1")),
           "Removing the O–H proton leaves a negative charge that is not stuck on oxygen: it spreads "
           "into the ring (ortho and para positions), which is why phenol is far more acidic than an "
           "alcohol and why phenoxide reacts with electrophiles on the ring.",
           "On one scale the anion is negative everywhere. Switch to “each its own min–max scale” to see "
           "where, within the anion, the charge sits: the oxygen, then the ring face and the ortho/para "
           "carbons.", scale="symmetric"),
    Lesson("aniline-nitrobenzene", "Aniline vs nitrobenzene: activating and deactivating groups",
           (("aniline", "Nc1ccccc1"), ("nitrobenzene", "O=[N+]([O-])c1ccccc1")),
           "The amino group pushes its lone pair into the ring (activating, ortho/para directing); the "
           "nitro group pulls π density out of it (deactivating, meta directing).",
           "Aniline's ring face is red (a π donor that attracts electrophiles); nitrobenzene's ring face is "
           "pale or blue, its negative charge sits on the nitro oxygens."),
    Lesson("carbonyl", "Carbonyl electrophilicity: aldehyde vs amide",
           (("acetaldehyde", "CC=O"), ("acetamide", "CC(N)=O")),
           "A carbonyl carbon is attacked by nucleophiles where the potential is positive. In the amide the "
           "nitrogen lone pair is delocalised into the C=O: the oxygen becomes more negative and the "
           "carbonyl carbon less electrophilic — amides are the least reactive carboxylic acid derivatives.",
           "Compare the red of the two carbonyl oxygens and the blue above and below the carbonyl carbons."),
    Lesson("hbond", "Hydrogen-bond donors and acceptors: pyridine vs pyrrole",
           (("pyridine", "c1ccncc1"), ("pyrrole", "c1cc[nH]c1")),
           "Pyridine's nitrogen lone pair lies in the ring plane and is not part of the π system: a strong "
           "H-bond acceptor (and base). Pyrrole's nitrogen lone pair is part of the aromatic sextet; its "
           "N–H is an H-bond donor instead.",
           "Deep red at pyridine's N (acceptor); blue at pyrrole's N–H (donor) and a red π face."),
    Lesson("sigma-hole", "Halogen bonding: the σ-hole",
           ("CF3Cl", "chlorobenzene", "iodobenzene"),
           "A covalently bound Cl, Br or I has less electron density on the far side of its bond: a cap "
           "of positive potential on the bond axis (the σ-hole) that binds Lewis bases — the halogen bond. "
           "It grows from Cl to I and with electron-withdrawing partners (CF₃). Point multipoles fitted "
           "to μ (and Θ) alone need not put it there; a model trained on the potential itself can.",
           "Look down the C→X bond: the DFT cap is positive. The table reads the cap value of every map: "
           "the largest V within 15° of the C→X axis beyond X.", sigma_hole=True),
)}


def idw_to_vertices(points, values, vertices, k: int = 4, power: float = 2.0) -> np.ndarray:
    """Values known at scattered surface `points` (e.g. the stored DFT isodensity points)
    carried to nearby `vertices` (Å) by inverse-distance weighting of the `k` nearest points."""
    pts = np.asarray(points, float).reshape(-1, 3)
    vals = np.asarray(values, float).ravel()
    d, i = cKDTree(pts).query(np.asarray(vertices, float).reshape(-1, 3), k=min(k, len(pts)))
    d, i = np.atleast_2d(d.T).T if d.ndim == 1 else d, np.atleast_2d(i.T).T if i.ndim == 1 else i
    w = 1.0 / np.maximum(d, 1e-6) ** power
    return (w * vals[i]).sum(1) / w.sum(1)
