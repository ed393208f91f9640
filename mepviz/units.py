"""Deprecated location; use mepviz.core.units.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.registry import POTENTIAL_UNIT_NAMES
from .core.units import (
    BOHR_ANGSTROM, convert_potential, COULOMB_KCAL_ANGSTROM, debye, DEBYE_PER_E_ANGSTROM,
    HARTREE_TO_KCAL_MOL, HARTREE_TO_VOLT, KCAL_MOL_TO_VOLT, KCAL_TO_KJ, POTENTIAL_UNITS,
)
