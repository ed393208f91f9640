"""Deprecated location; use mepviz.core.limits.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.molecule import MoleculeInputError
from .core.limits import (
    check_coordinates, check_extent, check_file_size, check_frames, check_grid, check_points,
    extent, MAX_ATOMS, MAX_BATCH_CPU_SECONDS, MAX_COORDINATE_ANGSTROM, MAX_EXTENT_ANGSTROM,
    MAX_FILE_BYTES, MAX_FRAMES, MAX_GRID_POINTS, MAX_POINTS,
)
