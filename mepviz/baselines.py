"""Deprecated location; use mepviz.physics.baselines.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.registry import BASELINE_NAMES
from .core.units import BOHR_ANGSTROM
from .core.elements import center_of_mass
from .core.molecule import Molecule, MoleculeInputError
from .physics.electrostatics import molecular_dipole, molecular_quadrupole
from .physics.baselines import (
    _xtb_raw, baseline_charges, baseline_multipoles, BASELINES, gasteiger_charges,
    mmff94_charges, rdkit_molecule, tblite_version, unpack_quadrupoles, xtb_charges,
    xtb_multipoles, XTBResult,
)
