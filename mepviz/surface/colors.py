"""The MEP colour map of docs/physics.md: red = negative, white = 0, blue = positive, on a
range symmetric about 0 shared by the panels compared side by side. Potentials in any one
unit (the library: kcal/mol/e)."""
from __future__ import annotations

import numpy as np

#: diverging stops (position in [-1, 1], RGB 0–255): red (negative) – white (0) – blue (positive)
COLOR_STOPS = (
    (-1.0, (178, 24, 43)),
    (-0.5, (239, 138, 98)),
    (0.0, (255, 255, 255)),
    (0.5, (103, 169, 207)),
    (1.0, (33, 102, 172)),
)

#: the same map as a plotly colorscale (position in [0, 1])
PLOTLY_COLORSCALE = [[(t + 1) / 2, f"rgb({r},{g},{b})"] for t, (r, g, b) in COLOR_STOPS]


def symmetric_range(*value_arrays, percentile: float = 100.0, minimum: float = 1e-6) -> float:
    """Half-width R of the symmetric colour range [−R, R] covering all given arrays.

    R is the `percentile`-th percentile of |V| over every array together (100: max |V|),
    so several panels compared side by side share one scale. Never below `minimum`.
    """
    vals = [np.abs(np.asarray(v, float)).ravel() for v in value_arrays if v is not None]
    vals = [v[np.isfinite(v)] for v in vals]
    allv = np.concatenate(vals) if vals else np.zeros(0)
    if allv.size == 0:
        return 1.0
    r = float(np.percentile(allv, percentile)) if percentile < 100 else float(allv.max())
    return max(r, minimum)


def mep_colors(values, vmax: float) -> np.ndarray:
    """(N, 3) uint8 RGB for potentials `values` on the symmetric range [−vmax, vmax].

    Red for negative, white at 0, blue for positive; values outside the range saturate.
    """
    v = np.asarray(values, float).ravel()
    vmax = float(vmax) if vmax and np.isfinite(vmax) and vmax > 0 else 1.0
    t = np.clip(np.nan_to_num(v / vmax), -1.0, 1.0)
    pos = np.array([s[0] for s in COLOR_STOPS])
    rgb = np.array([s[1] for s in COLOR_STOPS], float)
    out = np.stack([np.interp(t, pos, rgb[:, k]) for k in range(3)], axis=1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def colors_to_hex_ints(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 -> (N,) ints 0xRRGGBB (the compact colour form 3Dmol.js accepts)."""
    rgb = np.asarray(rgb, np.int64)
    return (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
