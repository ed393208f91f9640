"""Gaussian cube files of the MEP on a grid (readable by VMD, Chimera, Avogadro, …).

The cube format is in atomic units: the origin, the grid step vectors and the atom
positions are written in bohr (positive grid counts mean bohr), and the MEP values in
hartree/e (1 hartree/e = 627.5095 kcal/mol/e). Values run with z fastest, then y, then x,
six per line. The library itself works in Å and kcal/mol/e; the conversion happens here
and :func:`read_cube` converts back.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .units import BOHR_ANGSTROM, HARTREE_TO_KCAL_MOL

#: |V| cap (hartree/e) for grid points that fall on a nucleus (point multipoles diverge there)
VALUE_CAP_HARTREE = 1.0e6


@dataclass
class CubeData:
    """A cube read back: atoms (numbers, positions Å), grid origin (Å), step vectors (Å,
    rows = axes), values (nx, ny, nz) in the file's unit (hartree/e), and the two comments."""

    numbers: np.ndarray
    positions: np.ndarray
    origin: np.ndarray
    axes: np.ndarray
    values: np.ndarray
    comments: tuple

    @property
    def shape(self):
        return self.values.shape

    def grid_points(self) -> np.ndarray:
        """(nx·ny·nz, 3) grid points in Å, in the file's order (z fastest)."""
        nx, ny, nz = self.values.shape
        i, j, k = np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing="ij")
        idx = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float)
        return self.origin + idx @ self.axes

    @property
    def values_kcal_mol_e(self) -> np.ndarray:
        return self.values * HARTREE_TO_KCAL_MOL


def grid_for(positions, spacing: float = 0.3, padding: float = 4.0):
    """(origin Å, shape) of a cubic-step box around `positions` with `padding` Å each side."""
    if spacing <= 0:
        raise ValueError("grid spacing must be positive")
    pos = np.asarray(positions, float).reshape(-1, 3)
    lo = pos.min(0) - padding
    hi = pos.max(0) + padding
    shape = tuple(int(math.ceil((h - l) / spacing)) + 1 for l, h in zip(lo, hi))
    return lo, shape


def grid_points(origin, spacing: float, shape) -> np.ndarray:
    """(nx·ny·nz, 3) points (Å) of an axis-aligned grid, z fastest (cube order)."""
    axes = [origin[d] + spacing * np.arange(shape[d]) for d in range(3)]
    g = np.meshgrid(*axes, indexing="ij")
    return np.stack([a.ravel() for a in g], axis=1)


def cube_text(numbers, positions, origin, spacing: float, values_hartree, comment1: str = "",
              comment2: str = "", nuclear_charges=None) -> str:
    """Cube file text. `positions`, `origin`, `spacing` in Å; `values_hartree` of shape
    (nx, ny, nz) in hartree/e (whatever the caller states in the comments)."""
    vals = np.asarray(values_hartree, float)
    if vals.ndim != 3:
        raise ValueError("values must have shape (nx, ny, nz)")
    numbers = np.asarray(numbers, int).reshape(-1)
    pos_b = np.asarray(positions, float).reshape(-1, 3) / BOHR_ANGSTROM
    org_b = np.asarray(origin, float) / BOHR_ANGSTROM
    step_b = float(spacing) / BOHR_ANGSTROM
    zq = numbers.astype(float) if nuclear_charges is None else np.asarray(nuclear_charges, float)
    lines = [comment1.replace("\n", " ")[:200], comment2.replace("\n", " ")[:200],
             f"{len(numbers):5d} {org_b[0]:12.6f} {org_b[1]:12.6f} {org_b[2]:12.6f}"]
    for d in range(3):
        v = [0.0, 0.0, 0.0]
        v[d] = step_b
        lines.append(f"{vals.shape[d]:5d} {v[0]:12.6f} {v[1]:12.6f} {v[2]:12.6f}")
    for zi, qi, (x, y, z) in zip(numbers, zq, pos_b):
        lines.append(f"{zi:5d} {qi:12.6f} {x:12.6f} {y:12.6f} {z:12.6f}")
    body = []
    flat = vals.reshape(-1, vals.shape[2])           # one (x, y) column of z values at a time
    for row in flat:
        for s in range(0, len(row), 6):
            body.append(" ".join(f"{v:13.5E}" for v in row[s:s + 6]))
    return "\n".join(lines + body) + "\n"


def mep_cube(prediction, spacing: float = 0.3, padding: float = 4.0, order: int = 2) -> str:
    """Cube text of a :class:`mepviz.predict.Prediction`'s MEP on a grid (values hartree/e).

    `spacing` and `padding` in Å; grid points on a nucleus get ±VALUE_CAP_HARTREE.
    """
    mol = prediction.molecule
    origin, shape = grid_for(mol.positions, spacing, padding)
    pts = grid_points(origin, spacing, shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = prediction.mep(pts, order=order) / HARTREE_TO_KCAL_MOL
    v = np.nan_to_num(v, nan=0.0, posinf=VALUE_CAP_HARTREE, neginf=-VALUE_CAP_HARTREE)
    v = np.clip(v, -VALUE_CAP_HARTREE, VALUE_CAP_HARTREE).reshape(shape)
    name = mol.name or mol.smiles or mol.formula
    c1 = f"MEPviz MEP {name} model={prediction.model_name} charge={mol.charge}"
    c2 = (f"values: electrostatic potential in hartree/e (x627.5095 = kcal/mol/e); lengths in bohr; "
          f"grid step {spacing:g} A, padding {padding:g} A; multipole order {order}")
    return cube_text(mol.numbers, mol.positions, origin, spacing, v, c1, c2)


def write_cube(path, text: str) -> Path:
    path = Path(path)
    path.write_text(text)
    return path


def read_cube(source) -> CubeData:
    """Parse cube text (or a path to a cube file); lengths back to Å, values as stored."""
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source):
        text = Path(source).read_text()
    else:
        text = source
    lines = text.splitlines()
    c1, c2 = lines[0], lines[1]
    head = lines[2].split()
    natoms = int(head[0])
    origin = np.array([float(x) for x in head[1:4]])
    shape, axes = [], []
    for d in range(3):
        parts = lines[3 + d].split()
        n = int(parts[0])
        vec = np.array([float(x) for x in parts[1:4]])
        if n < 0:                        # negative count: the step is already in Å
            n, vec = -n, vec / BOHR_ANGSTROM
        shape.append(n)
        axes.append(vec)
    mo_header = natoms < 0
    natoms = abs(natoms)
    numbers, positions = [], []
    for a in range(natoms):
        parts = lines[6 + a].split()
        numbers.append(int(parts[0]))
        positions.append([float(x) for x in parts[2:5]])
    start = 6 + natoms + (1 if mo_header else 0)
    values = np.array(" ".join(lines[start:]).split(), dtype=float)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"cube file has {values.size} values, expected {int(np.prod(shape))}")
    return CubeData(numbers=np.array(numbers, int),
                    positions=np.array(positions, float).reshape(-1, 3) * BOHR_ANGSTROM,
                    origin=origin * BOHR_ANGSTROM, axes=np.array(axes) * BOHR_ANGSTROM,
                    values=values.reshape(shape), comments=(c1, c2))
