"""Checks shared by every reader: the error guard, value parsing and :func:`validate`.

Every reader reports bad input as :class:`mepviz.core.molecule.MoleculeInputError` with a
specific, user-facing message; :func:`_guard` converts anything else (RDKit errors, decoding
errors, ...) into one. :func:`validate` applies ``max_atoms`` (default ``limits.MAX_ATOMS``)
and the other limits of :mod:`mepviz.core.limits`; element support is
:func:`mepviz.ml.applicability.assess`'s job. Reading notes travel with the molecule
(``Molecule.notes``, :func:`with_notes`). Lengths Å, charges e.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import math
import re

import numpy as np

from ..core import limits
from ..core.elements import SYMBOLS, atomic_number, unsupported_elements
from ..core.geometry import fragments
from ..core.molecule import Molecule, MoleculeInputError
from ..physics.domain import MIN_DISTANCE, structure_refusal

log = logging.getLogger("mepviz.inputs")

#: default atom limit applied by every parser
DEFAULT_MAX_ATOMS = limits.MAX_ATOMS


def input_warnings(mol: Molecule) -> tuple[str, ...]:
    """Non-fatal notes recorded while this molecule was read (``mol.notes``)."""
    return mol.notes


def with_notes(mol: Molecule, notes) -> Molecule:
    """`mol` with `notes` added to its reading notes (logged on the ``mepviz.inputs`` logger)."""
    notes = [n for n in notes if n not in mol.notes]
    if not notes:
        return mol
    for n in notes:
        log.info("%s: %s", mol.name or mol.formula, n)
    return dataclasses.replace(mol, notes=(*mol.notes, *notes))


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


def _check_elements(mol: Molecule, elements) -> None:
    msg = unsupported_elements(mol.numbers, elements, "The element restrictions in use")
    if msg:
        raise _err(msg)


@_guard
def validate(mol: Molecule, max_atoms: int | None = DEFAULT_MAX_ATOMS, elements=None,
             min_distance: float = MIN_DISTANCE) -> Molecule:
    """Check a molecule; return it unchanged or raise MoleculeInputError.

    Checks: the structure part of the plausibility gate
    (:func:`mepviz.physics.domain.structure_refusal`: at least one atom, at most ``max_atoms``
    atoms (None: no limit), real elements, finite coordinates within the limits, no two atoms
    closer than ``min_distance`` Å), ``elements`` (a set of atomic numbers, e.g.
    MODEL_ELEMENTS) when given, and charge/multiplicity consistent with the number of electrons.
    """
    _validate_geometry(mol, max_atoms, elements, min_distance)
    _check_multiplicity_value(mol.multiplicity)
    _electron_check(mol.n_electrons, mol.charge, mol.multiplicity, explicit_mult=True)
    return mol


def _validate_geometry(mol: Molecule, max_atoms, elements=None, min_distance: float = MIN_DISTANCE) -> None:
    why = structure_refusal(mol, max_atoms, min_distance)
    if why:
        raise _err(why)
    if elements is not None:
        _check_elements(mol, elements)


def fragment_count(mol: Molecule) -> int:
    """Number of disconnected fragments (1 for an ordinary molecule)."""
    return len(fragments(mol))
