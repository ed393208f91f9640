"""Deprecated location; use mepviz.io (readers in mepviz.io.smiles, .xyz, .sdf, .arrays, .files;
records in mepviz.io.records).

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core import limits
from .core.elements import atomic_number, symbol, SYMBOLS, unsupported_elements
from .core.molecule import Molecule, MoleculeInputError
from .core.geometry import fragments, unit_hint
from .io.validate import (
    DEFAULT_MAX_ATOMS, fragment_count, input_warnings, log, MIN_DISTANCE, validate,
)
from .io.embed import N_CONFORMERS, PRE_RELAX_ITERATIONS
from .io.smiles import from_smiles
from .io.xyz import from_xyz
from .io.sdf import from_mol, from_sdf
from .io.arrays import from_arrays
from .io.files import parse_text, read_file, SUPPORTED_EXTENSIONS
from .io.records import BATCH_FORMATS, parse_record, Record, split_records
