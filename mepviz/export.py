"""Deprecated location; use mepviz.io.export.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.units import (
    BOHR_ANGSTROM, convert_potential, DEBYE_PER_E_ANGSTROM, HARTREE_TO_KCAL_MOL, POTENTIAL_UNITS,
)
from .core.elements import bondi_radii
from .core.molecule import Molecule
from .core.limits import check_grid
from .physics.electrostatics import principal_values
from .io.export import (
    batch_csv, batch_json, charges_pqr, charges_sdf, CLIP_HARTREE, cube_text, CubeData,
    grid_for, grid_points, jsonable, mep_and_density_cubes, mep_cube, read_cube, read_ply,
    read_pqr, rounded_charges, sdf_3d, surface_csv, surface_ply, VALUE_CAP_HARTREE, write_cube,
)
