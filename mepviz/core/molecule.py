"""The Molecule object shared by every part of MEPviz, and the user-facing input error."""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .elements import center_of_mass, symbol


class MoleculeInputError(ValueError):
    """Bad user input (file, SMILES, arrays). The message is shown to users as is."""


@dataclass(frozen=True, eq=False)
class Molecule:
    """A 3D molecule: atomic numbers, positions (Å), total charge (e), spin multiplicity 2S+1.

    `name` is a display label, `smiles` a SMILES string when known (else ""), `notes` the
    non-fatal notes recorded while it was read (e.g. a UFF fallback; shown with every result).
    """

    numbers: np.ndarray
    positions: np.ndarray
    charge: int = 0
    multiplicity: int = 1
    name: str = ""
    smiles: str = ""
    bonds: tuple = field(default=(), repr=False)  # ((i, j, order), ...) when known
    notes: tuple = field(default=(), repr=False)  # reading notes (str, ...)

    def __post_init__(self):
        object.__setattr__(self, "numbers", np.asarray(self.numbers, dtype=np.int64).reshape(-1))
        object.__setattr__(self, "positions", np.asarray(self.positions, dtype=np.float64).reshape(-1, 3))
        object.__setattr__(self, "charge", int(self.charge))
        object.__setattr__(self, "multiplicity", int(self.multiplicity))
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))
        self.numbers.setflags(write=False)
        self.positions.setflags(write=False)

    @property
    def n_atoms(self) -> int:
        return len(self.numbers)

    @property
    def symbols(self) -> list[str]:
        return [symbol(z) for z in self.numbers]

    @property
    def n_electrons(self) -> int:
        return int(self.numbers.sum()) - self.charge

    @property
    def formula(self) -> str:
        """Hill formula: C first, then H (when there is carbon), then the rest alphabetically;
        without carbon all alphabetically. E.g. C2H6O, CO2, CCl4, H2O, ClH."""
        c = Counter(self.symbols)
        first = [s for s in ("C", "H") if s in c] if "C" in c else []
        order = first + sorted(k for k in c if k not in first)
        return "".join(f"{s}{c[s] if c[s] > 1 else ''}" for s in order)

    @property
    def center_of_mass(self) -> np.ndarray:
        """Centre of mass (Å), isotope-averaged masses."""
        return center_of_mass(self.numbers, self.positions)

    def key(self) -> str:
        """Stable hash of geometry (rounded to 1e-6 Å), elements, charge and multiplicity."""
        h = hashlib.sha256()
        h.update(self.numbers.astype("<i8").tobytes())
        h.update(np.round(self.positions, 6).astype("<f8").tobytes())
        h.update(f"{self.charge}/{self.multiplicity}".encode())
        return h.hexdigest()[:24]

    def to_xyz(self, comment: str | None = None) -> str:
        """XYZ text; the comment line carries charge= and multiplicity=."""
        if comment is None:
            comment = f"{self.name} charge={self.charge} multiplicity={self.multiplicity}".strip()
        lines = [str(self.n_atoms), comment]
        lines += [f"{s:<2} {x:14.8f} {y:14.8f} {z:14.8f}" for s, (x, y, z) in zip(self.symbols, self.positions)]
        return "\n".join(lines) + "\n"
