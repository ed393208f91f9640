"""SDF / MOL input: MOL blocks (V2000/V3000) → molecules. Implicit hydrogens are added with
coordinates, with a note naming them; flat (all z = 0) records are embedded to 3D. Charge
from formal charges, multiplicity from radicals (``M  RAD``); positions Å.

No atom is invented from an unknown structure: query bonds (V2000 types 5–8, e.g. 8 'any'),
aromatic bonds outside a ring and formal charges no atom can carry (``M  CHG -6`` on an
oxygen) are refused with the reason."""
from __future__ import annotations

import numpy as np
from rdkit import Chem

from ..core import limits
from ..core.molecule import Molecule, MoleculeInputError
from .embed import (_bonds_of, _canonical_smiles, _embed, _formal_charge_refusal, _radical_multiplicity, _resolve,
                    _set_positions)
from .text import _check_text
from .validate import DEFAULT_MAX_ATOMS, _element_number, _err, _float_value, _guard, validate, with_notes

#: V2000 query bond types (their order is unknown)
QUERY_BONDS = {5: "single or double", 6: "single or aromatic", 7: "double or aromatic", 8: "any"}


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
    if not any(line.startswith("M  END") for line in lines):
        raise _err(f"{rec}has no 'M  END' line: a MOL block ends with it (a truncated or hand-edited file?).")
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
        if sym in ("D", "T"):
            raise _err(f"{where}: '{sym}' (a hydrogen isotope) is not read; write it as H (isotopes do not "
                       f"change the electrostatic potential).")
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
        if order in QUERY_BONDS:
            raise _err(f"{where}: bond type {order} ('{QUERY_BONDS[order]}') between atoms {a} and {b} is a "
                       f"query bond: its order is unknown, so the hydrogens and the charge distribution "
                       f"cannot be known. Give the bond order (1, 2, 3, or 4 for aromatic).")
        if order not in (1, 2, 3, 4):
            raise _err(f"{where}: bond type {order} between atoms {a} and {b} is not a bond order "
                       f"(1, 2, 3, or 4 for aromatic).")


def _bond_refusal(mol) -> str | None:
    """Bonds whose order is unknown (query bonds of any format, aromatic bonds outside a ring)."""
    for b in mol.GetBonds():
        i, j = b.GetBeginAtomIdx() + 1, b.GetEndAtomIdx() + 1
        if b.HasQuery() or b.GetBondType() in (Chem.BondType.UNSPECIFIED, Chem.BondType.OTHER):
            return (f"the bond between atoms {i} and {j} is a query bond with no definite order, so the "
                    f"hydrogens and the charge distribution cannot be known. Give the bond order.")
        if b.GetBondType() == Chem.BondType.AROMATIC and not b.IsInRing():
            return (f"the bond between atoms {i} and {j} is marked aromatic (bond type 4) but is not in a "
                    f"ring, so its order is unknown. Give the bond order (1, 2 or 3).")
    return None


def _molblock_molecule(block: str, rec: str, charge, multiplicity, seed: int, max_atoms) -> Molecule:
    _precheck_molblock(block, rec)
    raw = Chem.MolFromMolBlock(block, sanitize=False, removeHs=False)
    if raw is None:
        raise _err(f"{rec}could not be read (malformed MOL block).")
    why = _bond_refusal(raw) or _formal_charge_refusal(raw)       # before RDKit adds or checks anything
    if why:
        raise _err(f"{rec.strip()}: {why}")
    mol = Chem.MolFromMolBlock(block, sanitize=True, removeHs=False)
    if mol is None:
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
    if n_h:
        notes.append(_added_hydrogens_note(mol, n_h))
    q = _resolve(charge, Chem.GetFormalCharge(molH), "charge", rec.strip() or "The MOL block")
    mult = _resolve(multiplicity, _radical_multiplicity(molH), "multiplicity", rec.strip() or "The MOL block")
    m = Molecule(numbers=[a.GetAtomicNum() for a in molH.GetAtoms()], positions=pos, charge=q,
                 multiplicity=mult, name=name, smiles=_canonical_smiles(molH), bonds=_bonds_of(molH))
    try:
        validate(m, max_atoms=max_atoms)
    except MoleculeInputError as exc:
        raise _err(f"{rec.strip()}: {exc}") from None
    return with_notes(m, notes)


def _added_hydrogens_note(mol, n_h: int) -> str:
    """The visible note for hydrogens the file leaves implicit (added by RDKit)."""
    where = [f"{a.GetIdx() + 1} ({a.GetSymbol()})" for a in mol.GetAtoms() if a.GetTotalNumHs()]
    shown = ", ".join(where[:6]) + (f" and {len(where) - 6} more" if len(where) > 6 else "")
    return (f"{n_h} hydrogen atom{'s' * (n_h > 1)} that the file leaves implicit {'were' if n_h > 1 else 'was'} "
            f"added (on atom{'s' * (len(where) > 1)} {shown}), at positions generated by RDKit.")


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
