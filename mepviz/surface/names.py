"""The one surface-name grammar: every spelling of a surface name, parsed and written here.

Names (case and blanks do not matter):

- ``"isodensity"``: the promolecular ρ = 0.001 e/bohr³ surface; ``"isodensity@0.002"`` (the
  app's spelling, in URLs) and ``"isodensity 0.002"`` (``Surface.kind``) another isovalue
  (e/bohr³);
- ``"vdw1.4"`` … ``"vdw2.0"``: Bondi vdW radii × scale; also ``"vdW ×1.4"`` (``Surface.kind``)
  and any ``"vdw<scale>"`` (``"vdw"`` alone: × 1.4).

The labels shown to users come from ``registry.SURFACES`` (:func:`label`).
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..core.registry import SURFACE_KINDS, SURFACES

#: isovalue of "isodensity" (e/bohr³)
DEFAULT_ISOVALUE = 0.001
#: isodensity values offered by the app (e/bohr³); others within ISOVALUE_RANGE are "custom"
PRESET_ISOVALUES = (0.001, 0.002)
ISOVALUE_RANGE = (0.0002, 0.05)
#: scale of "vdw" without a number
DEFAULT_VDW_SCALE = 1.4

_VDW = re.compile(r"vdw([0-9]*\.?[0-9]+)?")


class SurfaceName(NamedTuple):
    """A parsed name: `family` "isodensity" or "vdw", `value` its isovalue (e/bohr³) or
    scale, None for the family's default."""

    family: str
    value: float | None


def parse(kind) -> SurfaceName:
    """The family and value of any spelling of a surface name; ValueError when unknown."""
    k = str(kind).strip().lower().replace("×", "").replace("x", "").replace(" ", "")
    if k.startswith("isodensity"):
        rest = k[len("isodensity"):].lstrip("@")
        try:
            return SurfaceName("isodensity", float(rest) if rest else None)
        except ValueError:
            raise ValueError(f"unknown surface kind {kind!r}") from None
    m = _VDW.fullmatch(k)
    if m:
        return SurfaceName("vdw", float(m.group(1)) if m.group(1) else None)
    raise ValueError(f"unknown surface kind {kind!r}; choose one of {', '.join(SURFACE_KINDS)}")


def kind_for(surface: str, isovalue: float = DEFAULT_ISOVALUE) -> str:
    """The app's name for `surface` at `isovalue` (e/bohr³; only isodensity takes a value):
    "isodensity" at the default, "isodensity@<value>" otherwise."""
    if surface != "isodensity" or abs(float(isovalue) - DEFAULT_ISOVALUE) < 1e-12:
        return surface
    lo, hi = ISOVALUE_RANGE
    if not lo <= float(isovalue) <= hi:
        raise ValueError(f"isodensity value {isovalue:g} e/bohr³ is outside {lo:g}–{hi:g}")
    return f"isodensity@{float(isovalue):g}"


def isovalue_of(kind: str) -> float | None:
    """The isodensity value of `kind` (e/bohr³); None for the vdW shells and unknown names."""
    try:
        name = parse(kind)
    except ValueError:
        return None
    if name.family != "isodensity":
        return None
    return DEFAULT_ISOVALUE if name.value is None else name.value


def label(kind: str) -> str:
    """Human label: registry.SURFACES' for its names, e.g. "vdW × 1.4"; "Isodensity ρ =
    0.002 e/bohr³" for another isovalue; the name itself when unknown."""
    if kind in SURFACES:
        return SURFACES[kind]
    iso = isovalue_of(kind)
    if iso is not None:
        return f"Isodensity ρ = {iso:g} e/bohr³"
    return kind


def isodensity_kind(isovalue: float) -> str:
    """``Surface.kind`` of an isodensity surface, e.g. "isodensity 0.001"."""
    return f"isodensity {isovalue:g}"


def vdw_kind(scale: float) -> str:
    """``Surface.kind`` of a scaled vdW surface, e.g. "vdW ×1.4"."""
    return f"vdW ×{scale:g}"
