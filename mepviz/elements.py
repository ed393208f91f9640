"""Element data: symbols, average atomic masses, Bondi vdW radii, supported sets."""
from __future__ import annotations

import numpy as np
from pyscf.data import elements as _pyscf_elements
from pyscf.data import radii as _pyscf_radii

from .units import BOHR_ANGSTROM

#: element symbols indexed by atomic number (index 0 is a ghost "X")
SYMBOLS: tuple[str, ...] = tuple(_pyscf_elements.ELEMENTS)
_NUMBER_BY_SYMBOL = {s.upper(): i for i, s in enumerate(SYMBOLS) if i > 0}

#: elements the ML models were trained on (QM9)
MODEL_ELEMENTS: tuple[int, ...] = (1, 6, 7, 8, 9)
#: elements the DFT reference basis 6-31G(2df,p) covers in PySCF (H–Kr except a few)
MAX_ATOMIC_NUMBER = 118


def symbol(z: int) -> str:
    return SYMBOLS[int(z)]


def atomic_number(sym: str) -> int:
    """Atomic number of an element symbol (case-insensitive); KeyError if unknown."""
    return _NUMBER_BY_SYMBOL[sym.strip().upper()]


def masses(numbers) -> np.ndarray:
    """Isotope-averaged atomic masses (amu), as PySCF's `atom_mass_list(isotope_avg=True)`."""
    return np.asarray(_pyscf_elements.MASSES, dtype=float)[np.asarray(numbers, dtype=int)]


def bondi_radii(numbers) -> np.ndarray:
    """Bondi van der Waals radii in Å (PySCF's table)."""
    return np.asarray(_pyscf_radii.VDW, dtype=float)[np.asarray(numbers, dtype=int)] * BOHR_ANGSTROM


def model_element_names() -> str:
    return ", ".join(symbol(z) for z in MODEL_ELEMENTS)
