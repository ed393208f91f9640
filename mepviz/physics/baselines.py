"""Cheap atomic-charge models a chemist would otherwise use, as MEP baselines.

Every charge model is a function ``(mol: Molecule) -> charges (N,)`` in e:

- :func:`gasteiger_charges` — RDKit Gasteiger–Marsili (PEOE) charges,
- :func:`mmff94_charges` — RDKit MMFF94 partial charges,
- :func:`xtb_charges` — GFN2-xTB Mulliken charges (tblite).

GFN2-xTB also has atomic dipoles and quadrupoles (it is a multipole-electrostatics method);
:func:`xtb_multipoles` returns all of them in MEPviz units and conventions, with the
molecular dipole and the (corrected, see below) Buckingham quadrupole.
:func:`baseline_multipoles` gives ``(charges, dipoles, quadrupoles)`` for any entry of
:data:`BASELINES`, ready for :func:`mepviz.electrostatics.multipole_potential`.

tblite conventions (0.8.0, verified in tests/test_xtb.py):

- input positions in bohr; `dipole` in e·bohr, `quadrupole` in e·bohr², both about the
  coordinate origin (0,0,0), quadrupole packed as (xx, xy, yy, xz, yz, zz) and traceless;
- the atomic quadrupoles (xtbml ``qm_A_*``) are traceless Buckingham ½(3rr − r²) about each
  atom, the atomic dipoles (``dipm_A_*``) are e·bohr, signs such that
  μ = Σ qᵢ rᵢ + Σ pᵢ reproduces tblite's molecular dipole exactly;
- tblite's *molecular* quadrupole is NOT a consistent tensor: its diagonal is Buckingham,
  but the off-diagonal elements of the charge and atomic-dipole part carry a factor 3
  instead of 3/2 (they are twice the Buckingham value), so it does not rotate as a tensor.
  We therefore never use it; the molecular quadrupole is rebuilt from the atomic
  charges, dipoles and quadrupoles with the formula of docs/physics.md.
"""
from __future__ import annotations

import ctypes
import os
import sys
from dataclasses import dataclass
from importlib.metadata import version

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import rdDetermineBonds, rdForceFieldHelpers, rdPartialCharges
from rdkit.Geometry import Point3D
from tblite.interface import Calculator

from ..core.molecule import Molecule, MoleculeInputError
from ..core.registry import BASELINE_NAMES
from ..core.units import BOHR_ANGSTROM
from ..core.elements import center_of_mass
from .electrostatics import molecular_dipole, molecular_quadrupole

__all__ = [
    "BASELINES", "XTBResult", "baseline_charges", "baseline_multipoles", "gasteiger_charges",
    "mmff94_charges", "rdkit_molecule", "xtb_charges", "xtb_multipoles", "unpack_quadrupoles",
    "tblite_version",
]

_XTB_QUAD_KEYS = ("xx", "xy", "yy", "xz", "yz", "zz")


# --------------------------------------------------------------------------- RDKit

def _bond_type(order):
    table = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE,
             1.5: Chem.BondType.AROMATIC, 4: Chem.BondType.QUADRUPLE}
    try:
        return table[order]
    except KeyError:
        raise MoleculeInputError(f"unsupported bond order {order!r}") from None


def _with_conformer(rdmol, positions):
    conf = Chem.Conformer(rdmol.GetNumAtoms())
    for i, (x, y, z) in enumerate(np.asarray(positions, float)):
        conf.SetAtomPosition(i, Point3D(float(x), float(y), float(z)))
    rdmol.RemoveAllConformers()
    rdmol.AddConformer(conf, assignId=True)
    return rdmol


def _from_bonds(mol: Molecule):
    """RDKit molecule from the Molecule's explicit bond list, or None if that fails.

    The bond orders are used as given when they sanitize to the right total charge;
    otherwise only the connectivity is kept and RDKit assigns bond orders and formal
    charges (rdDetermineBonds.DetermineBondOrders with the total charge).
    """
    rw = Chem.RWMol()
    for z in mol.numbers:
        atom = Chem.Atom(int(z))
        atom.SetNoImplicit(True)
        rw.AddAtom(atom)
    for i, j, order in mol.bonds:
        rw.AddBond(int(i), int(j), _bond_type(order))
        if order == 1.5:
            rw.GetBondBetweenAtoms(int(i), int(j)).SetIsAromatic(True)
            rw.GetAtomWithIdx(int(i)).SetIsAromatic(True)
            rw.GetAtomWithIdx(int(j)).SetIsAromatic(True)
    m = Chem.Mol(rw)
    blocker = rdBase.BlockLogs()  # silence RDKit; restores the previous log state on release
    try:
        Chem.SanitizeMol(m)
        if Chem.GetFormalCharge(m) == mol.charge:
            return _with_conformer(m, mol.positions)
    except Exception:
        pass
    finally:
        del blocker
    try:
        m = Chem.Mol(rw)
        for b in m.GetBonds():
            b.SetBondType(Chem.BondType.SINGLE)
            b.SetIsAromatic(False)
        for a in m.GetAtoms():
            a.SetIsAromatic(False)
        _with_conformer(m, mol.positions)
        rdDetermineBonds.DetermineBondOrders(m, charge=int(mol.charge))
        return m
    except Exception:
        return None


