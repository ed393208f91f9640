"""Where the physics has an answer at all: molecules whose electrons exist, and charges the
DFT reference accepts (``registry.DFT_CHARGES``). Read by the DFT reference and by
:func:`mepviz.ml.applicability.assess` (the one applicability check). Charges in e.
"""
from __future__ import annotations

from ..core import registry
from ..core.molecule import Molecule


def electron_refusal(mol: Molecule) -> str | None:
    """Why no molecule with this charge exists (more charge than electrons, or no electron
    left), or None."""
    neutral = int(mol.numbers.sum())
    if abs(mol.charge) > neutral:
        return (f"charge {mol.charge:+d} is larger in magnitude than the {neutral} electrons of the "
                f"neutral molecule: no such molecule exists.")
    if mol.n_electrons <= 0:
        return f"charge {mol.charge:+d} leaves no electrons: there is no electrostatic potential to model."
    return None


def dft_refusal(mol: Molecule) -> str | None:
    """Why the DFT reference would be meaningless for `mol` (see :func:`electron_refusal`,
    or a charge outside ``registry.DFT_CHARGES``), or None; first letter upper case."""
    why = electron_refusal(mol) or _charge_range_refusal(mol)
    return why and why[0].upper() + why[1:]


def _charge_range_refusal(mol: Molecule) -> str | None:
    lo, hi = min(registry.DFT_CHARGES), max(registry.DFT_CHARGES)
    if mol.charge not in registry.DFT_CHARGES:
        return (f"charge {mol.charge:+d} is outside the DFT reference's range ({lo:+d}…{hi:+d}): "
                f"such a molecule would not hold its electrons, and the result would be meaningless.")
    return None
