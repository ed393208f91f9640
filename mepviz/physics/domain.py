"""The one physical-plausibility gate: where the physics has an answer at all.

Every path to an answer goes through it: the readers (:func:`mepviz.io.validate.validate`),
:func:`mepviz.ml.applicability.assess` (run once per molecule by the predictor, so the command
line, ``mepviz batch``, the app, ``Predictor.predict`` and ``predict_mep_map`` — a hand-built
:class:`~mepviz.core.molecule.Molecule` included) and the DFT reference.

- :func:`structure_refusal`: atoms, finite positions, the size limits, overlapping atoms;
- :func:`electron_refusal`: electrons that exist, and a multiplicity they can have;
- :func:`charge_refusal`: total charges outside ``registry.DFT_CHARGES`` (e.g. O⁶⁻, water −8):
  such a molecule would not hold its electrons — no answer, ML or DFT;
- :func:`multipole_refusal`: a single neutral atom, whose point-multipole potential is zero;
- :func:`notes`: monatomic ions, free atoms in a spin state other than their ground state;
- :func:`check_points`: points at which a potential is asked for — finite, and not inside
  ``MIN_POINT_DISTANCE`` of a nucleus (where a point multipole diverges: 1.5 mÅ from an O
  nucleus gives 4×10⁹ kcal/mol/e); within ``NEAR_POINT_DISTANCE`` a note.

Refusals are sentences naming the problem and, where there is one, the fix; :func:`check`
and :func:`check_points` raise :class:`Meaningless` (a MoleculeInputError). Lengths Å,
charges e.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..core import limits, registry
from ..core.elements import SYMBOLS, symbol
from ..core.geometry import unit_hint
from ..core.molecule import Molecule, MoleculeInputError

#: atoms closer than this (Å) are refused as overlapping
MIN_DISTANCE = 0.5
#: a potential is refused at points closer than this to a nucleus (Å)
MIN_POINT_DISTANCE = 0.1
#: points closer than this to a nucleus (Å) get a note: point multipoles are far from the
#: true potential inside the electron cloud
NEAR_POINT_DISTANCE = 0.5
#: aufbau order of the subshells (n, l) for the ground-state spin of free atoms and ions
_AUFBAU = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (4, 0), (3, 2), (4, 1), (5, 0), (4, 2), (5, 1),
           (6, 0), (4, 3), (5, 2), (6, 1), (7, 0), (5, 3), (6, 2), (7, 1))


class Meaningless(MoleculeInputError):
    """The gate's refusal: an answer would be meaningless for this input."""


def structure_refusal(mol: Molecule, max_atoms: int | None = limits.MAX_ATOMS,
                      min_distance: float = MIN_DISTANCE) -> str | None:
    """Why `mol` is not a structure at all (no atoms, more than `max_atoms`, non-elements,
    non-finite or impossible coordinates, beyond the extent limit, atoms closer than
    `min_distance` Å), or None."""
    n = mol.n_atoms
    if n == 0:
        return "the molecule has no atoms."
    if mol.positions.shape != (n, 3):
        return f"positions must have shape ({n}, 3), got {mol.positions.shape}."
    if max_atoms is not None and n > max_atoms:
        return f"the molecule has {n} atoms; the limit is {max_atoms} atoms."
    zs = mol.numbers
    bad = sorted({int(z) for z in zs if z < 1 or z >= len(SYMBOLS)})
    if bad:
        return (f"atomic number{'s' * (len(bad) > 1)} {', '.join(map(str, bad))} "
                f"{'are' if len(bad) > 1 else 'is'} not an element.")
    finite = np.isfinite(mol.positions).all(axis=1)
    if not finite.all():
        i = int(np.nonzero(~finite)[0][0])
        return f"atom {i + 1} ({symbol(zs[i])}) has a coordinate that is not a finite number (NaN or infinity)."
    try:
        limits.check_coordinates(mol.positions)
        if n > 1:
            hint = unit_hint(zs, mol.positions)
            limits.check_extent(mol.positions, f"; {hint}" if hint else "")
    except MoleculeInputError as exc:
        return str(exc)
    if n > 1 and min_distance > 0:
        pairs = cKDTree(mol.positions).query_pairs(min_distance, output_type="ndarray")
        if len(pairs):
            d = np.linalg.norm(mol.positions[pairs[:, 0]] - mol.positions[pairs[:, 1]], axis=1)
            i, j = sorted(int(x) for x in pairs[int(np.argmin(d))])
            return (f"atoms {i + 1} ({symbol(zs[i])}) and {j + 1} ({symbol(zs[j])}) are only "
                    f"{d.min():.3f} Å apart (minimum {min_distance} Å): overlapping atoms "
                    f"(or coordinates not in Å).")
    return None


def electron_refusal(mol: Molecule) -> str | None:
    """Why no molecule with this charge and multiplicity exists (more charge than electrons,
    no electron left, a multiplicity the electron count cannot have), or None."""
    neutral = int(mol.numbers.sum())
    n_el = mol.n_electrons
    if abs(mol.charge) > neutral:
        return (f"charge {mol.charge:+d} is larger in magnitude than the {neutral} electrons of the "
                f"neutral molecule: no such molecule exists.")
    if n_el <= 0:
        return f"charge {mol.charge:+d} leaves no electrons: there is no electrostatic potential to model."
    mult = mol.multiplicity
    if mult < 1:
        return f"multiplicity {mult} is impossible: use 1 (singlet), 2 (doublet), 3 (triplet), …"
    if mult - 1 > n_el or (n_el - mult + 1) % 2:
        parity = "odd" if n_el % 2 else "even"
        fix = ("use multiplicity 2 for a radical, or change the charge by one" if parity == "odd"
               else "use an odd multiplicity (1 singlet, 3 triplet), or change the charge by one")
        return (f"{n_el} electron{'s' * (n_el != 1)} (charge {mol.charge:+d}) cannot have multiplicity {mult} "
                f"(an {parity} number of electrons): {fix}.")
    return None