class _quiet_stdout:
    """Silence C-level stdout/stderr (RDKit's extended-Hückel code prints distance warnings)."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self._null = os.open(os.devnull, os.O_WRONLY)
        self._saved = [(fd, os.dup(fd)) for fd in (1, 2)]
        for fd, _ in self._saved:
            os.dup2(self._null, fd)

    def __exit__(self, *exc):
        try:  # flush C stdio buffers while they still point at /dev/null
            ctypes.CDLL(None).fflush(None)
        except Exception:
            pass
        for fd, saved in self._saved:
            os.dup2(saved, fd)
            os.close(saved)
        os.close(self._null)


def _from_geometry(mol: Molecule):
    """RDKit molecule with connectivity, bond orders and formal charges perceived from 3D.

    Distance-based connectivity first; strained rings (QM9 has many) can give over-valent
    atoms there, so then extended-Hückel connectivity (rdDetermineBonds useHueckel=True).
    """
    xyz = mol.to_xyz(comment="")
    error = None
    blocker = rdBase.BlockLogs()  # silence RDKit; restores the previous log state on release
    try:
        for options in ({}, {"useHueckel": True}):
            m = Chem.MolFromXYZBlock(xyz)
            if m is None:
                raise MoleculeInputError("RDKit could not read the geometry")
            try:
                if options:
                    with _quiet_stdout():
                        rdDetermineBonds.DetermineBonds(m, charge=int(mol.charge), **options)
                else:
                    rdDetermineBonds.DetermineBonds(m, charge=int(mol.charge))
                return m
            except MoleculeInputError:
                raise
            except Exception as exc:  # RDKit raises ValueError/RuntimeError with terse messages
                error = exc
    finally:
        del blocker
    raise MoleculeInputError(
        f"could not determine bonds and bond orders for {mol.formula or 'the molecule'} "
        f"with total charge {mol.charge}: {error}")


def rdkit_molecule(mol: Molecule):
    """An RDKit Mol (explicit hydrogens, the Molecule's conformer) for charge models.

    Uses the Molecule's bond list when known, else bond perception from the 3D geometry
    (rdDetermineBonds with the total charge).
    """
    if mol.bonds:
        m = _from_bonds(mol)
        if m is not None:
            return m
    return _from_geometry(mol)


def gasteiger_charges(mol: Molecule) -> np.ndarray:
    """RDKit Gasteiger–Marsili charges (e), shape (N,). They sum to the total formal charge."""
    m = rdkit_molecule(mol)
    rdPartialCharges.ComputeGasteigerCharges(m, nIter=12, throwOnParamFailure=False)
    q = np.array([a.GetDoubleProp("_GasteigerCharge") for a in m.GetAtoms()], float)
    if not np.all(np.isfinite(q)):
        bad = sorted({m.GetAtomWithIdx(int(i)).GetSymbol() for i in np.flatnonzero(~np.isfinite(q))})
        raise MoleculeInputError(f"Gasteiger charges are not parametrised for {', '.join(bad)}")
    return q


def mmff94_charges(mol: Molecule) -> np.ndarray:
    """RDKit MMFF94 partial charges (e), shape (N,)."""
    m = rdkit_molecule(mol)
    props = rdForceFieldHelpers.MMFFGetMoleculeProperties(m)
    if props is None:
        raise MoleculeInputError("MMFF94 has no parameters for this molecule (atom types missing)")
    return np.array([props.GetMMFFPartialCharge(i) for i in range(m.GetNumAtoms())], float)


# --------------------------------------------------------------------------- GFN2-xTB

def tblite_version() -> str:
    return version("tblite")


def unpack_quadrupoles(packed) -> np.ndarray:
    """(…, 6) packed (xx, xy, yy, xz, yz, zz) -> (…, 3, 3) symmetric matrices."""
    v = np.asarray(packed, float)
    xx, xy, yy, xz, yz, zz = np.moveaxis(v, -1, 0)
    return np.stack([np.stack([xx, xy, xz], -1), np.stack([xy, yy, yz], -1),
                     np.stack([xz, yz, zz], -1)], -2)


@dataclass(frozen=True)
class XTBResult:
    """GFN2-xTB atomic multipoles and molecular moments in MEPviz units.

    charges (N,) e; dipoles (N,3) e·Å; quadrupoles (N,3,3) e·Å² traceless Buckingham about
    each atom; energy hartree; dipole (3,) e·Å; quadrupole_com (3,3) e·Å² about the centre
    of mass; second_moment (3,3) e·Å² about (0,0,0) with traceless(second_moment) equal to
    the multipole model's quadrupole about (0,0,0) (its trace is not ⟨r²⟩: xTB atomic
    quadrupoles are traceless).
    """

    charges: np.ndarray
    dipoles: np.ndarray
    quadrupoles: np.ndarray
    energy: float
    dipole: np.ndarray
    quadrupole_com: np.ndarray
    second_moment: np.ndarray
    center_of_mass: np.ndarray


def _xtb_raw(numbers, positions, charge=0, uhf=0, accuracy=1.0, max_iter=250):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    calc = Calculator("GFN2-xTB", np.asarray(numbers, dtype=int),
                      np.asarray(positions, float) / BOHR_ANGSTROM,
                      charge=float(charge), uhf=int(uhf))
    calc.set("verbosity", 0)
    calc.set("accuracy", float(accuracy))
    calc.set("max-iter", int(max_iter))
    calc.add("xtbml_xyz")             # atomic dipoles and quadrupoles
    calc.add("molecular-multipoles")  # keeps tblite's molecular dipole available
    return calc.singlepoint()


def xtb_multipoles(mol: Molecule, accuracy: float = 1.0) -> XTBResult:
    """GFN2-xTB (tblite) atomic charges, dipoles and quadrupoles and molecular moments."""
    uhf = int(mol.multiplicity) - 1
    if uhf < 0:
        raise MoleculeInputError(f"invalid spin multiplicity {mol.multiplicity}")
    if (mol.n_electrons - uhf) % 2:
        raise MoleculeInputError(
            f"{mol.n_electrons} electrons cannot have spin multiplicity {mol.multiplicity}")
    try:
        res = _xtb_raw(mol.numbers, mol.positions, mol.charge, uhf, accuracy)
    except Exception as exc:  # tblite raises TBLiteRuntimeError (SCF not converged, elements)
        raise MoleculeInputError(f"GFN2-xTB failed: {str(exc).strip() or type(exc).__name__}") from None
    return _xtb_result(mol.numbers, mol.positions, res)


def _xtb_result(numbers, positions, res) -> XTBResult:
    pos = np.asarray(positions, float)
    d = res.get("post-processing-dict")
    q = np.asarray(res.get("charges"), float).copy()
    p = np.stack([d[f"dipm_A_{a}"] for a in "xyz"], 1) * BOHR_ANGSTROM
    t = unpack_quadrupoles(np.stack([d[f"qm_A_{k}"] for k in _XTB_QUAD_KEYS], 1)) * BOHR_ANGSTROM ** 2
    mu = molecular_dipole(pos, q, p)
    mu_tb = np.asarray(res.get("dipole"), float) * BOHR_ANGSTROM
    if not np.allclose(mu, mu_tb, atol=1e-8):  # guards the atomic-dipole convention
        raise RuntimeError(f"xTB atomic dipoles do not reproduce tblite's dipole ({mu} vs {mu_tb})")
    com = center_of_mass(numbers, pos)
    theta0 = molecular_quadrupole(pos, q, p, t)
    # a second moment whose traceless part is theta0 and which shifts like a raw moment
    pr = np.einsum("ia,ib->ab", p, pos)
    m0 = np.einsum("i,ia,ib->ab", q, pos, pos) + pr + pr.T + (2.0 / 3.0) * t.sum(0)
    return XTBResult(charges=q, dipoles=p, quadrupoles=t, energy=float(res.get("energy")),
                     dipole=mu, quadrupole_com=molecular_quadrupole(pos, q, p, t, origin=com),
                     second_moment=m0, center_of_mass=com)


def xtb_charges(mol: Molecule) -> np.ndarray:
    """GFN2-xTB Mulliken charges (e), shape (N,); they sum to the total charge."""
    return xtb_multipoles(mol).charges


# --------------------------------------------------------------------------- registry

#: name -> charge model (names and display labels: mepviz.registry.BASELINES)
BASELINES = {
    "gasteiger": gasteiger_charges,
    "mmff94": mmff94_charges,
    "xtb": xtb_charges,
}


def baseline_charges(name: str, mol: Molecule) -> np.ndarray:
    try:
        fn = BASELINES[name]
    except KeyError:
        raise ValueError(f"unknown baseline {name!r}; choose one of {', '.join(BASELINE_NAMES)}") from None
    return fn(mol)


def baseline_multipoles(name: str, mol: Molecule):
    """(charges, dipoles or None, quadrupoles or None) of a baseline, for multipole_potential.

    `name` is a key of BASELINES or "xtb-multipoles" (xTB charges, atomic dipoles and
    atomic quadrupoles).
    """
    if name == "xtb-multipoles":
        r = xtb_multipoles(mol)
        return r.charges, r.dipoles, r.quadrupoles
    return baseline_charges(name, mol), None, None
