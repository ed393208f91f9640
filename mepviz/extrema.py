"""Local extrema of a potential on a molecular surface, Murray–Politzer indices, and the
area-vs-potential histogram (as Multiwfn reports them for a surface analysis).

All potentials in the units of the values passed (the app passes kcal/mol/e), lengths Å,
areas Å².

- :func:`local_extrema`: every V_s,min / V_s,max — a vertex whose value is the lowest
  (highest) of all surface vertices within `radius` Å of it — with its nearest atom.
- :func:`politzer_indices`: area-weighted V̄s, V̄s⁺, V̄s⁻, σ²₊, σ²₋, σ²_tot = σ²₊ + σ²₋,
  ν = σ²₊σ²₋/σ²_tot², Π = mean |V − V̄s| (Murray, Politzer et al., J. Mol. Struct. THEOCHEM
  1994; Bulat et al., J. Mol. Model. 2010).
- :func:`area_histogram`: surface area (Å²) per potential bin.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
    from scipy.spatial import cKDTree
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
    """Murray–Politzer surface indices of `values` (area-weighted with `areas`).

    Keys: mean, mean_positive, mean_negative, sigma2_positive, sigma2_negative,
    sigma2_total (units²), nu (balance of charge, 0…0.25, dimensionless), pi (local
    polarity, units), positive_area, negative_area, total_area (Å², or point counts
    without `areas`).
    """
    v = np.asarray(values, float).ravel()
    w = np.ones_like(v) if areas is None else np.asarray(areas, float).ravel()
    if v.size == 0 or len(w) != len(v) or w.sum() <= 0:
        raise ValueError("politzer_indices needs values and matching positive areas")

    def wmean(x, ww):
        return float((x * ww).sum() / ww.sum()) if ww.sum() > 0 else float("nan")

    pos, neg = v > 0, v < 0
    mean = wmean(v, w)
    mp, mn = wmean(v[pos], w[pos]), wmean(v[neg], w[neg])
    sp = wmean((v[pos] - mp) ** 2, w[pos]) if pos.any() else 0.0
    sn = wmean((v[neg] - mn) ** 2, w[neg]) if neg.any() else 0.0
    tot = sp + sn
    return {"mean": mean, "mean_positive": mp, "mean_negative": mn,
            "sigma2_positive": sp, "sigma2_negative": sn, "sigma2_total": tot,
            "nu": sp * sn / tot ** 2 if tot > 0 else 0.0,
            "pi": wmean(np.abs(v - mean), w),
            "positive_area": float(w[pos].sum()), "negative_area": float(w[neg].sum()),
            "total_area": float(w.sum())}


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
