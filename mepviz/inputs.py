"""Molecule input layer: SMILES, XYZ, SDF/MOL, plain arrays and uploaded files, plus validation.

Every public function returns :class:`mepviz.molecule.Molecule` objects (or a list of them) and
reports bad input by raising :class:`mepviz.molecule.MoleculeInputError` with a specific,
user-facing message. No other exception escapes (RDKit errors, decoding errors and the like are
converted).

Conventions:

* Geometry in Å. ``charge`` is the total charge in e, ``multiplicity`` is 2S+1.
* SMILES input is put in RDKit's canonical atom order (so the result does not depend on how
  the SMILES was written); SMILES and 2D MOL/SDF input are embedded to 3D with RDKit ETKDGv3 (``N_CONFORMERS``
  conformers, deterministic ``randomSeed``), each relaxed with MMFF94 (UFF when MMFF lacks
  parameters), and the lowest-energy conformer is kept. Disconnected
  fragments are embedded separately and laid out side by side so they never overlap.
* Charges come from formal charges, multiplicities from radical electrons (high spin,
  ``multiplicity = n_radical_electrons + 1``).
* ``Molecule.bonds`` holds ``(i, j, order)`` tuples, 0-based atom indices, order a float
  (1.0, 1.5 aromatic, 2.0, 3.0).
* Non-fatal notes (UFF fallback, bond orders that could not be assigned, ...) are logged on the
  ``mepviz.inputs`` logger and available through :func:`input_warnings`.
* Every parser runs :func:`validate` with ``max_atoms`` (default ``limits.MAX_ATOMS``) and the
  other limits of :mod:`mepviz.limits` (coordinates, molecular extent, molecules per file) but
  does not check element support: that is :func:`mepviz.applicability.assess`'s job.
* Batch uploads: :func:`split_records` cuts a multi-molecule file into :class:`Record` objects
  (one bad record does not spoil the others); :func:`parse_record` reads one.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
import re
import weakref

import numpy as np

from . import limits
from .elements import SYMBOLS, atomic_number, symbol, unsupported_elements
from .geometry import fragments, unit_hint
from .molecule import Molecule, MoleculeInputError

log = logging.getLogger(__name__)

try:  # silence RDKit's own stderr logging; we report problems ourselves
    from rdkit import RDLogger as _RDLogger

    _RDLogger.DisableLog("rdApp.*")
except Exception:  # pragma: no cover - rdkit is a pinned dependency
    pass

__all__ = [
    "DEFAULT_MAX_ATOMS",
    "MIN_DISTANCE",
    "SUPPORTED_EXTENSIONS",
    "from_smiles",
    "from_xyz",
    "from_sdf",
    "from_mol",
    "from_arrays",
    "read_file",
    "parse_text",
    "validate",
    "fragment_count",
    "fragments",
    "input_warnings",
    "Record",
    "split_records",
    "parse_record",
    "MoleculeInputError",
]

#: default atom limit applied by every parser
DEFAULT_MAX_ATOMS = limits.MAX_ATOMS
#: atoms closer than this (Å) are rejected as overlapping
MIN_DISTANCE = 0.5
#: file extension -> format understood by :func:`parse_text`
SUPPORTED_EXTENSIONS = {
    ".xyz": "xyz",
    ".sdf": "sdf",
    ".sd": "sdf",
    ".mol": "mol",
    ".mdl": "mol",
    ".smi": "smi",
    ".smiles": "smi",
    ".txt": "txt",
}
_FORMATS = ("xyz", "sdf", "mol", "smi", "smiles", "txt")
_MAX_BOND_ORDER_ITERATIONS = 200_000

# ---------------------------------------------------------------------------------------------
# warnings attached to molecules
# ---------------------------------------------------------------------------------------------
_WARNINGS: "weakref.WeakKeyDictionary[Molecule, tuple[str, ...]]" = weakref.WeakKeyDictionary()


def input_warnings(mol: Molecule) -> tuple[str, ...]:
    """Non-fatal notes recorded while this molecule was read (e.g. 'MMFF94 lacks parameters ...')."""
    return _WARNINGS.get(mol, ())


def _attach(mol: Molecule, notes: list[str]) -> Molecule:
    if notes:
        _WARNINGS[mol] = tuple(notes)
        for n in notes:
            log.info("%s: %s", mol.name or mol.formula, n)
    return mol


def _guard(func):
    """Convert any unexpected exception into a MoleculeInputError (nothing else escapes)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MoleculeInputError:
            raise
        except RecursionError as exc:
            raise MoleculeInputError("The input is too deeply nested or too large to read.") from exc
        except MemoryError as exc:
            raise MoleculeInputError("The input is too large to read.") from exc
        except Exception as exc:  # noqa: BLE001 - deliberate: user input must never crash callers
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MoleculeInputError(f"Could not read the molecule: {detail}") from exc

    return wrapper


def _err(msg: str) -> MoleculeInputError:
    return MoleculeInputError(msg)


# ---------------------------------------------------------------------------------------------
# small parsing helpers
# ---------------------------------------------------------------------------------------------
def _int_value(value, what: str) -> int:
    """Parse a user-supplied integer (int, integral float, or string like '+1')."""
    if isinstance(value, bool):
        raise _err(f"{what} must be a whole number, got {value!r}.")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if math.isfinite(value) and float(value).is_integer():
            return int(value)
        raise _err(f"{what} must be a whole number, got {value!r}.")
    if isinstance(value, str):
        s = value.strip().strip("\"'")
        if re.fullmatch(r"[+-]?\d+", s):
            return int(s)
        if re.fullmatch(r"[+-]?\d+\.0*", s):
            return int(float(s))
        raise _err(f"{what} must be a whole number, got '{value}'.")
    raise _err(f"{what} must be a whole number, got {value!r}.")


def _check_multiplicity_value(mult: int, where: str = "") -> int:
    if mult < 1:
        raise _err(f"multiplicity must be a positive integer (1 = singlet, 2 = doublet, ...), got {mult}{where}.")
    return mult


def _element_number(token: str, where: str) -> int:
    """Element symbol (case-insensitive) or atomic number -> atomic number."""
    tok = token.strip()
    if re.fullmatch(r"\d+", tok):
        z = int(tok)
        if 1 <= z < len(SYMBOLS):
            return z
        raise _err(f"{where}: atomic number {z} is not an element (valid: 1–{len(SYMBOLS) - 1}).")
    try:
        return atomic_number(tok)
    except KeyError:
        raise _err(f"{where}: '{tok}' is not an element.") from None


