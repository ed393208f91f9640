"""A 2D slice of the MEP through a plane (the contour maps GaussView and Multiwfn users know).

:func:`plane_axes` picks the plane: "molecular" (through the centre of mass, spanned by the
two largest principal axes of the atom positions: the ring plane of an aromatic), or "xy",
"xz", "yz" through the centre of mass. :func:`mep_slice` evaluates any potential function on
a regular grid in that plane, with the promolecular density (to draw the ρ = 0.001 e/bohr³
outline) and the atoms lying within `atom_window` Å of the plane. Lengths Å; the potential
in the units of the function given (the app: kcal/mol/e).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .surfaces import promolecular_density

PLANES = ("molecular", "xy", "xz", "yz")


def plane_axes(mol, plane: str = "molecular") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(origin, u, v): the centre of mass and two orthonormal in-plane axes (Å)."""
    com = np.asarray(mol.center_of_mass, float)
    fixed = {"xy": ([1.0, 0, 0], [0, 1.0, 0]), "xz": ([1.0, 0, 0], [0, 0, 1.0]),
             "yz": ([0, 1.0, 0], [0, 0, 1.0])}
    if plane in fixed:
        u, v = (np.asarray(a, float) for a in fixed[plane])
        return com, u, v
    if plane != "molecular":
        raise ValueError(f"unknown plane {plane!r}; choose one of {PLANES}")
    x = np.asarray(mol.positions, float) - com
    if len(x) < 3:                      # two atoms or one: any plane containing them
        axis = x[-1] - x[0] if len(x) == 2 and np.linalg.norm(x[-1] - x[0]) > 0 else np.array([1.0, 0, 0])
        u = axis / np.linalg.norm(axis)
        v = np.cross(u, [0, 0, 1.0] if abs(u[2]) < 0.9 else [1.0, 0, 0])
        return com, u, v / np.linalg.norm(v)
    w, vecs = np.linalg.eigh(x.T @ x)
    u, v = vecs[:, 2], vecs[:, 1]           # largest and second largest spread
    return com, u / np.linalg.norm(u), v / np.linalg.norm(v)


@dataclass
class Slice:
    """Values on a plane: a (len(b), len(a)) grid; a, b in-plane coordinates (Å)."""

    a: np.ndarray
    b: np.ndarray
    values: np.ndarray
    density: np.ndarray
    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    atoms: list                 # (label, a, b, distance from the plane) of atoms near it

    def point(self, i: int, j: int) -> np.ndarray:
        """3D position (Å) of grid node (row i, column j)."""
        return self.origin + self.a[j] * self.u + self.b[i] * self.v


def mep_slice(mol, potential, plane: str = "molecular", padding: float = 4.0, step: float = 0.1,
              atom_window: float = 1.0, max_points: int = 250_000) -> Slice:
    """`potential(points (P, 3) Å) -> (P,)` on a grid in `plane` covering the molecule's
    projection plus `padding` Å, `step` Å apart (coarsened to stay under `max_points`)."""
    origin, u, v = plane_axes(mol, plane)
    x = np.asarray(mol.positions, float) - origin
    pa, pb, pn = x @ u, x @ v, x @ np.cross(u, v)
    lo_a, hi_a = pa.min() - padding, pa.max() + padding
    lo_b, hi_b = pb.min() - padding, pb.max() + padding
    n_a = int(np.ceil((hi_a - lo_a) / step)) + 1
    n_b = int(np.ceil((hi_b - lo_b) / step)) + 1
    if n_a * n_b > max_points:
        f = np.sqrt(n_a * n_b / max_points)
        n_a, n_b = max(2, int(n_a / f)), max(2, int(n_b / f))
    a = np.linspace(lo_a, hi_a, n_a)
    b = np.linspace(lo_b, hi_b, n_b)
    A, B = np.meshgrid(a, b)
    pts = origin + A.ravel()[:, None] * u + B.ravel()[:, None] * v
    with np.errstate(divide="ignore", invalid="ignore"):
        vals = np.asarray(potential(pts), float).reshape(A.shape)
    rho = promolecular_density(mol.numbers, mol.positions, pts).reshape(A.shape)
    atoms = [(f"{s}{i + 1}", float(pa[i]), float(pb[i]), float(abs(pn[i])))
             for i, s in enumerate(mol.symbols) if abs(pn[i]) <= atom_window]
    return Slice(a, b, vals, rho, origin, u, v, atoms)
