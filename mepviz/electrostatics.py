"""Deprecated location; use mepviz.physics.electrostatics (surface statistics:
mepviz.surface.statistics).

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.units import COULOMB_KCAL_ANGSTROM
from .core.elements import center_of_mass, masses
from .surface.statistics import surface_statistics
from .physics.electrostatics import (
    molecular_dipole, molecular_quadrupole, multipole_potential, principal_values,
    shift_second_moment, traceless,
)