def _float_value(token: str, where: str) -> float:
    t = token.strip()
    try:
        v = float(t.replace("D", "E").replace("d", "e"))
    except ValueError:
        raise _err(f"{where}: coordinate '{t}' is not a number.") from None
    if not math.isfinite(v):
        raise _err(f"{where}: coordinate '{t}' is not a finite number (NaN or infinity).")
    return v


def _electron_check(n_electrons: int, charge: int, mult: int, explicit_mult: bool, hint: str = "") -> None:
    """Raise if charge/multiplicity cannot describe this number of electrons."""
    if n_electrons < 0:
        raise _err(f"charge {charge:+d} removes more electrons than the molecule has.")
    unpaired = mult - 1
    if unpaired > n_electrons or (n_electrons - unpaired) % 2:
        parity = "odd" if n_electrons % 2 else "even"
        if parity == "odd" and mult % 2 == 1:
            msg = (f"odd number of electrons ({n_electrons}) with charge {charge} and multiplicity {mult}"
                   f"{'' if explicit_mult else ' (the default)'}: set charge= or multiplicity= "
                   f"in the comment line")
        else:
            msg = (f"multiplicity {mult} is impossible with an {parity} number of electrons ({n_electrons}, "
                   f"charge {charge}): set charge= or multiplicity= in the comment line")
        raise _err(msg + (f" ({hint})." if hint else "."))


# ---------------------------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------------------------
def _check_elements(mol: Molecule, elements) -> None:
    msg = unsupported_elements(mol.numbers, elements, "The element restrictions in use")
    if msg:
        raise _err(msg)


@_guard
def validate(mol: Molecule, max_atoms: int | None = DEFAULT_MAX_ATOMS, elements=None,
             min_distance: float = MIN_DISTANCE) -> Molecule:
    """Check a molecule; return it unchanged or raise MoleculeInputError.

    Checks: at least one atom, at most ``max_atoms`` atoms (None: no limit), real elements,
    ``elements`` (a set of atomic numbers, e.g. MODEL_ELEMENTS) when given, finite coordinates,
    no two atoms closer than ``min_distance`` Å, and charge/multiplicity consistent with the
    number of electrons.
    """
    _validate_geometry(mol, max_atoms, elements, min_distance)
    _check_multiplicity_value(mol.multiplicity)
    _electron_check(mol.n_electrons, mol.charge, mol.multiplicity, explicit_mult=True)
    return mol


def _validate_geometry(mol: Molecule, max_atoms, elements=None, min_distance: float = MIN_DISTANCE) -> None:
    n = mol.n_atoms
    if n == 0:
        raise _err("The molecule has no atoms.")
    if mol.positions.shape != (n, 3):
        raise _err(f"positions must have shape ({n}, 3), got {mol.positions.shape}.")
    if max_atoms is not None and n > max_atoms:
        raise _err(f"The molecule has {n} atoms; the limit is {max_atoms} atoms.")
    zs = mol.numbers
    if np.any(zs < 1) or np.any(zs >= len(SYMBOLS)):
        badz = sorted({int(z) for z in zs if z < 1 or z >= len(SYMBOLS)})
        raise _err(f"atomic number{'s' if len(badz) > 1 else ''} {', '.join(map(str, badz))} "
                   f"{'are' if len(badz) > 1 else 'is'} not an element.")
    if elements is not None:
        _check_elements(mol, elements)
    if not np.all(np.isfinite(mol.positions)):
        i = int(np.where(~np.isfinite(mol.positions).all(axis=1))[0][0])
        raise _err(f"atom {i + 1} ({symbol(zs[i])}) has a coordinate that is not a finite number (NaN or infinity).")
    limits.check_coordinates(mol.positions)
    if n > 1:
        hint = unit_hint(zs, mol.positions)
        limits.check_extent(mol.positions, f"; {hint}" if hint else "")
    if n > 1 and min_distance > 0:
        from scipy.spatial import cKDTree

        pairs = cKDTree(mol.positions).query_pairs(min_distance, output_type="ndarray")
        if len(pairs):
            d = np.linalg.norm(mol.positions[pairs[:, 0]] - mol.positions[pairs[:, 1]], axis=1)
            k = int(np.argmin(d))
            i, j = sorted(int(x) for x in pairs[k])
            raise _err(f"atoms {i + 1} ({symbol(zs[i])}) and {j + 1} ({symbol(zs[j])}) are only "
                       f"{d[k]:.3f} Å apart (minimum {min_distance} Å): overlapping atoms "
                       f"(or coordinates not in Å).")




# ---------------------------------------------------------------------------------------------
# fragments
# ---------------------------------------------------------------------------------------------
def fragment_count(mol: Molecule) -> int:
    """Number of disconnected fragments (1 for an ordinary molecule)."""
    return len(fragments(mol))


# ---------------------------------------------------------------------------------------------
# RDKit helpers
# ---------------------------------------------------------------------------------------------
def _bonds_of(rdmol) -> tuple:
    return tuple((b.GetBeginAtomIdx(), b.GetEndAtomIdx(), float(b.GetBondTypeAsDouble()))
                 for b in rdmol.GetBonds())


def _canonical_smiles(rdmol) -> str:
    from rdkit import Chem

    try:
        return Chem.MolToSmiles(Chem.RemoveHs(rdmol))
    except Exception:  # noqa: BLE001
        try:
            return Chem.MolToSmiles(rdmol)
        except Exception:  # noqa: BLE001
            return ""


def _radical_multiplicity(rdmol) -> int:
    return sum(a.GetNumRadicalElectrons() for a in rdmol.GetAtoms()) + 1


#: conformers embedded per connected fragment; the one with the lowest MMFF94 energy is kept
N_CONFORMERS = 8
#: force-field iterations of every conformer before the lowest one is relaxed to convergence
PRE_RELAX_ITERATIONS = 200


def _canonical_order(rdmol):
    """`rdmol` renumbered in RDKit's canonical atom ranking (so the 3D result is independent of
    the atom order of the input SMILES)."""
    from rdkit import Chem

    ranks = list(Chem.CanonicalRankAtoms(rdmol, breakTies=True))
    order = sorted(range(rdmol.GetNumAtoms()), key=lambda i: ranks[i])
    return Chem.RenumberAtoms(rdmol, order)


