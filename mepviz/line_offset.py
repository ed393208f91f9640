"""A potential line profile that never runs through a nucleus.

The Learn page plots the potential along a line from the centre of mass; for CO₂ along its
axis that line hits an O nucleus, where the atomic-multipole potential diverges (a 10⁸
spike). :func:`clear_offset` finds the smallest shift perpendicular to the line that keeps
every point of the segment at least `clearance` Å from every nucleus, and
:func:`offset_line_profile` evaluates the same columns as the Learn profile along the
shifted line. Lengths Å, potentials kcal/mol/e.
"""
from __future__ import annotations

import numpy as np

try:                                     # the Learn helpers (moving from reports to learn)
    from .learn import atomic_order_potentials, line_direction, molecular_multipole_terms
except ImportError:                      # pragma: no cover - before that move
    from .reports import atomic_order_potentials, line_direction, molecular_multipole_terms

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
    import pandas as pd
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
