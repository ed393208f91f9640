"""Deprecated location; use mepviz.ml.applicability.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core import registry
from .core.elements import element_names, symbol, unsupported_elements
from .core.molecule import Molecule, MoleculeInputError
from .core.geometry import BOND_TOLERANCE, covalent_radii, fragments, nearest_neighbours, unit_hint
from .io.validate import input_warnings
from .ml.applicability import (
    Applicability, assess, QM9_ELEMENTS, QM9_MAX_HEAVY_ATOMS, trained_domain,
)