def _embed_one(frag, seed: int, notes: list[str], label: str) -> np.ndarray:
    """Lowest-energy of `N_CONFORMERS` ETKDGv3 embeddings, each relaxed with MMFF94 (UFF when
    MMFF lacks parameters), for one connected RDKit molecule; returns positions (Å).

    Deterministic for a seed; ties in energy are broken by conformer number."""
    from rdkit.Chem import AllChem, rdDistGeom

    if frag.GetNumAtoms() == 1:
        return np.zeros((1, 3))
    params = rdDistGeom.ETKDGv3()
    params.randomSeed = int(seed)
    params.numThreads = 1
    n_conf = N_CONFORMERS if frag.GetNumAtoms() > 3 else 1
    cids = list(rdDistGeom.EmbedMultipleConfs(frag, n_conf, params))
    if not cids:
        params.useRandomCoords = True
        cids = list(rdDistGeom.EmbedMultipleConfs(frag, n_conf, params))
    if not cids:
        raise _err(f"Could not generate 3D coordinates for {label} (very strained or unusual structure).")
    # every conformer is pre-relaxed (PRE_RELAX_ITERATIONS), the lowest one is relaxed to convergence
    if AllChem.MMFFHasAllMoleculeParams(frag):
        res = AllChem.MMFFOptimizeMoleculeConfs(frag, numThreads=1, maxIters=PRE_RELAX_ITERATIONS,
                                                mmffVariant="MMFF94")
        best = cids[int(np.argmin([e for _, e in res]))]
        AllChem.MMFFOptimizeMolecule(frag, mmffVariant="MMFF94", maxIters=2000, confId=best)
    elif AllChem.UFFHasAllMoleculeParams(frag):
        res = AllChem.UFFOptimizeMoleculeConfs(frag, numThreads=1, maxIters=PRE_RELAX_ITERATIONS)
        best = cids[int(np.argmin([e for _, e in res]))]
        AllChem.UFFOptimizeMolecule(frag, maxIters=2000, confId=best)
        notes.append("MMFF94 has no parameters for this molecule; the geometry was relaxed with UFF instead "
                     f"(lowest-energy of {len(cids)} conformers).")
    else:
        best = cids[0]
        notes.append("Neither MMFF94 nor UFF has parameters for this molecule; "
                     "the geometry is the unrelaxed ETKDG embedding.")
    return np.array(frag.GetConformer(best).GetPositions(), dtype=float)


def _embed(molH, seed: int, notes: list[str], label: str) -> np.ndarray:
    """3D coordinates for an RDKit molecule with explicit H. Fragments are embedded separately
    and placed side by side along x with ≥ 4 Å between their atoms."""
    from rdkit import Chem

    frag_atoms = Chem.GetMolFrags(molH, asMols=False, sanitizeFrags=False)
    if len(frag_atoms) == 1:
        return _embed_one(molH, seed, notes, label)
    mapping: list = []
    frag_mols = Chem.GetMolFrags(molH, asMols=True, sanitizeFrags=False, fragsMolAtomMapping=mapping)
    pos = np.zeros((molH.GetNumAtoms(), 3))
    x_edge = None
    for fm, idx in zip(frag_mols, mapping):
        try:
            Chem.SanitizeMol(fm)
        except Exception:  # noqa: BLE001 - parent was sanitized; only ring info is essential
            fm.UpdatePropertyCache(strict=False)
            Chem.FastFindRings(fm)
        p = _embed_one(fm, seed, notes, label)
        p = p - p.mean(axis=0)
        if x_edge is None:
            shift = 0.0
        else:
            shift = x_edge + 4.0 - p[:, 0].min()
        p[:, 0] += shift
        x_edge = float(p[:, 0].max())
        pos[list(idx)] = p
    # centre the whole set
    return pos - pos.mean(axis=0)


def _set_positions(rdmol, pos: np.ndarray) -> None:
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    conf = Chem.Conformer(rdmol.GetNumAtoms())
    for i, (x, y, z) in enumerate(pos):
        conf.SetAtomPosition(i, Point3D(float(x), float(y), float(z)))
    conf.Set3D(True)
    rdmol.RemoveAllConformers()
    rdmol.AddConformer(conf, assignId=True)


def _resolve(value_given, value_found, what: str, source: str) -> int:
    if value_given is None:
        return value_found
    v = _int_value(value_given, what)
    if v != value_found:
        raise _err(f"{source} has {what} {value_found}, but {what}={v} was requested.")
    return v


# ---------------------------------------------------------------------------------------------
# SMILES
# ---------------------------------------------------------------------------------------------
def _smiles_problem(smiles: str) -> str:
    from rdkit import Chem

    raw = Chem.MolFromSmiles(smiles, sanitize=False)
    if raw is None:
        return "syntax error"
    try:
        probs = Chem.DetectChemistryProblems(raw)
    except Exception:  # noqa: BLE001
        probs = ()
    if probs:
        return probs[0].Message().strip()
    return "RDKit could not interpret it"


@_guard
def from_smiles(smiles: str, charge=None, seed: int = 42, name: str = "", *,
                multiplicity=None, max_atoms: int | None = DEFAULT_MAX_ATOMS) -> Molecule:
    """3D molecule from a SMILES string (H added, canonical atom order, lowest-energy of
    ``N_CONFORMERS`` ETKDGv3 + MMFF94 conformers; deterministic for a seed).

    ``charge``/``multiplicity``, when given, must agree with the SMILES formal charges/radicals.
    """
    from rdkit import Chem

    if not isinstance(smiles, str):
        raise _err(f"SMILES must be text, got {type(smiles).__name__}.")
    s = smiles.strip()
    if not s:
        raise _err("The SMILES string is empty.")
    odd = next((ch for ch in s if not ch.isascii() or not ch.isprintable()), None)
    if odd is not None:
        raise _err(f"Invalid SMILES '{s}': it contains the character {odd!r}; SMILES are written "
                   f"in plain ASCII (e.g. 'Cl', 'Br', '[O-]').")
    if len(s.split()) > 1:
        raise _err(f"Invalid SMILES '{s}': it contains spaces.")
    mol = Chem.MolFromSmiles(s)
    if mol is None:
        raise _err(f"Invalid SMILES '{s}': {_smiles_problem(s)}.")
    if mol.GetNumAtoms() == 0:
        raise _err(f"The SMILES '{s}' contains no atoms.")
    dummies = [a.GetSymbol() for a in mol.GetAtoms() if a.GetAtomicNum() == 0]
    if dummies:
        raise _err(f"SMILES '{s}' contains a dummy/wildcard atom ('*'), which has no 3D structure.")
    molH = _canonical_order(Chem.AddHs(mol))
    n = molH.GetNumAtoms()
    if max_atoms is not None and n > max_atoms:
        raise _err(f"The molecule has {n} atoms (with hydrogens); the limit is {max_atoms} atoms.")
    q = _resolve(charge, Chem.GetFormalCharge(molH), "charge", f"SMILES '{s}'")
    mult = _resolve(multiplicity, _radical_multiplicity(molH), "multiplicity", f"SMILES '{s}'")
    notes: list[str] = []
    pos = _embed(molH, seed, notes, f"SMILES '{s}'")
    _set_positions(molH, pos)
    m = Molecule(
        numbers=[a.GetAtomicNum() for a in molH.GetAtoms()],
        positions=pos,
        charge=q,
        multiplicity=mult,
        name=name or s,
        smiles=_canonical_smiles(molH),
        bonds=_bonds_of(molH),
    )
    validate(m, max_atoms=max_atoms)
    return _attach(m, notes)


