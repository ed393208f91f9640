"""Deprecated location; use mepviz.core.elements.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.units import BOHR_ANGSTROM
from .core.elements import (
    atomic_number, bondi_radii, element_names, masses, MAX_ATOMIC_NUMBER, model_element_names,
    symbol, SYMBOLS, unsupported_elements,
)
