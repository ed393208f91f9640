"""Deprecated location; use mepviz.core.geometry.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.geometry import (
    bond_length_scale, BOND_TOLERANCE, bonds_of, components, covalent_radii, fragments,
    guess_bonds, nearest_neighbours, unit_hint,
)