# ---------------------------------------------------------------------------------------------
# XYZ
# ---------------------------------------------------------------------------------------------
_KV = re.compile(r"(?i)(?<![\w.])(charge|multiplicity|mult)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s,;]*)[,;]?")


def _parse_comment(comment: str, frame: int):
    """Return (name, charge or None, multiplicity or None) from an XYZ comment line."""
    found: dict[str, int] = {}
    where = f"comment line of frame {frame}" if frame > 1 else "comment line"
    for m in _KV.finditer(comment):
        key = m.group(1).lower()
        key = "multiplicity" if key == "mult" else key
        raw = m.group(2)
        if raw == "":
            raise _err(f"{key}= in the {where} has no value.")
        try:
            val = _int_value(raw, key)
        except MoleculeInputError:
            raise _err(f"{key}={raw} in the {where} is not a whole number.") from None
        if key in found and found[key] != val:
            raise _err(f"The {where} gives two different values for {key}.")
        found[key] = val
    if "multiplicity" in found:
        _check_multiplicity_value(found["multiplicity"], f" in the {where}")
    name = " ".join(_KV.sub(" ", comment).split())
    return name, found.get("charge"), found.get("multiplicity")


def _looks_like_atom_line(line: str) -> bool:
    t = line.split()
    if len(t) < 4:
        return False
    try:
        [float(x) for x in t[1:4]]
    except ValueError:
        return False
    return bool(re.fullmatch(r"[A-Za-z]{1,3}|\d{1,3}", t[0]))


def _xyz_frames(text: str, max_atoms: int | None):
    lines = text.splitlines()
    n = len(lines)
    i = 0
    frames = []
    while True:
        while i < n and not lines[i].strip():
            i += 1
        if i >= n:
            break
        f = len(frames) + 1
        limits.check_frames(f, "The XYZ file", at_least=True)
        fr = f" (frame {f})" if f > 1 else ""
        header = lines[i].strip()
        tok = header.split()[0]
        if not re.fullmatch(r"[+-]?\d+", tok):
            if f > 1 and _looks_like_atom_line(header):
                prev = frames[-1][3]
                extra = 0
                k = i
                while k < n and _looks_like_atom_line(lines[k]):
                    extra += 1
                    k += 1
                raise _err(f"XYZ atom-count mismatch: the header says {prev} atoms but "
                           f"{prev + extra} atom lines follow.")
            if _looks_like_atom_line(header):
                raise _err(f"line {i + 1}{fr}: an XYZ file must start with the number of atoms, "
                           f"but this line looks like an atom line.")
            raise _err(f"line {i + 1}{fr}: expected the number of atoms, got '{header[:40]}'.")
        count = int(tok)
        if count <= 0:
            raise _err(f"line {i + 1}{fr}: the number of atoms must be positive, got {count}.")
        if max_atoms is not None and count > max_atoms:
            raise _err(f"The molecule has {count} atoms; the limit is {max_atoms} atoms.")
        if i + 1 >= n:
            raise _err(f"The XYZ file is truncated{fr}: it ends after the atom count "
                       f"(expected a comment line and {count} atom lines).")
        comment = lines[i + 1]
        name, q, mult = _parse_comment(comment, f)
        numbers, pos = [], []
        j = i + 2
        while len(numbers) < count:
            if j >= n or not lines[j].strip() or re.fullmatch(r"\s*[+-]?\d+\s*", lines[j]):
                got = len(numbers)
                if j >= n:
                    raise _err(f"XYZ atom-count mismatch{fr}: the header says {count} atoms but only "
                               f"{got} atom lines follow (truncated file?).")
                raise _err(f"XYZ atom-count mismatch{fr}: the header says {count} atoms but only "
                           f"{got} atom lines follow before line {j + 1}.")
            where = f"line {j + 1}"
            t = lines[j].split()
            if len(t) < 4:
                raise _err(f"{where}: expected 'element x y z', got '{lines[j].strip()[:60]}' "
                           f"(truncated line?).")
            numbers.append(_element_number(t[0], where))
            pos.append([_float_value(x, where) for x in t[1:4]])
            j += 1
        frames.append((numbers, pos, (name, q, mult), count, i + 1))
        i = j
        # extra atom lines beyond the declared count
        k = i
        while k < n and not lines[k].strip():
            k += 1
        if k < n and _looks_like_atom_line(lines[k]) and not re.fullmatch(r"\s*[+-]?\d+\s*", lines[k]):
            extra = 0
            while k < n and _looks_like_atom_line(lines[k]):
                extra += 1
                k += 1
            raise _err(f"XYZ atom-count mismatch{fr}: the header says {count} atoms but "
                       f"{count + extra} atom lines follow.")
    if not frames:
        raise _err("The XYZ input is empty.")
    return frames


def _suggest_charge(numbers, pos, charge: int, odd: bool) -> int | None:
    """Find a nearby total charge for which RDKit can assign bond orders (closed shell)."""
    deltas = (1, -1, 3, -3) if odd else (2, -2)
    for d in deltas:
        try:
            _perceive(numbers, pos, charge + d, 1)
            return charge + d
        except Exception:  # noqa: BLE001
            continue
    return None


def _rdmol_from_xyz(numbers, pos):
    from rdkit import Chem

    rw = Chem.RWMol()
    for z in numbers:
        rw.AddAtom(Chem.Atom(int(z)))
    m = rw.GetMol()
    _set_positions(m, np.asarray(pos, dtype=float))
    return m


