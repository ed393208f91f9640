"""Deprecated location; use mepviz.physics.reference.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.units import BOHR_ANGSTROM, HARTREE_TO_KCAL_MOL
from .core.elements import center_of_mass
from .core.molecule import Molecule, MoleculeInputError
from .core.paths import atomic_write
from .physics.electrostatics import shift_second_moment, traceless
from .physics.reference import (
    basis_for, basis_label, CACHE_FORMAT_VERSION, cache_max_bytes, default_cache_dir,
    DEFAULT_CACHE_MAX_MB, evict, InvalidReferenceFile, Progress, ReferenceEngine,
    ReferenceError, ReferenceResult, ReferenceTimeout,
)
