"""Limits that bound memory and time, checked before anything large is allocated.

Each check raises :class:`mepviz.molecule.MoleculeInputError` with a message that names the
limit. The numbers are the only copy: the parsers, the surfaces, the CLI, the batch page
and the app read them from here.
"""
from __future__ import annotations

import numpy as np

from .molecule import MoleculeInputError

#: atoms per molecule (every parser's default max_atoms)
MAX_ATOMS = 200
#: largest distance between two atoms of one molecule (Å); beyond it the surface grid alone
#: would need gigabytes (four waters 300 Å apart: 13.7 GiB)
MAX_EXTENT_ANGSTROM = 60.0
#: |coordinate| (Å) beyond which a number cannot be a position in a molecule
MAX_COORDINATE_ANGSTROM = 1.0e4
#: points of one 3D grid (surface construction, cube files): 16 M float64 = 128 MB per array
#: (a 60 Å × 20 Å × 20 Å molecule at the default 0.25 Å spacing needs about 2.5 M)
MAX_GRID_POINTS = 16_000_000
#: points at which the MEP is evaluated in one request (CLI --points, library calls): 1 M
#: points as a JSON or table output stay well under 1 GB of memory (5 M took 1.9 GB)
MAX_POINTS = 1_000_000
#: frames of one XYZ file, molecules of one SDF/SMILES file
MAX_FRAMES = 500
#: bytes of one uploaded or read file (= the app server's maxUploadSize, 5 MB)
MAX_FILE_BYTES = 5_000_000
#: characters of one line of a text file (checked before the line is parsed or even held)
MAX_LINE_CHARS = 100_000
#: characters of one record of a batch file (one molecule; the size of a whole input file)
MAX_RECORD_CHARS = MAX_FILE_BYTES
#: characters of one SMILES (checked before RDKit parses it; a link's ?smiles= too)
MAX_SMILES_CHARS = 2_000
#: bytes of one points file (``--points``: CSV or .npy; 1 M points as CSV take about 35 MB)
MAX_POINTS_FILE_BYTES = 60_000_000
#: CPU seconds one web batch may use; the records left are reported as not processed
#: (`python -m mepviz batch` has no such limit: it runs on its own workers)
MAX_BATCH_CPU_SECONDS = 300.0


def _refuse_over(value, limit, message: str) -> None:
    if value > limit:
        raise MoleculeInputError(message)


def check_coordinates(positions) -> None:
    """Refuse coordinates no molecule can have (e.g. 1e30), before any distance is computed."""
    pos = np.asarray(positions, float).reshape(-1, 3)
    big = np.abs(pos) > MAX_COORDINATE_ANGSTROM
    if big.any():
        i = int(np.nonzero(big.any(axis=1))[0][0])
        raise MoleculeInputError(
            f"atom {i + 1} has a coordinate of {pos[i][big[i]][0]:.3g} Å; coordinates are limited "
            f"to ±{MAX_COORDINATE_ANGSTROM:g} Å (are the coordinates in Å?).")


def extent(positions) -> float:
    """Largest interatomic distance (Å); O(N²): call it after the MAX_ATOMS check."""
    pos = np.asarray(positions, float).reshape(-1, 3)
    if len(pos) < 2:
        return 0.0
    return float(np.sqrt(((pos[:, None, :] - pos[None, :, :]) ** 2).sum(-1)).max())


def check_extent(positions, unit_hint: str = "") -> None:
    """Refuse molecules larger than MAX_EXTENT_ANGSTROM; `unit_hint` is appended (e.g. a
    suspicion that the coordinates are in picometres)."""
    check_coordinates(positions)
    size = extent(positions)
    _refuse_over(size, MAX_EXTENT_ANGSTROM, f"the molecule is {size:.0f} Å across; the limit of the "
                 f"molecular extent is {MAX_EXTENT_ANGSTROM:g} Å{unit_hint}.")


def check_grid(shape, what: str = "the surface grid") -> None:
    """Refuse a 3D grid of more than MAX_GRID_POINTS points before it is allocated."""
    n = int(np.prod([int(s) for s in shape], dtype=np.float64))
    _refuse_over(n, MAX_GRID_POINTS, f"{what} would need {n:,} points; the limit of grid points is "
                 f"{MAX_GRID_POINTS:,} (use a coarser spacing or a smaller molecule).")


def check_points(n: int, where: str = "the request") -> None:
    _refuse_over(n, MAX_POINTS, f"{where} has {n:,} points; the limit of points per request is {MAX_POINTS:,}.")


def check_frames(n: int, where: str = "The file", at_least: bool = False) -> None:
    """Refuse more than MAX_FRAMES molecules in one file (`at_least`: counting stopped at n)."""
    _refuse_over(n, MAX_FRAMES, f"{where} holds {'at least ' if at_least else ''}{n} molecules; the limit "
                 f"is {MAX_FRAMES} molecules per file. Split the file and read the parts.")


def check_file_size(n_bytes: int, label: str = "The file", limit: int = MAX_FILE_BYTES,
                    at_least: bool = False) -> None:
    """Refuse more than `limit` bytes (`at_least`: reading stopped at `n_bytes`)."""
    _refuse_over(n_bytes, limit, f"{label} is too large ({'over ' if at_least else ''}{n_bytes / 1e6:.1f} MB; "
                 f"the limit is {limit / 1e6:.0f} MB).")


def check_workers(n: int, cores: int) -> None:
    """Refuse a number of local worker processes outside 1 … `cores` (each is one busy core;
    more only cost memory)."""
    if not 1 <= int(n) <= max(1, cores):
        raise MoleculeInputError(f"--workers {n}: the number of worker processes must be between 1 and "
                                 f"{max(1, cores)} (the cores of this machine).")