def _perceive(numbers, pos, charge: int, mult: int):
    """Connectivity + bond orders with RDKit; raises on failure."""
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds

    m = _rdmol_from_xyz(numbers, pos)
    rdDetermineBonds.DetermineConnectivity(m, charge=charge)
    m = Chem.Mol(m)
    if mult == 1:
        rdDetermineBonds.DetermineBondOrders(m, charge=charge, allowChargedFragments=True,
                                             embedChiral=False, maxIterations=_MAX_BOND_ORDER_ITERATIONS)
    else:
        rdDetermineBonds.DetermineBondOrders(m, charge=charge, allowChargedFragments=False,
                                             embedChiral=False, maxIterations=_MAX_BOND_ORDER_ITERATIONS)
    Chem.SanitizeMol(m)
    return m


def _xyz_molecule(numbers, pos, name, charge, mult, explicit_mult, max_atoms, check_charge=True) -> Molecule:
    from rdkit.Chem import rdDetermineBonds

    notes: list[str] = []
    probe = Molecule(numbers=numbers, positions=pos, charge=charge, multiplicity=mult, name=name)
    # geometry checks first (overlaps would confuse bond perception)
    _validate_geometry(probe, max_atoms)
    n_el = probe.n_electrons
    if n_el < 0:
        raise _err(f"charge {charge:+d} removes more electrons than the molecule has.")
    unpaired = mult - 1
    if unpaired > n_el or (n_el - unpaired) % 2:
        hint = ""
        if mult == 1:
            alt = _suggest_charge(numbers, pos, charge, odd=bool(n_el % 2))
            if alt is not None:
                hint = f"the bonding suggests charge={alt}"
        if n_el % 2 and mult == 1:
            hint = "; ".join(h for h in (hint, "use multiplicity=2 for a radical") if h)
        _electron_check(n_el, charge, mult, explicit_mult, hint)
    smiles, bonds = "", ()
    try:
        rdm = _perceive(numbers, pos, charge, mult)
        bonds = _bonds_of(rdm)
        smiles = _canonical_smiles(rdm)
        if mult > 1:
            rad = _radical_multiplicity(rdm)
            if rad != mult:
                notes.append(f"The bonding suggests multiplicity {rad}, but multiplicity {mult} was given.")
    except Exception:  # noqa: BLE001
        alt = _suggest_charge(numbers, pos, charge, odd=False) if (mult == 1 and check_charge) else None
        # only a charge closer to neutral counts as evidence that the given charge is wrong
        # (a neutral input whose bonding RDKit cannot assign is kept, with a warning)
        if alt is not None and abs(alt) < abs(charge):
            raise _err(f"No valid bonding pattern exists for charge {charge} (multiplicity {mult}); "
                       f"the bonding suggests charge={alt}: set charge= in the comment line.") from None
        try:
            conn = _rdmol_from_xyz(numbers, pos)
            rdDetermineBonds.DetermineConnectivity(conn, charge=charge)
            bonds = tuple((i, j, 1.0) for i, j, _ in _bonds_of(conn))
        except Exception:  # noqa: BLE001
            bonds = ()
        notes.append("Bond orders could not be assigned from the geometry; only connectivity is shown.")
    m = Molecule(numbers=numbers, positions=pos, charge=charge, multiplicity=mult, name=name,
                 smiles=smiles, bonds=bonds)
    validate(m, max_atoms=max_atoms)
    return _attach(m, notes)


@_guard
def from_xyz(text: str, charge=None, multiplicity=None, *,
             max_atoms: int | None = DEFAULT_MAX_ATOMS, check_charge: bool = True) -> list[Molecule]:
    """Molecules from (multi-frame) XYZ text.

    The comment line may carry ``charge=`` and ``multiplicity=`` (or ``mult=``); the rest of it
    becomes the name. ``charge``/``multiplicity`` arguments are defaults for frames whose
    comment line gives none; if both are given they must agree. Element symbols are
    case-insensitive; atomic numbers are accepted in the symbol column.

    Bonds are perceived with RDKit (``DetermineBonds`` logic). An odd electron count with
    multiplicity 1, or a multiplicity of the wrong parity, is an error. When no bond pattern
    fits the charge but one fits a nearby charge closer to neutral, that is an error suggesting
    that charge;
    ``check_charge=False`` turns it into a warning (for exotic ions RDKit cannot assign, e.g.
    polycyclic dications). When no charge fits at all, only connectivity is kept (warning).
    """
    text = _check_text(text, "XYZ input")
    arg_q = None if charge is None else _int_value(charge, "charge")
    arg_m = None if multiplicity is None else _check_multiplicity_value(_int_value(multiplicity, "multiplicity"))
    out = []
    frames = _xyz_frames(text, max_atoms)
    for f, (numbers, pos, (name, q, mult), _count, line) in enumerate(frames, 1):
        fr = f" of frame {f}" if len(frames) > 1 else ""
        if q is not None and arg_q is not None and q != arg_q:
            raise _err(f"The comment line{fr} says charge={q}, but charge={arg_q} was requested.")
        if mult is not None and arg_m is not None and mult != arg_m:
            raise _err(f"The comment line{fr} says multiplicity={mult}, but multiplicity={arg_m} was requested.")
        qq = q if q is not None else (arg_q if arg_q is not None else 0)
        mm = mult if mult is not None else arg_m
        explicit = mm is not None
        try:
            out.append(_xyz_molecule(numbers, pos, name, qq, mm if explicit else 1, explicit, max_atoms,
                                     check_charge))
        except MoleculeInputError as exc:
            if len(frames) > 1:
                raise _err(f"Frame {f} (line {line}): {exc}") from None
            raise
    return out


# ---------------------------------------------------------------------------------------------
# SDF / MOL
# ---------------------------------------------------------------------------------------------
def _sdf_records(text: str) -> list[str]:
    records, cur = [], []
    for line in text.splitlines():
        if line.strip() == "$$$$":
            records.append("\n".join(cur))
            cur = []
        else:
            cur.append(line)
    if any(l.strip() for l in cur):
        records.append("\n".join(cur))
    return [r for r in records if r.strip()]


