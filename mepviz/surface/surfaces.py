"""Molecular surfaces: promolecular isodensity surfaces, scaled-vdW surfaces, MK shell points.

Lengths are Å everywhere except densities, which are e/bohr³ (the isovalue convention:
ρ = 0.001 e/bohr³). Every function here is deterministic.

- `promolecular_density`: sum of spherically averaged free-atom densities (PySCF UKS B3LYP,
  tabulated in mepviz/data/atomic_densities.json by train/make_atomic_densities.py).
- `mesh_from_grid`: marching cubes on any 3D grid whose values decrease outwards (also
  used by the DFT reference engine for the true density).
- `isodensity_surface`, `vdw_surface`, `shell_points`, `surface_for`.

Accuracy: the atomic densities are radially contracted per element (and for H bonded to
N/O/F), fitted to true B3LYP/6-31G(2df,p) 0.001 isosurfaces of QM9 training molecules.
Promolecular / DFT isosurface area (0.2 Å grids): water 0.986, benzene 0.992, 15 training
molecules 0.99-1.01; on test.npz's DFT isosurface vertices the promolecular density is
0.001 × exp(±0.16) (rms; free atoms without contraction: ×exp(0.53), area +6-17 %).

The area changes by < 0.2 % between 0.2 and 0.3 Å grid spacings (vertices are refined onto
the exact surface), so 0.25 Å is the default: fewer vertices for the MEP evaluation and the
browser at no visible cost. Timings: bench/results.md (written by bench/benchmark.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.spatial import cKDTree
from skimage.measure import marching_cubes

from ..core.elements import bondi_radii, symbol, unsupported_elements
from ..core.limits import check_grid
from ..core.molecule import Molecule, MoleculeInputError
from ..core.paths import data_dir
from ..core.units import BOHR_ANGSTROM
from . import names

_DATA = data_dir() / "atomic_densities.json"

#: default grid spacing (Å) of the isodensity surface (see bench numbers in the docstring)
DEFAULT_SPACING = 0.25
#: an atom's density is evaluated on grid points where it exceeds isovalue × this factor
_CUTOFF_FRACTION = 1e-3
VDW_SCALE_RANGE = (1.0, 3.0)


# ----------------------------------------------------------------------------- Surface
@dataclass(eq=False)
class Surface:
    """A triangulated surface (or a point set when `faces` is None).

    vertices (V, 3) Å; faces (F, 3) int vertex indices, counter-clockwise seen from outside
    (or None for point sets); normals (V, 3) outward unit normals; vertex_areas (V,) Å²
    (a third of the adjacent triangles' areas, or the area each point stands for);
    kind: a label such as "isodensity 0.001" or "vdW ×1.4".
    """

    vertices: np.ndarray
    faces: np.ndarray | None
    normals: np.ndarray
    vertex_areas: np.ndarray
    kind: str = ""

    @property
    def area(self) -> float:
        """Total area (Å²)."""
        return float(self.vertex_areas.sum())

    @property
    def n_vertices(self) -> int:
        return len(self.vertices)

    @property
    def n_faces(self) -> int:
        return 0 if self.faces is None else len(self.faces)

    def is_closed(self) -> bool:
        """True if every edge is shared by exactly two faces (a closed 2-manifold edge set)."""
        if self.faces is None or len(self.faces) == 0:
            return False
        return bool(np.all(edge_use_counts(self.faces) == 2))


def edge_use_counts(faces) -> np.ndarray:
    """How many faces use each distinct undirected edge."""
    f = np.asarray(faces, dtype=np.int64)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    e.sort(axis=1)
    key = e[:, 0] * (int(f.max()) + 1) + e[:, 1]
    return np.unique(key, return_counts=True)[1]


def _triangle_vectors(vertices, faces):
    v0, v1, v2 = (vertices[faces[:, i]] for i in range(3))
    return np.cross(v1 - v0, v2 - v0)             # |.| = 2 × area, direction by winding


def _vertex_areas(vertices, faces, tri_vectors=None) -> np.ndarray:
    fn = _triangle_vectors(vertices, faces) if tri_vectors is None else tri_vectors
    tri = (0.5 / 3.0) * np.sqrt(np.einsum("ij,ij->i", fn, fn))
    return np.bincount(faces.ravel(), weights=np.repeat(tri, 3), minlength=len(vertices))


def _vertex_normals(vertices, faces, tri_vectors=None) -> np.ndarray:
    """Area-weighted average of the adjacent faces' normals (follows the face winding)."""
    fn = _triangle_vectors(vertices, faces) if tri_vectors is None else tri_vectors
    idx = faces.ravel()
    n = np.stack([np.bincount(idx, weights=np.repeat(fn[:, k], 3), minlength=len(vertices))
                  for k in range(3)], axis=1)
    return _unit(n)


def _unit(v):
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(norm > 0, norm, 1.0)


# --------------------------------------------------------------- promolecular density
#: hydrogen bonded to one of these (nearest atom within _POLAR_H_BOND Å) is "polar"
_POLAR_H_PARTNERS = (7, 8, 9)
_POLAR_H_BOND = 1.25


@lru_cache(maxsize=1)
def _density_table():
    """(dr bohr, {Z: log ρ table}, {Z: contraction λ}, λ of polar H)."""
    doc = json.loads(_DATA.read_text())
    dr = float(doc["dr_bohr"])
    tables = {int(v["Z"]): np.asarray(v["log_rho"], dtype=float) for v in doc["elements"].values()}
    # in-molecule contraction λ: ρ_Z(r) -> λ⁻³ ρ_free(r / λ) (electron count unchanged)
    lam = {int(v["Z"]): float(v.get("contraction", 1.0)) for v in doc["elements"].values()}
    lam_polar_h = float(doc["elements"]["H"].get("contraction_polar", lam[1]))
    return dr, tables, lam, lam_polar_h


def supported_density_elements() -> tuple[int, ...]:
    """Atomic numbers with a tabulated free-atom density."""
    return tuple(sorted(_density_table()[1]))


def atom_contractions(numbers, positions) -> np.ndarray:
    """Per-atom contraction λ of the promolecule (see mepviz/data/atomic_densities.json).

    λ is per element, except that hydrogen bonded to N, O or F (its nearest atom, within
    1.25 Å) gets the polar-hydrogen value: such H atoms give more density away.
    """
    z = np.asarray(numbers, dtype=np.int64).reshape(-1)
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    _, tables, lam, lam_polar_h = _density_table()
    out = np.array([lam.get(int(x), 1.0) for x in z])
    h = np.nonzero(z == 1)[0]
    if len(h) and len(z) > 1:
        d = np.linalg.norm(pos[h, None, :] - pos[None, :, :], axis=2)
        d[np.arange(len(h)), h] = np.inf
        j = np.argmin(d, axis=1)
        polar = np.isin(z[j], _POLAR_H_PARTNERS) & (d[np.arange(len(h)), j] < _POLAR_H_BOND)
        out[h[polar]] = lam_polar_h
    return out


def _check_density_elements(numbers):
    msg = unsupported_elements(numbers, sorted(_density_table()[1]), "Isodensity surfaces")
    if msg:
        raise MoleculeInputError(msg[:-1] + " (use a scaled van der Waals surface instead).")


def _log_density(z, r_angstrom, la):
    """log ρ (e/bohr³) of element z contracted by λ = la at r (Å); -inf beyond the table."""
    dr, tables = _density_table()[:2]
    t = tables[int(z)]
    x = np.asarray(r_angstrom, dtype=float) * (1.0 / (BOHR_ANGSTROM * dr * la))
    v = np.interp(x, np.arange(len(t), dtype=float), t, right=-np.inf)
    return v - 3.0 * np.log(la) if la != 1.0 else v


def atomic_density(z: int, r_angstrom, contraction: float = 1.0) -> np.ndarray:
    """Spherically averaged atomic density (e/bohr³) of element z at distances r (Å).

    contraction=1 is the free atom; λ gives λ⁻³ ρ_free(r/λ) (same electron count).
    """
    _check_density_elements([z])
    return np.exp(_log_density(z, r_angstrom, float(contraction)))


def _atomic_density_and_slope(z, r_angstrom, la):
    """ρ(r) (e/bohr³) and dρ/dr (e/bohr³/Å) from the tables (log-linear interpolation), for
    arrays of elements z and contractions λ = la, one per distance r (Å)."""
    dr = _density_table()[0]
    flat, offset_by_z, length_by_z = _flat_log_tables()
    z = np.asarray(z, dtype=np.int64)
    offset, length = offset_by_z[z], length_by_z[z]
    step = BOHR_ANGSTROM * dr * np.asarray(la, dtype=float)      # table step (Å)
    x = np.asarray(r_angstrom, dtype=float) / step
    i = np.clip(np.floor(x).astype(np.int64), 0, length - 2)
    t0, t1 = flat[offset + i], flat[offset + i + 1]
    log_rho = t0 + (x - i) * (t1 - t0) - 3.0 * np.log(la)
    rho = np.where(x <= length - 1, np.exp(log_rho), 0.0)
    return rho, rho * (t1 - t0) / step                  # d log ρ / dr = (t1 − t0) / step


def _density_radius(z: int, value: float, la: float = 1.0) -> float:
    """Distance (Å) beyond which the density of z (contracted by la) stays below `value`."""
    dr, tables = _density_table()[:2]
    t = tables[int(z)]
    above = np.nonzero(t - 3.0 * np.log(la) >= np.log(value))[0]
    n = (above[-1] + 1) if len(above) else 0
    return float(min(n, len(t) - 1) * dr * BOHR_ANGSTROM * la)


def promolecular_density(numbers, positions, points, chunk_size: int = 50000) -> np.ndarray:
    """Promolecular electron density (e/bohr³) at `points` (Å): Σ of atomic densities.

    Atomic densities: spherically averaged free-atom UKS B3LYP densities (6-31G(2df,p) for
    H–Ar, 6-311G** for Br, I), shipped as tables, radially contracted per atom
    (`atom_contractions`, fitted to DFT isosurfaces); other elements raise MoleculeInputError.
    """
    z = np.asarray(numbers, dtype=np.int64).reshape(-1)
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    _check_density_elements(z)
    lam = atom_contractions(z, pos)
    out = np.zeros(len(pts))
    for s in range(0, len(pts), chunk_size):
        p = pts[s:s + chunk_size]
        for zi, ri, la in zip(z, pos, lam):
            out[s:s + chunk_size] += np.exp(_log_density(zi, np.linalg.norm(p - ri, axis=1), la))
    return out


def _atom_point_pairs(positions, radii, points):
    """(atom index, point index, point − atom (Å)) for every point within radii[atom] Å of
    an atom (k-d trees); the pairs are in no particular order."""
    m = cKDTree(positions).sparse_distance_matrix(cKDTree(points), float(np.max(radii)),
                                                  output_type="ndarray")
    keep = m["v"] <= np.asarray(radii)[m["i"]]
    a, p = m["i"][keep].astype(np.int64), m["j"][keep].astype(np.int64)
    return a, p, points[p] - positions[a]


def promolecular_density_gradient(numbers, positions, points, cutoff: float | None = None):
    """(ρ (P,), ∇ρ (P, 3)) of the promolecular density; ρ in e/bohr³, ∇ρ in e/bohr³/Å.

    `cutoff` (e/bohr³): each atom is evaluated only at the points where its own density
    exceeds it (found with k-d trees), as on the grid; None: every atom at every point.
    All (atom, point) pairs are evaluated at once from the concatenated log ρ tables.
    """
    z = np.asarray(numbers, dtype=np.int64).reshape(-1)
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    _check_density_elements(z)
    lam = atom_contractions(z, pos)
    n = len(pts)
    if cutoff and n:
        radii = [_density_radius(zi, cutoff, la) for zi, la in zip(z, lam)]
        a, p, d = _atom_point_pairs(pos, radii, pts)
    else:
        a, p = np.repeat(np.arange(len(z)), n), np.tile(np.arange(n), len(z))
        d = pts[p] - pos[a]
    r = np.sqrt(np.einsum("ij,ij->i", d, d))
    val, slope = _atomic_density_and_slope(z[a], r, lam[a])
    radial = slope / np.where(r > 0, r, 1.0)                     # (dρ/dr) / r
    rho = np.bincount(p, weights=val, minlength=n)
    grad = np.stack([np.bincount(p, weights=radial * d[:, k], minlength=n) for k in range(3)], 1)
    return rho, grad


@lru_cache(maxsize=1)
def _flat_log_tables():
    """All log ρ tables laid end to end → (flat table, offset by Z (119,), length by Z (119,))."""
    tables = _density_table()[1]
    zs = sorted(tables)
    length = np.zeros(119, dtype=np.int64)
    length[zs] = [len(tables[zi]) for zi in zs]
    offset = np.zeros(119, dtype=np.int64)
    offset[zs] = np.cumsum([0] + [len(tables[zi]) for zi in zs])[:-1]
    return np.concatenate([tables[zi] for zi in zs]), offset, length


def _grid_axes(positions, padding, spacing):
    lo = positions.min(0) - padding
    hi = positions.max(0) + padding
    n = np.ceil((hi - lo) / spacing).astype(int) + 1
    check_grid(n)                      # before anything of that size is allocated
    # centre the grid on the molecule so the result does not depend on rounding of lo
    lo = 0.5 * (lo + hi) - 0.5 * (n - 1) * spacing
    return lo, [lo[k] + spacing * np.arange(n[k]) for k in range(3)]


def _add_atoms_on_grid(grid, axes, positions, radii, func):
    """Call func(atom, box slices, squared distances (Å²)) over each atom's cube of
    half-width radii[i]; the squared distances have the grid's dtype."""
    for i, (ri, rc) in enumerate(zip(positions, radii)):
        sl, d2 = [], []
        for k in range(3):
            a = axes[k]
            i0 = int(np.searchsorted(a, ri[k] - rc, "left"))
            i1 = int(np.searchsorted(a, ri[k] + rc, "right"))
            sl.append(slice(i0, i1))
            d2.append(((a[i0:i1] - ri[k]) ** 2).astype(grid.dtype))
        if any(len(x) == 0 for x in d2):
            continue
        func(i, tuple(sl), d2[0][:, None, None] + d2[1][None, :, None] + d2[2][None, None, :])


#: bins of the float32 density tables in r² used to place marching-cubes vertices
_R2_BINS = 8192


@lru_cache(maxsize=256)
def _density_table_r2(z: int, la: float, radius: float):
    """(float32 ρ (e/bohr³) at the midpoints of _R2_BINS bins of r² ∈ [0, radius²] (Å²),
    bins per Å²): element z contracted by λ = la, zero beyond `radius` (and up to 3 radius²,
    the corners of an atom's cube)."""
    ds = radius * radius / _R2_BINS
    r = np.sqrt((np.arange(_R2_BINS) + 0.5) * ds)
    table = np.zeros(3 * _R2_BINS + 2, dtype=np.float32)
    table[:_R2_BINS] = np.exp(_log_density(z, r, la))
    return table, np.float32(1.0 / ds)


def promolecular_density_grid(numbers, positions, spacing, padding, cutoff=None,
                              tabulated: bool = False):
    """Promolecular density on a regular grid → (values (nx, ny, nz), origin (3,), spacing).

    The grid spans the atoms ± `padding` Å. `cutoff` (e/bohr³): each atom is evaluated
    only where its own density exceeds it (None: everywhere within its table).
    `tabulated` (needs a cutoff): float32 values looked up in per-atom tables in r² (relative
    error ~1e-4, about 3× faster), enough to place marching-cubes vertices that are then
    refined on the exact density; otherwise float64 from the log-linear radial tables.
    """
    z = np.asarray(numbers, dtype=np.int64).reshape(-1)
    pos = np.asarray(positions, dtype=float).reshape(-1, 3)
    _check_density_elements(z)
    if tabulated and not cutoff:
        raise ValueError("a tabulated density grid needs a cutoff")
    origin, axes = _grid_axes(pos, padding, spacing)
    grid = np.zeros(tuple(len(a) for a in axes), dtype=np.float32 if tabulated else float)
    lam = atom_contractions(z, pos)
    radii = [_density_radius(zi, cutoff if cutoff else 1e-300, la) for zi, la in zip(z, lam)]

    def add_exact(i, sl, r2):
        grid[sl] += np.exp(_log_density(z[i], np.sqrt(r2), lam[i]))

    def add_tabulated(i, sl, r2):
        table, per_bin = _density_table_r2(int(z[i]), float(lam[i]), radii[i])
        grid[sl] += table[(r2 * per_bin).astype(np.int32)]

    _add_atoms_on_grid(grid, axes, pos, radii, add_tabulated if tabulated else add_exact)
    return grid, origin, spacing


# -------------------------------------------------------------------- marching cubes
def mesh_from_grid(values, origin, spacing, level, kind: str = "", outside: str = "below",
                   log: bool = False) -> Surface:
    """Triangulate the `level` isosurface of a scalar field on a regular grid.

    values[i, j, k] is the field at origin + (i, j, k) * spacing (Å; spacing a number or
    three). With outside="below" (densities) the outside is where values < level, so
    normals point towards decreasing values; outside="above" for fields that grow outwards.
    Uses skimage's Lewiner marching cubes without degenerate triangles; faces are wound
    counter-clockwise seen from outside, vertex normals are the area-weighted face normals,
    vertex areas a third of the adjacent triangle areas. The surface is closed if the field
    is on the outside side of `level` all over the grid's boundary.

    With `log` (positive fields such as densities, which decay nearly exponentially) the
    vertices are interpolated in log(values), which places them closer to the true surface
    than linear interpolation of the values.
    """
    vol = np.asarray(values)
    if vol.ndim != 3 or min(vol.shape) < 2:
        raise ValueError(f"values must be a 3D grid with at least 2 points per axis, got {vol.shape}")
    if outside not in ("below", "above"):
        raise ValueError("outside must be 'below' or 'above'")
    sp = np.broadcast_to(np.asarray(spacing, dtype=float), (3,))
    if log:
        if not level > 0:
            raise ValueError("log=True needs a positive level")
        vol = np.log(np.maximum(vol, 1e-300))
        level = float(np.log(level))
    vmin, vmax = float(np.min(vol)), float(np.max(vol))
    if not (vmin < level < vmax):
        raise ValueError(f"level {level:g} is outside the grid's value range [{vmin:g}, {vmax:g}]")
    verts, faces, _, _ = marching_cubes(
        vol, level=level, spacing=tuple(sp), allow_degenerate=False,
        gradient_direction="descent" if outside == "below" else "ascent")
    verts = verts.astype(np.float64) + np.asarray(origin, dtype=float)
    faces = faces.astype(np.int64)
    faces, fn = _orient_outward(verts, faces, vol, np.asarray(origin, float), sp, outside)
    return Surface(verts, faces, _vertex_normals(verts, faces, fn), _vertex_areas(verts, faces, fn),
                   kind)


def _orient_outward(verts, faces, vol, origin, sp, outside):
    """Flip the winding if face normals point towards the inside (checked on the field)."""
    fn = _triangle_vectors(verts, faces)
    if len(faces) == 0:
        return faces, fn
    sub = slice(None, None, max(1, len(faces) // 2000))      # a deterministic sample suffices
    centroids = verts[faces[sub]].mean(1)
    # field a small step along the face normal vs. against it (nearest-grid sampling)
    step = 0.75 * sp.min()
    u = _unit(fn[sub])

    def sample(x):
        idx = np.rint((x - origin) / sp).astype(int)
        idx = np.clip(idx, 0, np.array(vol.shape) - 1)
        return vol[idx[:, 0], idx[:, 1], idx[:, 2]]

    diff = sample(centroids + step * u) - sample(centroids - step * u)
    votes = np.sign(diff) if outside == "above" else -np.sign(diff)
    return (faces, fn) if votes.sum() >= 0 else (faces[:, ::-1].copy(), -fn)


# ------------------------------------------------------------------ isodensity surface
def _as_molecule(mol) -> Molecule:
    if not isinstance(mol, Molecule):
        raise TypeError(f"expected a mepviz Molecule, got {type(mol).__name__}")
    if mol.n_atoms == 0:
        raise MoleculeInputError("the molecule has no atoms")
    return mol


def isodensity_padding(numbers, isovalue: float) -> float:
    """Grid padding (Å) around the atoms that keeps the promolecular isosurface closed."""
    # the isosurface lies within the radius where a single atom's density drops to
    # isovalue / 8 (overlapping atoms add up), plus two grid steps added by the caller
    lam = _density_table()[2]
    return max(_density_radius(z, isovalue / 8.0, max(1.0, lam.get(z, 1.0)))
               for z in set(int(x) for x in numbers))


def isodensity_surface(mol, isovalue: float = 0.001, spacing: float = DEFAULT_SPACING,
                       padding: float | None = None, refine: bool = True) -> Surface:
    """Promolecular ρ = `isovalue` (e/bohr³) surface by marching cubes at `spacing` (Å).

    `padding` (Å) around the atoms defaults to where any single atom's density has fallen
    to isovalue/8, plus two grid steps, so the mesh is closed; if the density still reaches
    the level on the grid boundary the grid is enlarged. With `refine`, each vertex gets one
    Newton step (on log ρ) onto the exact promolecular isosurface and its normal becomes −∇ρ/|∇ρ|.
    Each atom's density is evaluated only on grid points (and vertices) where it exceeds
    isovalue × 1e-3; with `refine` the grid holds float32 tabulated densities (the Newton
    step then uses the exact ones).
    The promolecule is built from neutral atoms: the molecule's total charge is ignored
    (an anion's true surface is larger, a cation's smaller).
    """
    mol = _as_molecule(mol)
    if not (isovalue > 0):
        raise ValueError("isovalue must be positive (e/bohr³)")
    if not (0.02 <= spacing <= 1.0):
        raise ValueError(f"grid spacing {spacing} Å is outside [0.02, 1.0] Å")
    _check_density_elements(mol.numbers)
    pad = isodensity_padding(mol.numbers, isovalue) + 2 * spacing if padding is None else float(padding)
    for _ in range(4):
        grid, origin, _ = promolecular_density_grid(mol.numbers, mol.positions, spacing, pad,
                                                    cutoff=isovalue * _CUTOFF_FRACTION,
                                                    tabulated=refine)
        border = max(grid[[0, -1]].max(), grid[:, [0, -1]].max(), grid[:, :, [0, -1]].max())
        if border < isovalue:
            break
        pad += 1.0
    surf = mesh_from_grid(grid, origin, spacing, isovalue, kind=names.isodensity_kind(isovalue))
    if refine and surf.n_vertices:
        v = surf.vertices
        rho, g = promolecular_density_gradient(mol.numbers, mol.positions, v,
                                               cutoff=isovalue * _CUTOFF_FRACTION)
        # Newton step on log ρ (exact for an exponential decay along the gradient)
        gl = g / np.maximum(rho, 1e-300)[:, None]
        g2 = np.einsum("ij,ij->i", gl, gl)
        ok = (g2 > 0) & (rho > 0)
        step = np.where(ok, np.log(np.where(ok, rho, 1.0) / isovalue) / np.where(ok, g2, 1.0), 0.0)
        step = step[:, None] * gl
        # never move a vertex more than half a grid step
        n = np.linalg.norm(step, axis=1, keepdims=True)
        step *= np.minimum(1.0, 0.5 * spacing / np.where(n > 0, n, 1.0))
        v = v - step
        normals = -_unit(g)
        bad = ~ok
        if bad.any():
            normals[bad] = surf.normals[bad]
        surf = Surface(v, surf.faces, normals, _vertex_areas(v, surf.faces), surf.kind)
    return surf


# ---------------------------------------------------------------------- vdW surfaces
def _check_scale(scale):
    s = float(scale)
    lo, hi = VDW_SCALE_RANGE
    if not (lo <= s <= hi):
        raise ValueError(f"vdW scale factor {scale} is outside [{lo}, {hi}] (1.4–2.0 is usual)")
    return s


def _radii(mol, scale):
    r = bondi_radii(mol.numbers) * scale
    if not np.all(np.isfinite(r) & (r > 0)):
        raise MoleculeInputError("no van der Waals radius for element(s) "
                                 + ", ".join(sorted({symbol(z) for z, x in zip(mol.numbers, r)
                                                     if not (np.isfinite(x) and x > 0)})))
    return r


def fibonacci_sphere(n: int) -> np.ndarray:
    """n nearly uniform unit vectors (deterministic golden-angle spiral)."""
    n = int(n)
    i = np.arange(n) + 0.5
    zc = 1.0 - 2.0 * i / n
    rho = np.sqrt(np.maximum(0.0, 1.0 - zc * zc))
    phi = np.pi * (3.0 - np.sqrt(5.0)) * i
    return np.stack([rho * np.cos(phi), rho * np.sin(phi), zc], axis=1)


def _sphere_points(positions, radii, density):
    """Points on each sphere (≈ density per Å²) outside every other sphere.

    Returns points, owning atom index, area per point (4πR²/n of its sphere).
    """
    pts, owner, area = [], [], []
    for i, (c, r) in enumerate(zip(positions, radii)):
        n = max(1, int(round(4 * np.pi * r * r * density)))
        p = c + r * fibonacci_sphere(n)
        d = np.linalg.norm(p[:, None, :] - positions[None, :, :], axis=2)
        inside = d < radii[None, :] * (1 - 1e-9)
        inside[:, i] = False
        keep = ~inside.any(1)
        pts.append(p[keep])
        owner.append(np.full(keep.sum(), i))
        area.append(np.full(keep.sum(), 4 * np.pi * r * r / n))
    return np.concatenate(pts), np.concatenate(owner), np.concatenate(area)


def vdw_surface(mol, scale: float = 1.4, spacing: float = 0.2, as_points: bool = False) -> Surface:
    """Surface of the union of Bondi vdW spheres scaled by `scale` (1.0–3.0).

    As a mesh: marching cubes (grid `spacing` Å) on f = maxᵢ (Rᵢ − |r − rᵢ|), then every
    vertex is projected onto the sphere it belongs to, with the exact radial normal.
    As points (`as_points`): Fibonacci points on each sphere, ≈ 1/spacing² per Å², outside
    all other spheres, each with its share of its sphere's area.
    """
    mol = _as_molecule(mol)
    s = _check_scale(scale)
    if not (0.02 <= spacing <= 1.0):
        raise ValueError(f"grid spacing {spacing} Å is outside [0.02, 1.0] Å")
    radii = _radii(mol, s)
    pos = mol.positions
    kind = names.vdw_kind(s)
    if as_points:
        pts, owner, area = _sphere_points(pos, radii, 1.0 / spacing ** 2)
        return Surface(pts, None, _unit(pts - pos[owner]), area, kind)
    pad = 3 * spacing
    origin, axes = _grid_axes(pos, radii.max() + pad, spacing)
    floor = -2.0 * spacing
    grid = np.full(tuple(len(a) for a in axes), floor)

    def put(i, sl, r2):
        np.maximum(grid[sl], radii[i] - np.sqrt(r2), out=grid[sl])

    _add_atoms_on_grid(grid, axes, pos, radii + 2.0 * spacing, put)
    surf = mesh_from_grid(grid, origin, spacing, 0.0, kind=kind)
    v = surf.vertices
    f = radii[None, :] - np.linalg.norm(v[:, None, :] - pos[None, :, :], axis=2)
    owner = np.argmax(f, axis=1)
    normals = _unit(v - pos[owner])
    v = pos[owner] + radii[owner, None] * normals
    return Surface(v, surf.faces, normals, _vertex_areas(v, surf.faces), kind)


def shell_points(mol, scales=(1.4, 1.6, 1.8, 2.0), density: float = 1.0):
    """Merz–Kollman style points: on each scaled Bondi shell, ≈ `density` points per Å².

    Points inside another atom's sphere of the same scale are removed. Returns
    (points (P, 3) Å, scale (P,)); deterministic (Fibonacci spheres).
    """
    mol = _as_molecule(mol)
    if not (density > 0):
        raise ValueError("density must be positive (points per Å²)")
    pts, sc = [], []
    for s in scales:
        s = _check_scale(s)
        p, _, _ = _sphere_points(mol.positions, _radii(mol, s), density)
        pts.append(p)
        sc.append(np.full(len(p), s))
    return np.concatenate(pts), np.concatenate(sc)


# ------------------------------------------------------------------------- dispatch


def surface_for(mol, kind: str = "isodensity", **kwargs) -> Surface:
    """Surface by name (any spelling of :mod:`mepviz.surface.names`: "isodensity",
    "isodensity@0.002", "isodensity 0.002", "vdw1.4", "vdW ×1.4", …). Extra keyword
    arguments go to the builder."""
    name = names.parse(kind)
    if name.family == "isodensity":
        if name.value is not None:
            kwargs.setdefault("isovalue", name.value)
        return isodensity_surface(mol, **kwargs)
    return vdw_surface(mol, scale=names.DEFAULT_VDW_SCALE if name.value is None else name.value, **kwargs)
