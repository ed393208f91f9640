"""Bring your own quantum chemistry as a pair of Gaussian cube files: the electron density and
the electrostatic potential on one grid (Gaussian's cubegen, ORCA's orca_plot, Psi4,
Multiwfn, PySCF's cubegen, …).

    ref = read_cube_pair([("dens.cube", b"..."), ("esp.cube", b"...")])
    surf = ref.isodensity_surface()             # ρ = 0.001 e/bohr³ of the density cube
    v = ref.mep(surf.vertices)                   # kcal/mol/e, tricubic interpolation of the potential cube

Which file is which: the one named density/dens/rho, or whose comment lines say so, is the
density; else the one with negative values is the potential (a density is never negative).
Both must be on the same axis-aligned grid over the same atoms. Each file goes through the
project's bounded text reader; a truncated or malformed file gets a message naming the line
or the count that is wrong. Cube units: bohr and atomic units (hartree/e, e/bohr³); a
negative voxel count means the axis is in Å. Returned lengths Å, MEP kcal/mol/e.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import map_coordinates

from ..core import limits
from ..core.molecule import Molecule, MoleculeInputError
from ..core.units import BOHR_ANGSTROM, HARTREE_TO_KCAL_MOL
from ..surface.names import isodensity_kind
from ..surface.surfaces import mesh_from_grid
from .text import _check_text
from .validate import validate

ISOVALUE = 0.001
CUBE_EXTENSIONS = (".cube", ".cub")


@dataclass(eq=False)
class Cube:
    """One cube file: atoms (numbers, positions Å), grid origin (Å), the three axis steps (Å,
    rows), values (nx, ny, nz) as stored, and the two comment lines."""

    numbers: np.ndarray
    positions: np.ndarray
    origin: np.ndarray
    axes: np.ndarray
    values: np.ndarray
    comments: tuple
    name: str = ""

    @property
    def spacing(self) -> np.ndarray:
        return np.linalg.norm(self.axes, axis=1)

    def interpolate(self, points) -> np.ndarray:
        """Tricubic spline interpolation of the values at `points` (Å); NaN outside the grid."""
        pts = np.asarray(points, float).reshape(-1, 3)
        frac = np.linalg.solve(self.axes.T, (pts - self.origin).T)        # (3, P) grid indices
        out = map_coordinates(self.values, frac, order=3, mode="nearest")
        shape = np.array(self.values.shape)[:, None]
        outside = ((frac < 0) | (frac > shape - 1)).any(axis=0)
        out[outside] = np.nan
        return out


def _err(name: str, msg: str) -> MoleculeInputError:
    return MoleculeInputError(f"{name}: {msg}")


def parse_cube(data: bytes | str, name: str = "cube file") -> Cube:
    """One cube file from its bytes or text, with specific messages for broken files."""
    text = _check_text(data, name)
    lines = text.split("\n")
    if len(lines) < 7:
        raise _err(name, f"only {len(lines)} lines; a cube file has two comment lines, the atom count and "
                         "origin, three axis lines, the atoms and the values.")

    def numbers_of(k: int, n: int, what: str) -> list[float]:
        parts = lines[k].split()
        try:
            vals = [float(x) for x in parts[:n]]
        except ValueError:
            vals = []
        if len(vals) < n:
            raise _err(name, f"line {k + 1} should hold {what}, found {lines[k].strip()[:60]!r} "
                             "(not a cube file?).")
        return vals

    head = numbers_of(2, 4, "the atom count and the grid origin")
    natoms = int(head[0])
    if head[0] != natoms or natoms == 0 or abs(natoms) > limits.MAX_ATOMS:
        raise _err(name, f"line 3 gives {head[0]:g} atoms; expected a whole number from 1 to {limits.MAX_ATOMS}.")
    mo_header, natoms = natoms < 0, abs(natoms)
    origin = np.array(head[1:4])
    shape, axes, angstrom = [], [], []
    for d in range(3):
        row = numbers_of(3 + d, 4, f"the voxel count and step of axis {d + 1}")
        n = int(row[0])
        if row[0] != n or n == 0:
            raise _err(name, f"line {4 + d}: voxel count {row[0]:g} is not a whole number ≠ 0.")
        angstrom.append(n < 0)
        shape.append(abs(n))
        axes.append(row[1:4])
    limits.check_grid(shape, f"{name}'s grid")
    axes = np.array(axes, float)
    if len(set(angstrom)) > 1:
        raise _err(name, "its axes mix bohr and Å (voxel counts of both signs).")
    scale = 1.0 if angstrom[0] else BOHR_ANGSTROM
    if abs(np.linalg.det(axes)) < 1e-12:
        raise _err(name, "its three axis steps are not independent (a flat grid).")
    off = axes - np.diag(np.diag(axes))
    if np.abs(off).max() > 1e-6 * np.abs(axes).max():
        raise _err(name, "its grid axes are not along x, y and z; write the cube on an axis-aligned grid.")
    if len(lines) < 6 + natoms:
        raise _err(name, f"the file ends inside the atom list ({natoms} atoms promised; truncated?).")
    numbers, positions = [], []
    for a in range(natoms):
        row = numbers_of(6 + a, 5, f"atom {a + 1} (atomic number, charge, x, y, z)")
        if row[0] != int(row[0]) or not 1 <= int(row[0]) <= 118:
            raise _err(name, f"line {7 + a}: {row[0]:g} is not an atomic number.")
        numbers.append(int(row[0]))
        positions.append(row[2:5])
    start = 6 + natoms + (1 if mo_header else 0)
    body = " ".join(lines[start:])
    try:
        values = np.array(body.split(), dtype=float)
    except ValueError:
        bad = next((t for t in body.split() if not re.fullmatch(r"[-+]?[\d.]+([eEdD][-+]?\d+)?", t)), "?")
        raise _err(name, f"the grid values hold {bad[:30]!r}, which is not a number.") from None
    need = int(np.prod(shape))
    if values.size != need:
        raise _err(name, f"the file has {values.size:,} grid values; its header promises {shape[0]} × {shape[1]} × "
                         f"{shape[2]} = {need:,} ({'truncated?' if values.size < need else 'extra values at the end'}).")
    if not np.isfinite(values).all():
        raise _err(name, "the grid values hold NaN or infinity.")
    return Cube(np.array(numbers, int), np.array(positions, float) * scale, origin * scale, axes * scale,
                values.reshape(shape), (lines[0].strip(), lines[1].strip()), name)


# --------------------------------------------------------------------------- the pair
@dataclass(eq=False)
class CubeReference:
    """A density cube and a potential cube of one molecule on one grid: the user's reference
    (what the files' comment lines say is its `level`)."""

    molecule: Molecule
    level: str
    source: str
    density_cube: Cube
    potential_cube: Cube
    notes: tuple = field(default=())
    dipole_com = None          # a cube pair holds no moments
    quadrupole = None

    @property
    def kind(self) -> str:
        return "cube"

    def mep(self, points) -> np.ndarray:
        """MEP (kcal/mol/e) at `points` (Å): the potential cube (hartree/e), tricubic interpolation."""
        v = self.potential_cube.interpolate(points) * HARTREE_TO_KCAL_MOL
        if np.isnan(v).any():
            raise MoleculeInputError(f"{self.source}: {int(np.isnan(v).sum())} surface points lie outside the "
                                     "potential cube's grid; write the cubes on a larger box.")
        return v

    def density(self, points) -> np.ndarray:
        return self.density_cube.interpolate(points)

    def isodensity_surface(self, isovalue: float = ISOVALUE, spacing=None):
        """The ρ = `isovalue` surface of the density cube (marching cubes on its own grid, Å)."""
        c = self.density_cube
        vol = c.values
        if not (vol.min() < isovalue < vol.max()):
            raise MoleculeInputError(f"{c.name}: the density never crosses {isovalue} e/bohr³ on its grid "
                                     f"(values {vol.min():.3g} … {vol.max():.3g}; not a density in e/bohr³?).")
        edge = max(np.abs(vol[[0, -1]]).max(), np.abs(vol[:, [0, -1]]).max(), np.abs(vol[:, :, [0, -1]]).max())
        if edge >= isovalue:
            raise MoleculeInputError(f"{c.name}: the {isovalue} e/bohr³ surface reaches the edge of the grid; "
                                     "write the cubes on a larger box.")
        return mesh_from_grid(np.maximum(vol, 1e-300), c.origin, np.diag(c.axes), isovalue,
                              kind=f"{isodensity_kind(isovalue)} (density cube)", log=True)


def _is_density(c: Cube) -> bool | None:
    words = (c.name + " " + " ".join(c.comments)).lower()
    if re.search(r"dens|rho|electron density", words):
        return True
    if re.search(r"potential|esp|mep", words):
        return False
    return None


def far_field_charge(pot: Cube, max_points: int = 4000) -> float:
    """The total charge (e) of the molecule from its potential cube: a least-squares fit of a
    point charge, dipole and quadrupole at the atoms' centroid to the potential on the six
    faces of the grid (where the density has died away). Integrating a coarse density grid
    misses the electrons near the nuclei; the far field does not."""
    v = pot.values
    idx = np.indices(v.shape).reshape(3, -1).T
    shape = np.array(v.shape)
    face = ((idx == 0) | (idx == shape - 1)).any(axis=1)
    idx = idx[face][:: max(1, int(face.sum() // max_points))]
    pts = (pot.origin + idx @ pot.axes) / BOHR_ANGSTROM                 # bohr
    r = pts - pot.positions.mean(0) / BOHR_ANGSTROM
    d = np.linalg.norm(r, axis=1)
    x, y, z = r.T
    cols = [1 / d, x / d ** 3, y / d ** 3, z / d ** 3,
            (x * x - y * y) / d ** 5, (2 * z * z - x * x - y * y) / d ** 5, x * y / d ** 5, x * z / d ** 5, y * z / d ** 5]
    coef = np.linalg.lstsq(np.stack(cols, axis=1), v[tuple(idx.T)], rcond=None)[0]
    return float(coef[0])


def read_cube_pair(files) -> CubeReference:
    """The :class:`CubeReference` of two cube files, `files` = [(name, bytes or text), ...]."""
    files = list(files)
    if len(files) != 2:
        raise MoleculeInputError(f"a cube reference needs two files (the density and the potential), got {len(files)}.")
    cubes = [parse_cube(d, n) for n, d in files]
    a, b = cubes
    if a.values.shape != b.values.shape or not np.allclose(a.origin, b.origin, atol=1e-4) \
            or not np.allclose(a.axes, b.axes, atol=1e-6):
        raise MoleculeInputError(f"{a.name} and {b.name} are not on the same grid "
                                 f"({a.values.shape} vs {b.values.shape} points, or another origin or step).")
    if not (np.array_equal(a.numbers, b.numbers) and np.allclose(a.positions, b.positions, atol=1e-3)):
        raise MoleculeInputError(f"{a.name} and {b.name} hold different atoms or geometries.")
    kinds = [_is_density(c) for c in cubes]
    if kinds[0] is None and kinds[1] is None or kinds[0] == kinds[1]:
        neg = [bool((c.values < -1e-8).any()) for c in cubes]
        if neg[0] == neg[1]:
            raise MoleculeInputError(f"cannot tell which of {a.name} and {b.name} is the density: name them "
                                     "e.g. …_density.cube and …_potential.cube.")
        kinds = [not n for n in neg]
    dens, pot = (a, b) if kinds[0] else (b, a)
    if (dens.values < -1e-6).any():
        raise MoleculeInputError(f"{dens.name} has negative values: not an electron density.")
    q_fit = far_field_charge(pot)
    charge = int(round(q_fit))
    notes = [f"total charge {charge:+d} e from the potential on the grid's boundary (fitted {q_fit:+.2f} e)"]
    if abs(q_fit - charge) > 0.25:
        notes.append("the boundary potential does not fit a whole charge well: the box may be too small")
    try:
        mol = validate(Molecule(dens.numbers, dens.positions, charge=charge,
                                multiplicity=1 + (int(dens.numbers.sum() - charge) % 2),
                                name=os.path.splitext(os.path.basename(dens.name))[0]))
    except MoleculeInputError as exc:
        raise MoleculeInputError(f"{dens.name}: {exc}") from None
    said = " / ".join(t for t in (*pot.comments, *dens.comments) if t)
    level = f"as the files' comment lines say: “{said[:160]}”" if said else "not stated in the cube files"
    return CubeReference(mol, level, f"{dens.name} + {pot.name}", dens, pot, tuple(notes))