def _precheck_molblock(block: str, rec: str) -> None:
    """Structural checks of a V2000 block so users get a specific message."""
    lines = block.split("\n")
    if len(lines) < 4:
        raise _err(f"{rec}is truncated: a MOL block needs 3 header lines and a counts line.")
    counts = lines[3]
    if "V3000" in counts.upper():
        return
    try:
        n_atoms = int(counts[0:3])
        n_bonds = int(counts[3:6])
    except ValueError:
        raise _err(f"{rec}has a broken counts line (line 4: '{counts.strip()[:40]}'); "
                   f"expected atom and bond counts.") from None
    if n_atoms < 0 or n_bonds < 0:
        raise _err(f"{rec}has a broken counts line (negative counts).")
    if n_atoms == 0:
        raise _err(f"{rec}contains no atoms.")
    if len(lines) < 4 + n_atoms + n_bonds:
        raise _err(f"{rec}is truncated: the counts line declares {n_atoms} atoms and {n_bonds} bonds "
                   f"but the block ends early.")
    for k in range(n_atoms):
        ln = 5 + k
        t = lines[4 + k].split()
        where = f"{rec.strip()}, line {ln}"
        if len(t) < 4:
            raise _err(f"{where}: malformed atom line '{lines[4 + k].strip()[:50]}'.")
        for x in t[0:3]:
            _float_value(x, where)
        sym = t[3]
        if sym in ("*", "R", "R#", "A", "Q", "L", "LP"):
            raise _err(f"{where}: query/dummy atom '{sym}' is not supported.")
        if sym not in ("D", "T"):
            if sym.isdigit():
                raise _err(f"{where}: '{sym}' is not an element.")
            _element_number(sym, where)
    for k in range(n_bonds):
        ln = 5 + n_atoms + k
        t = lines[4 + n_atoms + k].split()
        where = f"{rec.strip()}, line {ln}"
        try:
            a, b, order = int(t[0]), int(t[1]), int(t[2])
        except (ValueError, IndexError):
            raise _err(f"{where}: malformed bond line '{lines[4 + n_atoms + k].strip()[:50]}'.") from None
        if not (1 <= a <= n_atoms and 1 <= b <= n_atoms) or a == b:
            raise _err(f"{where}: bond refers to atoms {a} and {b}, but there are {n_atoms} atoms.")
        del order


def _molblock_molecule(block: str, rec: str, charge, multiplicity, seed: int, max_atoms) -> Molecule:
    from rdkit import Chem

    _precheck_molblock(block, rec)
    mol = Chem.MolFromMolBlock(block, sanitize=True, removeHs=False)
    if mol is None:
        raw = Chem.MolFromMolBlock(block, sanitize=False, removeHs=False)
        if raw is None:
            raise _err(f"{rec}could not be read (malformed MOL block).")
        try:
            probs = Chem.DetectChemistryProblems(raw)
        except Exception:  # noqa: BLE001
            probs = ()
        why = probs[0].Message().strip() if probs else "RDKit could not interpret it"
        raise _err(f"{rec}is not a valid structure: {why}.")
    if mol.GetNumAtoms() == 0:
        raise _err(f"{rec}contains no atoms.")
    name = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
    label = f"'{name}'" if name else rec.strip()
    n_h = sum(a.GetTotalNumHs() for a in mol.GetAtoms())
    n_total = mol.GetNumAtoms() + n_h
    if max_atoms is not None and n_total > max_atoms:
        raise _err(f"The molecule has {n_total} atoms (with hydrogens); the limit is {max_atoms} atoms.")
    conf = mol.GetConformer() if mol.GetNumConformers() else None
    pos0 = np.array(conf.GetPositions()) if conf is not None else np.zeros((mol.GetNumAtoms(), 3))
    flat = mol.GetNumAtoms() > 1 and np.allclose(pos0[:, 2], 0.0, atol=1e-4)
    if not np.all(np.isfinite(pos0)):
        raise _err(f"{rec}has coordinates that are not finite numbers.")
    notes: list[str] = []
    if flat:
        molH = Chem.AddHs(mol)
        pos = _embed(molH, seed, notes, label)
        _set_positions(molH, pos)
        notes.append("2D input: 3D coordinates were generated (ETKDGv3 + force field).")
    else:
        molH = Chem.AddHs(mol, addCoords=True)
        pos = np.array(molH.GetConformer().GetPositions(), dtype=float)
    q = _resolve(charge, Chem.GetFormalCharge(molH), "charge", rec.strip() or "The MOL block")
    mult = _resolve(multiplicity, _radical_multiplicity(molH), "multiplicity", rec.strip() or "The MOL block")
    m = Molecule(numbers=[a.GetAtomicNum() for a in molH.GetAtoms()], positions=pos, charge=q,
                 multiplicity=mult, name=name, smiles=_canonical_smiles(molH), bonds=_bonds_of(molH))
    try:
        validate(m, max_atoms=max_atoms)
    except MoleculeInputError as exc:
        raise _err(f"{rec.strip()}: {exc}") from None
    return _attach(m, notes)


@_guard
def from_sdf(text: str, charge=None, multiplicity=None, *, seed: int = 42,
             max_atoms: int | None = DEFAULT_MAX_ATOMS) -> list[Molecule]:
    """Molecules from SDF text (one or more MOL blocks separated by ``$$$$``).

    Implicit hydrogens are added with coordinates; flat (all z = 0) records are embedded to 3D.
    Charge from formal charges, multiplicity from radicals (``M  RAD``). ``charge``/``multiplicity``,
    when given, must agree with every record.
    """
    text = _check_text(text, "SDF input")
    records = _sdf_records(text)
    if not records:
        raise _err("The SDF file contains no molecules.")
    limits.check_frames(len(records), "The SDF file")
    out = []
    for k, block in enumerate(records, 1):
        rec = f"SDF record {k} " if len(records) > 1 else ""
        out.append(_molblock_molecule(block, rec if rec else "The MOL block ", charge, multiplicity,
                                      seed, max_atoms))
    return out


@_guard
def from_mol(text: str, charge=None, multiplicity=None, *, seed: int = 42,
             max_atoms: int | None = DEFAULT_MAX_ATOMS) -> Molecule:
    """One molecule from a MOL block (a single-record SDF)."""
    mols = from_sdf(text, charge, multiplicity, seed=seed, max_atoms=max_atoms)
    if len(mols) > 1:
        raise _err(f"The MOL file contains {len(mols)} molecules; use an .sdf file for several molecules.")
    return mols[0]


