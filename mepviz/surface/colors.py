"""The MEP colour map of docs/physics.md: red = negative, white = 0, blue = positive, on a
range symmetric about 0 shared by the panels compared side by side. Potentials in any one
unit (the library: kcal/mol/e).

Ions have one sign over their whole surface (acetate about −160 … −80 kcal/mol/e), so on a
range symmetric about 0 they are one flat colour. :func:`color_scale` chooses the range by a
named rule (:data:`SCALES`): symmetric about 0 (the default for neutral molecules), min–max
or centred on the mean (the default for ions: "auto"). A scale is (centre, half-width): the
white point sits at the centre, and the legend marks where 0 falls (:class:`ColorScale`).
"""
from __future__ import annotations

from dataclasses import dataclass

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


def mep_colors(values, vmax: float, center: float = 0.0) -> np.ndarray:
    """(N, 3) uint8 RGB for potentials `values` on the range [center − vmax, center + vmax].

    Red below the centre, white at it, blue above; values outside the range saturate. With
    the default centre 0: red negative, white 0, blue positive.
    """
    v = np.asarray(values, float).ravel() - float(center or 0.0)
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


#: colour-scale rules: name -> label (URL value ``scale=``; "auto" picks by total charge)
SCALES = {
    "auto": "automatic: symmetric about 0, min–max for ions",
    "symmetric": "symmetric about 0",
    "minmax": "min–max (white at the middle)",
    "mean": "centred on the mean",
}


@dataclass(frozen=True)
class ColorScale:
    """The colour range [center − half_width, center + half_width] (potential units of the
    values it was made from); white at `center`. `rule`: the rule of :data:`SCALES` applied."""

    center: float
    half_width: float
    rule: str = "symmetric"

    @property
    def lo(self) -> float:
        return self.center - self.half_width

    @property
    def hi(self) -> float:
        return self.center + self.half_width

    @property
    def zero_fraction(self) -> float:
        """Where 0 falls on the bar, 0 (left, red end) … 1 (right, blue end); outside [0, 1]
        when every value on the scale has one sign."""
        return (0.0 - self.lo) / (2.0 * self.half_width) if self.half_width > 0 else 0.5

    def colors(self, values) -> np.ndarray:
        return mep_colors(values, self.half_width, self.center)


def resolve_rule(rule: str, charge: int = 0) -> str:
    """The concrete rule for `rule` ("auto": symmetric for neutral molecules, min–max for ions)."""
    if rule not in SCALES:
        raise ValueError(f"unknown colour scale {rule!r}; choose one of {', '.join(SCALES)}")
    if rule == "auto":
        return "minmax" if int(charge) != 0 else "symmetric"
    return rule


def color_scale(*value_arrays, rule: str = "auto", charge: int = 0, percentile: float = 100.0,
                weights=None, minimum: float = 1e-6) -> ColorScale:
    """One :class:`ColorScale` shared by all `value_arrays` (panels compared side by side).

    rule "symmetric": centre 0, half-width the `percentile`-th percentile of |V|;
    "minmax": from the lowest to the highest value (percentile < 100 trims both tails by
    100 − percentile); "mean": centred on the mean of all values, half-width the
    `percentile`-th percentile of |V − mean|; "auto": :func:`resolve_rule` by `charge`.
    """
    rule = resolve_rule(rule, charge)
    if rule == "symmetric":
        return ColorScale(0.0, symmetric_range(*value_arrays, percentile=percentile, minimum=minimum), rule)
    vals = [np.asarray(v, float).ravel() for v in value_arrays if v is not None]
    allv = np.concatenate(vals) if vals else np.zeros(0)
    allv = allv[np.isfinite(allv)]
    if allv.size == 0:
        return ColorScale(0.0, 1.0, rule)
    if rule == "minmax":
        tail = (100.0 - percentile) / 2.0
        lo, hi = (np.percentile(allv, [tail, 100.0 - tail]) if tail > 0 else (allv.min(), allv.max()))
        return ColorScale(float(0.5 * (lo + hi)), max(float(0.5 * (hi - lo)), minimum), rule)
    center = float(allv.mean())
    return ColorScale(center, symmetric_range(allv - center, percentile=percentile, minimum=minimum), rule)
