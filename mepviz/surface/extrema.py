"""Local extrema of a potential on a molecular surface, Murray–Politzer indices, and the
area-vs-potential histogram (as Multiwfn reports them for a surface analysis).

All potentials in the units of the values passed (the app passes kcal/mol/e), lengths Å,
areas Å².

- :func:`local_extrema`: every V_s,min / V_s,max — a vertex whose value is the lowest
  (highest) of all surface vertices within `radius` Å of it — with its nearest atom.
- :func:`politzer_indices`: the Murray–Politzer keys of
  :func:`mepviz.surface.statistics.surface_statistics` (area-weighted V̄s, V̄s⁺, V̄s⁻, σ²₊,
  σ²₋, σ²_tot, ν, Π, areas).
- :func:`area_histogram`: surface area (Å²) per potential bin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from .statistics import POLITZER_KEYS, surface_statistics

#: default neighbourhood radius (Å) within which an extremum must be the lowest/highest
DEFAULT_RADIUS = 1.0


@dataclass(frozen=True)
class Extremum:
    kind: str                    # "min" or "max"
    value: float                 # potential at the vertex
    position: tuple              # (x, y, z) Å
    vertex: int
    atom: int                    # index (0-based) of the nearest atom
    atom_distance: float         # Å


def local_extrema(vertices, values, positions=None, radius: float = DEFAULT_RADIUS) -> list[Extremum]:
    """All local minima and maxima of `values` on the surface `vertices` (Å).

    A vertex is a local minimum when no other vertex within `radius` Å has a lower value
    (ties: the lowest index wins), likewise for maxima. The nearest atom is taken from
    `positions` (Å, (N, 3)) when given.
    Sorted: minima by increasing value, then maxima by decreasing value.
    """
    pts = np.asarray(vertices, float).reshape(-1, 3)
    v = np.asarray(values, float).ravel()
    if len(pts) != len(v):
        raise ValueError(f"{len(v)} values for {len(pts)} vertices")
    atoms = np.asarray(positions, float).reshape(-1, 3) if positions is not None else None
    if len(v) == 0:
        return []
    tree = cKDTree(pts)
    neigh = tree.query_ball_point(pts, r=float(radius))
    order = np.empty(len(v), np.int64)
    order[np.lexsort((np.arange(len(v)), v))] = np.arange(len(v))   # rank, ties by index
    out = []
    for i, nb in enumerate(neigh):
        r = order[nb]
        for kind, hit in (("min", order[i] == r.min()), ("max", order[i] == r.max())):
            if not hit or len(nb) < 2:
                continue
            if atoms is not None and len(atoms):
                d = np.linalg.norm(atoms - pts[i], axis=1)
                k = int(np.argmin(d))
                atom, dist = k, float(d[k])
            else:
                atom, dist = -1, float("nan")
            out.append(Extremum(kind, float(v[i]), tuple(float(x) for x in pts[i]), i, atom, dist))
    mins = sorted((e for e in out if e.kind == "min"), key=lambda e: e.value)
    maxs = sorted((e for e in out if e.kind == "max"), key=lambda e: -e.value)
    return mins + maxs


def politzer_indices(values, areas=None) -> dict:
    """Murray–Politzer surface indices of `values` (area-weighted with `areas`): the keys
    mean, mean_positive, mean_negative, sigma2_positive, sigma2_negative, sigma2_total
    (units²), nu (0…0.25), pi (units), positive_area, negative_area, total_area (Å², or point
    counts without `areas`) of :func:`mepviz.surface.statistics.surface_statistics`."""
    v = np.asarray(values, float).ravel()
    w = np.ones_like(v) if areas is None else np.asarray(areas, float).ravel()
    if v.size == 0 or len(w) != len(v) or w.sum() <= 0:
        raise ValueError("politzer_indices needs values and matching positive areas")
    stats = surface_statistics(None, v, w, indices=True)
    return {k: stats[k] for k in POLITZER_KEYS}


def area_histogram(values, areas, bin_width: float | None = None, bins: int = 40):
    """(bin edges, area per bin Å²) of `values` weighted by vertex `areas`: the "surface
    area in each MEP range" plot. With `bin_width` (units of values), bins start at a
    multiple of it; else `bins` equal bins over the range."""
    v = np.asarray(values, float).ravel()
    a = np.asarray(areas, float).ravel()
    if bin_width:
        lo = np.floor(v.min() / bin_width) * bin_width
        hi = np.ceil(v.max() / bin_width) * bin_width
        edges = np.arange(lo, hi + 0.5 * bin_width, bin_width)
        if len(edges) < 2:
            edges = np.array([lo, lo + bin_width])
    else:
        edges = np.histogram_bin_edges(v, bins=bins)
    hist, edges = np.histogram(v, bins=edges, weights=a)
    return edges, hist


# --------------------------------------------------------------------------- σ-hole caps
#: half-angle (degrees) of the cone about the A→X axis, apex at X, that holds a halogen's cap
CAP_CONE_DEG = 15.0
#: halogens that can carry a σ-hole (atomic number -> symbol)
HALOGENS = {17: "Cl", 35: "Br", 53: "I"}
#: a halogen farther than this (Å) from every other atom is a halide ion: no bond, no σ-hole
CAP_MAX_BOND = 2.6


@dataclass(frozen=True, eq=False)
class CapSite:
    """The cap of halogen X (index `halogen`) bonded to atom A (`partner`) on a set of surface
    points: `cone` marks the points within CAP_CONE_DEG of the A→X axis beyond X, `patch` the
    points closer to X than to any other atom, `cos_angle` the cosine of each point's angle
    from the axis (seen from X)."""

    halogen: int
    partner: int
    symbol: str
    cone: np.ndarray
    patch: np.ndarray
    cos_angle: np.ndarray

    def value(self, values) -> float:
        """V at the cap: the maximum of `values` (one per point) over the cone."""
        return float(np.asarray(values, float)[self.cone].max())

    def cap_point(self, values) -> int:
        """Index of the point where the cap value is found."""
        idx = np.flatnonzero(self.cone)
        return int(idx[int(np.argmax(np.asarray(values, float)[self.cone]))])

    def max_angle_deg(self, values) -> float:
        """Angle (degrees) from the A→X axis of the largest value on X's surface patch: about 0°
        when V_s,max of the halogen sits on its cap."""
        v = np.asarray(values, float)
        k = np.flatnonzero(self.patch)[int(np.argmax(v[self.patch]))]
        return float(np.degrees(np.arccos(np.clip(self.cos_angle[k], -1, 1))))


def halogen_caps(numbers, positions, points) -> list[CapSite]:
    """One :class:`CapSite` per bonded halogen X (Cl, Br, I; its partner A = the nearest atom,
    within CAP_MAX_BOND Å) that has points both in its cone and on its patch. Positions and
    points in Å. The σ-hole cap value of a map is ``site.value(values)``: the maximum of V
    within CAP_CONE_DEG of the A→X axis beyond X (the definition of train/evaluate_sets.py)."""
    pos = np.asarray(positions, float).reshape(-1, 3)
    z = np.asarray(numbers, int).ravel()
    pts = np.asarray(points, float).reshape(-1, 3)
    if not len(pts) or not np.isin(z, list(HALOGENS)).any():
        return []
    nearest = cKDTree(pos).query(pts)[1]
    out = []
    for x in np.flatnonzero(np.isin(z, list(HALOGENS))):
        d = np.linalg.norm(pos - pos[x], axis=1)
        d[x] = np.inf
        a = int(np.argmin(d))
        if d[a] > CAP_MAX_BOND:
            continue
        axis = (pos[x] - pos[a]) / np.linalg.norm(pos[x] - pos[a])
        v = pts - pos[x]
        cosang = v @ axis / np.linalg.norm(v, axis=1)
        cone = cosang >= np.cos(np.radians(CAP_CONE_DEG))
        patch = nearest == x
        if cone.any() and patch.any():
            out.append(CapSite(int(x), a, HALOGENS[int(z[x])], cone, patch, cosang))
    return out