# ---------------------------------------------------------------------------------------------
# arrays
# ---------------------------------------------------------------------------------------------
@_guard
def from_arrays(numbers, positions, charge=0, multiplicity=1, name: str = "", *,
                max_atoms: int | None = DEFAULT_MAX_ATOMS) -> Molecule:
    """Molecule from atomic numbers (or element symbols) and an (N, 3) array of positions in Å."""
    if isinstance(numbers, (str, bytes)):
        raise _err("numbers must be a list of atomic numbers or element symbols.")
    zs = []
    for k, v in enumerate(list(numbers)):
        where = f"atom {k + 1}"
        if isinstance(v, str):
            zs.append(_element_number(v, where))
        else:
            z = _int_value(v, f"{where}: atomic number")
            if not 1 <= z < len(SYMBOLS):
                raise _err(f"{where}: atomic number {z} is not an element.")
            zs.append(z)
    try:
        pos = np.asarray(positions, dtype=float)
    except (TypeError, ValueError):
        raise _err("positions must be numbers in an (N, 3) array.") from None
    if pos.ndim != 2 or pos.shape[1] != 3:
        if pos.size == 3 * len(zs) and pos.ndim == 1:
            pos = pos.reshape(-1, 3)
        else:
            raise _err(f"positions must have shape (N, 3), got {pos.shape}.")
    if len(pos) != len(zs):
        raise _err(f"{len(zs)} atomic numbers but {len(pos)} positions.")
    q = _int_value(charge, "charge")
    mult = _check_multiplicity_value(_int_value(multiplicity, "multiplicity"))
    m = Molecule(numbers=zs, positions=pos, charge=q, multiplicity=mult, name=str(name))
    return validate(m, max_atoms=max_atoms)


# ---------------------------------------------------------------------------------------------
# text / files
# ---------------------------------------------------------------------------------------------
_MAGIC = [
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"BZh", "a bzip2 archive"),
    (b"\x7fELF", "an executable"),
    (b"\xd0\xcf\x11\xe0", "an Office document"),
    (b"\x89HDF", "an HDF5 file"),
    (b"\x93NUMPY", "a NumPy file"),
]
_HELP = "Upload a text file in .xyz, .sdf, .mol or .smi format."


def _check_text(text, what: str) -> str:
    if isinstance(text, (bytes, bytearray)):
        text = _decode(bytes(text), what)
    if not isinstance(text, str):
        raise _err(f"{what} must be text, got {type(text).__name__}.")
    if "\x00" in text:
        raise _err(f"{what} is not a text file (it contains NUL bytes). {_HELP}")
    if not text.strip():
        raise _err(f"{what} is empty.")
    return _normalise_newlines(text)


def _normalise_newlines(text: str) -> str:
    """Windows (\r\n), doubled (\r\r\n) and old Mac (\r) line endings -> \n."""
    return re.sub(r"\r+\n", "\n", text).replace("\r", "\n")


def _decode(data: bytes, label: str) -> str:
    limits.check_file_size(len(data), label)
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            raise _err(f"{label} is not a text file (it looks like {kind}). {_HELP}")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _err(f"{label} is not a text file (undecodable UTF-16). {_HELP}") from None
    if b"\x00" in data:
        raise _err(f"{label} is not a text file (it contains NUL bytes, i.e. binary data). {_HELP}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("latin-1")
    ctrl = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\v") + sum(
        1 for c in text if 0x7F <= ord(c) < 0xA0)
    if ctrl:
        raise _err(f"{label} is not a text file (it contains binary data and is not valid UTF-8). {_HELP}")
    return text


def _sniff(text: str) -> str:
    first = next((l.strip() for l in text.splitlines() if l.strip()), "")
    if re.fullmatch(r"[+-]?\d+", first.split()[0] if first else ""):
        return "xyz"
    if re.search(r"^M  END", text, re.M) or re.search(r"^\$\$\$\$", text, re.M) or "V2000" in text or "V3000" in text:
        return "sdf"
    return "smi"


def _smiles_entries(text: str) -> list[tuple[int, str, str]]:
    """(line number, SMILES, name) of a SMILES list: one SMILES per line, an optional name after
    it, blank lines, '#' comments and a 'smiles' header row ignored."""
    entries = []
    for ln, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        parts = re.split(r"[ \t]+", s, maxsplit=1)       # ASCII blanks only: no silent split at U+00A0
        if not entries and parts[0].lower() in ("smiles", "smi"):
            continue  # header row
        entries.append((ln, parts[0], parts[1].strip() if len(parts) > 1 else ""))
    return entries


def _from_smiles_text(text: str, charge, multiplicity, seed, max_atoms) -> list[Molecule]:
    entries = _smiles_entries(text)
    if not entries:
        raise _err("The SMILES input contains no SMILES.")
    limits.check_frames(len(entries), "The SMILES file")
    out = []
    for ln, smi, name in entries:
        try:
            out.append(from_smiles(smi, charge=charge, seed=seed, name=name, multiplicity=multiplicity,
                                   max_atoms=max_atoms))
        except MoleculeInputError as exc:
            if len(entries) > 1:
                raise _err(f"line {ln}: {exc}") from None
            raise
    return out


@_guard
def parse_text(text: str, fmt: str, *, charge=None, multiplicity=None, seed: int = 42,
               max_atoms: int | None = DEFAULT_MAX_ATOMS, check_charge: bool = True) -> list[Molecule]:
    """Parse text in format ``fmt`` ('xyz', 'sdf', 'mol', 'smi'/'smiles', or 'txt' = sniffed)."""
    f = str(fmt).lower().lstrip(".")
    if f not in _FORMATS:
        raise _err(f"Unknown format '{fmt}'; supported: xyz, sdf, mol, smi.")
    text = _check_text(text, "The input")
    if f == "txt":
        f = _sniff(text)
    if f == "xyz":
        return from_xyz(text, charge, multiplicity, max_atoms=max_atoms, check_charge=check_charge)
    if f == "sdf":
        return from_sdf(text, charge, multiplicity, seed=seed, max_atoms=max_atoms)
    if f == "mol":
        return [from_mol(text, charge, multiplicity, seed=seed, max_atoms=max_atoms)]
    return _from_smiles_text(text, charge, multiplicity, seed, max_atoms)


