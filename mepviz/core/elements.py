"""Element data: symbols, average atomic masses (and the centre of mass), Bondi vdW radii,
supported sets."""
from __future__ import annotations

import json

import numpy as np

from .paths import data_dir
from .registry import MODEL_ELEMENTS
from .units import BOHR_ANGSTROM

#: PySCF's element tables (mepviz/data/elements.json, written by train/make_element_table.py)
_TABLE = json.loads((data_dir() / "elements.json").read_text())
#: element symbols indexed by atomic number (index 0 is a ghost "X")
SYMBOLS: tuple[str, ...] = tuple(_TABLE["symbols"])
_MASSES = np.asarray(_TABLE["masses_amu"], dtype=float)
_VDW_BOHR = np.asarray(_TABLE["vdw_radii_bohr"], dtype=float)
_NUMBER_BY_SYMBOL = {s.upper(): i for i, s in enumerate(SYMBOLS) if i > 0}

MAX_ATOMIC_NUMBER = 118


def symbol(z: int) -> str:
    return SYMBOLS[int(z)]


def atomic_number(sym: str) -> int:
    """Atomic number of an element symbol (case-insensitive); KeyError if unknown."""
    return _NUMBER_BY_SYMBOL[sym.strip().upper()]


def masses(numbers) -> np.ndarray:
    """Isotope-averaged atomic masses (amu), as PySCF's `atom_mass_list(isotope_avg=True)`."""
    return _MASSES[np.asarray(numbers, dtype=int)]


def center_of_mass(numbers, positions) -> np.ndarray:
    """Centre of mass (Å) with isotope-averaged masses."""
    m = masses(numbers)
    return (m[:, None] * np.asarray(positions, float)).sum(0) / m.sum()


def bondi_radii(numbers) -> np.ndarray:
    """Bondi van der Waals radii in Å (PySCF's table)."""
    return _VDW_BOHR[np.asarray(numbers, dtype=int)] * BOHR_ANGSTROM


def element_names(numbers) -> str:
    """'H, C, N' for atomic numbers (in the given order, duplicates dropped)."""
    return ", ".join(symbol(z) for z in dict.fromkeys(int(z) for z in numbers))


def model_element_names() -> str:
    """The elements the model variants accept (mepviz.registry.MODEL_ELEMENTS), e.g. 'H, C, …'."""
    return element_names(MODEL_ELEMENTS)


def unsupported_elements(numbers, allowed, who: str) -> str | None:
    """The one message format for elements outside a supported set, or None if all are in it:
    '<who> do not support S, Si: supported elements are H, C, N, O, F.'"""
    bad = sorted({int(z) for z in np.asarray(numbers).reshape(-1)} - {int(z) for z in allowed})
    if not bad:
        return None
    return f"{who} do not support {element_names(bad)}: supported elements are {element_names(allowed)}."
