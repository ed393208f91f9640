"""XYZ input: (multi-frame) XYZ text → molecules, bonds perceived with RDKit.

The comment line may carry ``charge=`` and ``multiplicity=`` (or ``mult=``); the rest of it
becomes the name. Element symbols are case-insensitive; atomic numbers are accepted in the
symbol column. Positions Å, charges e.
"""
from __future__ import annotations

import re

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdDetermineBonds

from ..core import limits
from ..core.molecule import Molecule, MoleculeInputError
from .embed import _bonds_of, _canonical_smiles, _radical_multiplicity, _set_positions
from .text import _check_text
from .validate import (DEFAULT_MAX_ATOMS, _check_multiplicity_value, _electron_check, _element_number, _err,
                       _float_value, _guard, _int_value, _validate_geometry, validate, with_notes)

_MAX_BOND_ORDER_ITERATIONS = 200_000

#: the count line of an XYZ frame: a whole number alone (the one rule of the reader and the
#: record splitter, mepviz.io.records)
COUNT_LINE = re.compile(r"\s*[+-]?\d+\s*")
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
        if not COUNT_LINE.fullmatch(header):
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
        count = int(header)
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
            if j >= n or not lines[j].strip() or COUNT_LINE.fullmatch(lines[j]):
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
        if k < n and _looks_like_atom_line(lines[k]) and not COUNT_LINE.fullmatch(lines[k]):
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
    rw = Chem.RWMol()
    for z in numbers:
        rw.AddAtom(Chem.Atom(int(z)))
    m = rw.GetMol()
    _set_positions(m, np.asarray(pos, dtype=float))
    return m


def _perceive(numbers, pos, charge: int, mult: int):
    """Connectivity + bond orders with RDKit; raises on failure."""
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
    return with_notes(m, notes)


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
