"""Statistics of a potential on a molecular surface: the one Murray–Politzer computation.

:func:`surface_statistics` gives V_s,min / V_s,max (with their positions), the mean, σ², the
means and variances of the positive and negative parts (σ²_tot = σ²₊ + σ²₋), the balance ν,
the local polarity Π and the positive and negative areas (Murray, Politzer et al., J. Mol.
Struct. THEOCHEM 1994; Bulat et al., J. Mol. Model. 2010). With one weight per point
(vertex areas, Å²) every average is area-weighted. Potentials in the units of the values
passed (the library: kcal/mol/e), positions Å.
"""
from __future__ import annotations

import numpy as np

#: keys of :func:`mepviz.surface.extrema.politzer_indices` (the index names of that view)
POLITZER_KEYS = ("mean", "mean_positive", "mean_negative", "sigma2_positive", "sigma2_negative",
                 "sigma2_total", "nu", "pi", "positive_area", "negative_area", "total_area")


def _wmean(x, w) -> float:
    return float((x * w).sum() / w.sum()) if w.sum() > 0 else float("nan")


def surface_statistics(points, values, areas=None, *, indices: bool = False) -> dict:
    """Statistics of `values` at `points` (Å), area-weighted with `areas`.

    Keys: v_min, v_min_position, v_max, v_max_position, mean, variance (σ² about the mean),
    mean_positive, mean_negative, variance_total (σ²₊ + σ²₋), positive_fraction (of the area),
    n_points. With `indices`, also the Murray–Politzer keys sigma2_positive, sigma2_negative,
    sigma2_total, nu (0…0.25), pi, positive_area, negative_area, total_area (Å², or point
    counts without `areas`). `points` may be None (no positions).
    """
    v = np.asarray(values, float).ravel()
    if v.size == 0:
        raise ValueError("no surface points")
    w = np.ones_like(v) if areas is None else np.asarray(areas, float).ravel()
    pos, neg = v > 0, v < 0
    mean = _wmean(v, w)
    mean_pos, mean_neg = _wmean(v[pos], w[pos]), _wmean(v[neg], w[neg])
    var_pos = _wmean((v[pos] - mean_pos) ** 2, w[pos]) if pos.any() else 0.0
    var_neg = _wmean((v[neg] - mean_neg) ** 2, w[neg]) if neg.any() else 0.0
    imin, imax = int(np.argmin(v)), int(np.argmax(v))
    pts = None if points is None else np.asarray(points, float).reshape(-1, 3)
    out = {
        "v_min": float(v[imin]), "v_min_position": None if pts is None else pts[imin].tolist(),
        "v_max": float(v[imax]), "v_max_position": None if pts is None else pts[imax].tolist(),
        "mean": mean, "variance": _wmean((v - mean) ** 2, w),
        "mean_positive": mean_pos, "mean_negative": mean_neg,
        "variance_total": var_pos + var_neg,
        "positive_fraction": float(w[pos].sum() / w.sum()),
        "n_points": int(v.size),
    }
    if indices:
        tot = var_pos + var_neg
        out.update(sigma2_positive=var_pos, sigma2_negative=var_neg, sigma2_total=tot,
                   nu=var_pos * var_neg / tot ** 2 if tot > 0 else 0.0,
                   pi=_wmean(np.abs(v - mean), w),
                   positive_area=float(w[pos].sum()), negative_area=float(w[neg].sum()),
                   total_area=float(w.sum()))
    return out
