"""SMILES input: one SMILES → a 3D molecule (H added, canonical atom order, lowest-energy of
``N_CONFORMERS`` ETKDGv3 + MMFF94 conformers, deterministic for a seed), and SMILES lists
(one SMILES per line, an optional name after a blank or comma). Charge from formal charges,
multiplicity from radical electrons; positions Å."""
from __future__ import annotations

import re
from typing import Iterator

from rdkit import Chem

from ..core import limits
from ..core.molecule import Molecule, MoleculeInputError
from .embed import (_bonds_of, _canonical_order, _canonical_smiles, _embed, _formal_charge_refusal,
                    _radical_multiplicity, _resolve, _set_positions)
from .text import LongLine
from .validate import DEFAULT_MAX_ATOMS, _err, _guard, validate, with_notes

def _smiles_problem(smiles: str) -> str:
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

    if not isinstance(smiles, str):
        raise _err(f"SMILES must be text, got {type(smiles).__name__}.")
    s = smiles.strip()
    if not s:
        raise _err("The SMILES string is empty.")
    if len(s) > limits.MAX_SMILES_CHARS:
        raise _err(f"The SMILES is {len(s):,} characters long; the limit is {limits.MAX_SMILES_CHARS:,} "
                   f"characters (a molecule of at most {limits.MAX_ATOMS} atoms needs far fewer).")
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
    why = _formal_charge_refusal(mol)
    if why:
        raise _err(f"SMILES '{s}': {why}")
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
    return with_notes(m, notes)


def smiles_entries(lines) -> Iterator[tuple[int, str, str]]:
    """(line number, SMILES, name) of a SMILES list, read lazily from `lines`: one SMILES per
    line, an optional name after it (separated by ASCII blanks or a comma: no silent split at
    U+00A0), blank lines, '#' comments and a 'smiles' header row ignored. A line too long to
    hold (:class:`~mepviz.io.text.LongLine`) comes as its own entry, unchanged."""
    first = True
    for ln, line in enumerate(lines, 1):
        if isinstance(line, LongLine):
            first = False
            yield ln, line, ""
            continue
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        parts = re.split(r"[ \t,]+", s, maxsplit=1)
        header, first = first and parts[0].lower() in ("smiles", "smi"), False
        if not header:                  # (only the first row can be a header)
            yield ln, parts[0], parts[1].strip() if len(parts) > 1 else ""


def _from_smiles_text(text: str, charge, multiplicity, seed, max_atoms) -> list[Molecule]:
    entries = list(smiles_entries(text.splitlines()))
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