def read_file(path_or_bytes, filename: str | None = None, **kw) -> list[Molecule]:
    """Read molecules from a path, bytes, str content or a file-like object (e.g. a Streamlit
    UploadedFile). The format comes from the extension of ``filename`` (or the path / the object's
    ``.name``): .xyz, .sdf/.sd, .mol, .smi/.smiles, .txt (SMILES, or sniffed). Without any
    filename the format is sniffed from the content.

    Keyword arguments go to the parser: ``charge``, ``multiplicity``, ``seed``, ``max_atoms``,
    ``check_charge`` (XYZ only).
    """
    allowed = {"charge", "multiplicity", "seed", "max_atoms", "check_charge"}
    unknown = set(kw) - allowed
    if unknown:
        raise TypeError(f"read_file() got unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    return _read_file(path_or_bytes, filename, **kw)


@_guard
def _read_file(path_or_bytes, filename: str | None = None, **kw) -> list[Molecule]:
    data: bytes | str
    src = path_or_bytes
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
    elif isinstance(src, (str, os.PathLike)):
        p = os.fspath(src)
        if isinstance(src, str) and ("\n" in src or len(src) > 4096):
            raise _err("read_file expects a path or bytes; use parse_text() for text content.")
        filename = filename or os.path.basename(p)
        if not os.path.exists(p):
            raise _err(f"File not found: {p}")
        if os.path.isdir(p):
            raise _err(f"{p} is a folder, not a file.")
        size = os.path.getsize(p)
        limits.check_file_size(size, f"'{filename}'")
        with open(p, "rb") as fh:
            data = fh.read()
    elif hasattr(src, "read") or hasattr(src, "getvalue"):
        filename = filename or os.path.basename(str(getattr(src, "name", "") or "")) or None
        data = src.getvalue() if hasattr(src, "getvalue") else src.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
    else:
        raise _err(f"Cannot read a molecule from a {type(src).__name__}.")
    label = f"'{filename}'" if filename else "The file"
    limits.check_file_size(len(data), label)
    if not data.strip():
        raise _err(f"{label} is empty.")
    text = _decode(data, label)
    if not text.strip():
        raise _err(f"{label} is empty.")
    if filename:
        ext = os.path.splitext(filename.lower())[1]
        if ext not in SUPPORTED_EXTENSIONS:
            shown = ext or "(none)"
            raise _err(f"Unsupported file type {shown} for {label}; supported: .xyz, .sdf, .mol, .smi, .txt.")
        fmt = SUPPORTED_EXTENSIONS[ext]
    else:
        fmt = "txt"
    try:
        return parse_text(text, fmt, **kw)
    except MoleculeInputError as exc:
        if filename:
            raise _err(f"{filename}: {exc}") from None
        raise



# ---------------------------------------------------------------------------------------------
# batch uploads: one record per molecule, each parsed on its own
# ---------------------------------------------------------------------------------------------
#: file extension -> record format of :func:`split_records`
BATCH_FORMATS = {".xyz": "xyz", ".sdf": "sdf", ".sd": "sdf", ".mol": "sdf", ".smi": "smi", ".smiles": "smi"}
_COUNT_LINE = re.compile(r"\s*\d+\s*")


@dataclasses.dataclass
class Record:
    """One molecule record of an upload: its 1-based number, a label and its text."""

    number: int
    label: str
    text: str
    fmt: str                      # "xyz" or "sdf"
    error: str | None = None      # set when the record could not even be cut out


def _xyz_label(comment: str, number: int) -> str:
    try:
        name = _parse_comment(comment, 1)[0]
    except MoleculeInputError:
        name = ""
    return name.split()[0] if name else f"record {number}"


def _xyz_records(text: str) -> list[Record]:
    """Cut XYZ text into frames by their count lines. A frame whose atom lines do not match
    its count line becomes an error record; the reader resynchronises at the next count line."""
    lines = text.split("\n")
    n, i, records = len(lines), 0, []
    while i < n:
        if not lines[i].strip():
            i += 1
            continue
        number = len(records) + 1
        if not _COUNT_LINE.fullmatch(lines[i]):
            j = i + 1
            while j < n and not _COUNT_LINE.fullmatch(lines[j]):
                j += 1
            records.append(Record(number, f"record {number}", "\n".join(lines[i:j]), "xyz",
                                  error=f"line {i + 1}: expected the number of atoms, found "
                                        f"'{lines[i].strip()[:40]}'"))
            i = j
            continue
        count = int(lines[i])
        label = _xyz_label(lines[i + 1] if i + 1 < n else "", number)
        k = i + 2
        while k < n and k < i + 2 + count and lines[k].strip() and not _COUNT_LINE.fullmatch(lines[k]):
            k += 1
        found, error = k - (i + 2), None
        if found < count:
            rest = not any(ln.strip() for ln in lines[k:])
            error = (f"{'truncated' if rest else 'atom-count mismatch'}: the count line (line {i + 1}) "
                     f"says {count} atoms but only {found} atom lines follow")
        else:
            extra = 0
            while k < n and _looks_like_atom_line(lines[k]):
                extra, k = extra + 1, k + 1
            if extra:
                error = (f"atom-count mismatch: the count line (line {i + 1}) says {count} atoms "
                         f"but {count + extra} atom lines follow")
        records.append(Record(number, label, "\n".join(lines[i:k]) + "\n", "xyz", error=error))
        i = k
    return records


def split_records(data: bytes, filename: str) -> list[Record]:
    """Upload bytes -> records (each parsed later with :func:`parse_record`). Raises
    MoleculeInputError for unsupported types, empty or binary files, and files with more than
    ``limits.MAX_FRAMES`` molecules."""
    ext = os.path.splitext(filename.lower())[1]
    if ext not in BATCH_FORMATS:
        raise _err(f"'{filename}': unsupported file type '{ext or '(none)'}'. Upload a "
                   f"multi-molecule .xyz or .sdf file or a .smi SMILES list.")
    fmt = BATCH_FORMATS[ext]
    text = _check_text(_decode(bytes(data), f"'{filename}'"), f"'{filename}'")
    if fmt == "xyz":
        records = _xyz_records(text)
    elif fmt == "smi":
        records = [Record(k, name or smi, smi, "smi") for k, (_, smi, name) in enumerate(_smiles_entries(text), 1)]
    else:
        records = [Record(k, (block.split("\n", 1)[0].strip() or f"record {k}"), block + "\n$$$$\n", "sdf")
                   for k, block in enumerate(_sdf_records(text), 1)]
    if not records:
        raise _err(f"'{filename}' holds no molecules.")
    limits.check_frames(len(records), f"'{filename}'")
    if fmt == "xyz" and len(records) == 1 and records[0].error:
        raise _err(f"'{filename}' is not an XYZ file: {records[0].error}.")
    return records


@_guard
def parse_record(record: Record) -> Molecule:
    """One record -> Molecule (named after the record when the file gives no name)."""
    if record.error:
        raise _err(record.error)
    if record.fmt == "smi":
        return from_smiles(record.text, name=record.label)
    mol = (from_xyz(record.text) if record.fmt == "xyz" else from_sdf(record.text))[0]
    return mol if mol.name else _attach(dataclasses.replace(mol, name=record.label), list(input_warnings(mol)))