def charge_refusal(mol: Molecule) -> str | None:
    """Why the total charge leaves no meaningful answer (outside ``registry.DFT_CHARGES``), or None."""
    lo, hi = min(registry.DFT_CHARGES), max(registry.DFT_CHARGES)
    if mol.charge not in registry.DFT_CHARGES:
        return (f"charge {mol.charge:+d} is outside the DFT reference's range ({lo:+d}…{hi:+d}), the "
                f"charges with a meaningful answer: such a molecule would not hold its electrons, "
                f"and any potential shown for it (ML or DFT) would be meaningless.")
    return None


def refusal(mol: Molecule, max_atoms: int | None = limits.MAX_ATOMS) -> str | None:
    """The gate, for any answer (ML or DFT): the first of :func:`structure_refusal`,
    :func:`electron_refusal` and :func:`charge_refusal`, or None."""
    return structure_refusal(mol, max_atoms) or electron_refusal(mol) or charge_refusal(mol)


def multipole_refusal(mol: Molecule) -> str | None:
    """Why atomic point multipoles cannot describe `mol` (a single neutral atom: no charge,
    and no direction for a dipole or quadrupole, so the potential would be zero), or None."""
    if mol.n_atoms == 1 and mol.charge == 0:
        return (f"a single neutral {symbol(mol.numbers[0])} atom: its atomic point multipoles are all "
                f"zero (no charge, and no direction for a dipole or quadrupole), so the model's "
                f"potential would be zero everywhere; use the DFT reference for a free atom.")
    return None


def dft_refusal(mol: Molecule) -> str | None:
    """Why the DFT reference would be meaningless for `mol` (:func:`refusal`), or None;
    first letter upper case."""
    why = refusal(mol)
    return why and why[0].upper() + why[1:]


def ground_state_multiplicity(n_electrons: int) -> int:
    """Hund's-rule multiplicity of a free atom or monatomic ion with `n_electrons` electrons
    (aufbau filling; a guide for the main-group elements)."""
    left = int(n_electrons)
    for n, l in _AUFBAU:
        cap = 2 * (2 * l + 1)
        if left <= cap:
            return 1 + (left if left <= cap // 2 else cap - left)
        left -= cap
    return 1


def notes(mol: Molecule) -> list[str]:
    """The gate's notes (answers that stand, with something to keep in mind)."""
    out = []
    if mol.n_atoms == 1:
        el = symbol(mol.numbers[0])
        ground = ground_state_multiplicity(mol.n_electrons)
        if mol.charge:
            out.append(f"a monatomic ion ({el}, charge {mol.charge:+d}): outside it the potential is "
                       f"that of a point charge, the same in every direction.")
        if ground != mol.multiplicity:
            out.append(f"a free {el} {'ion' if mol.charge else 'atom'} with {mol.n_electrons} electrons "
                       f"has a ground state of multiplicity {ground}; multiplicity {mol.multiplicity} "
                       f"was given, so the answer is for that state.")
    return out


def check(mol: Molecule, multipoles: bool = True) -> tuple[str, ...]:
    """Raise :class:`Meaningless` when the gate refuses `mol` (`multipoles`: also a single
    neutral atom); returns the gate's notes."""
    why = refusal(mol) or (multipoles and multipole_refusal(mol)) or None
    if why:
        raise Meaningless(why[0].upper() + why[1:])
    return tuple(notes(mol))


def check_points(mol: Molecule, points) -> tuple[np.ndarray, tuple[str, ...]]:
    """(points as a (P, 3) float array, notes) for a potential of `mol` at `points` (Å).

    :class:`Meaningless` for points that are not finite numbers, more than
    ``limits.MAX_POINTS`` of them, or one inside ``MIN_POINT_DISTANCE`` of a nucleus; a note
    when some lie within ``NEAR_POINT_DISTANCE``."""
    try:
        pts = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        raise Meaningless("the points must be numbers in an (P, 3) array (x, y, z in Å).") from None
    if pts.ndim != 2 or pts.shape[1] != 3:
        if pts.size % 3 or pts.ndim > 2:
            raise Meaningless(f"the points must form an (P, 3) array (x, y, z in Å), got shape {pts.shape}.")
        pts = pts.reshape(-1, 3)
    limits.check_points(len(pts))
    finite = np.isfinite(pts).all(axis=1)
    if not finite.all():
        raise Meaningless(f"point {int(np.nonzero(~finite)[0][0]) + 1} has a coordinate that is not a "
                          f"finite number (NaN or infinity).")
    if not len(pts) or not mol.n_atoms:
        return pts, ()
    d, a = cKDTree(mol.positions).query(pts, k=1)
    k = int(np.argmin(d))
    if d[k] < MIN_POINT_DISTANCE:
        raise Meaningless(
            f"point {k + 1} lies {d[k]:.4f} Å from atom {int(a[k]) + 1} ({symbol(mol.numbers[a[k]])}), inside "
            f"the minimum distance of {MIN_POINT_DISTANCE} Å from a nucleus, where the potential of a "
            f"point multipole diverges; move the point away from the nucleus or leave it out.")
    near = int((d < NEAR_POINT_DISTANCE).sum())
    if near:
        return pts, (f"{near} point{'s' * (near > 1)} within {NEAR_POINT_DISTANCE} Å of a nucleus: there, "
                     f"inside the electron cloud, point multipoles are far from the true potential.",)
    return pts, ()
