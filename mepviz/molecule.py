"""Deprecated location; use mepviz.core.molecule.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.elements import symbol
from .core.molecule import Counter, Molecule, MoleculeInputError
