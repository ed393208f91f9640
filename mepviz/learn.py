"""Deprecated location; use mepviz.report.learn.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.units import COULOMB_KCAL_ANGSTROM
from .core.molecule import Molecule
from .physics.electrostatics import multipole_potential
from .report.learn import (
    atomic_order_potentials, clear_offset, decay_slopes, line_direction, line_profile,
    molecular_multipole_terms, OFFSET_ANGLES, offset_line_profile, OFFSET_STEPS, ORDER_LABELS,
    profile_csv, segment_clearance,
)
