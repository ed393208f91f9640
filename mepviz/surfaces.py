"""Deprecated location; use mepviz.surface.surfaces.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.registry import SURFACE_KINDS
from .core.units import BOHR_ANGSTROM
from .core.elements import bondi_radii, symbol, unsupported_elements
from .core.molecule import Molecule, MoleculeInputError
from .core.limits import check_grid
from .core.paths import data_dir
from .surface.surfaces import (
    atom_contractions, atomic_density, DEFAULT_SPACING, edge_use_counts, fibonacci_sphere,
    isodensity_padding, isodensity_surface, mesh_from_grid, promolecular_density,
    promolecular_density_gradient, promolecular_density_grid, shell_points,
    supported_density_elements, Surface, surface_for, VDW_SCALE_RANGE, vdw_surface,
)
