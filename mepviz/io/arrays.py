"""Array input: atomic numbers (or element symbols) and an (N, 3) array of positions in Å."""
from __future__ import annotations

import numpy as np

from ..core.elements import SYMBOLS
from ..core.molecule import Molecule
from .validate import DEFAULT_MAX_ATOMS, _check_multiplicity_value, _element_number, _err, _guard, _int_value, \
    validate

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
