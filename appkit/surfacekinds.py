"""Surface names used by the app: the library's kinds (mepviz.registry.SURFACES) plus an
isodensity surface at a user-chosen value, named ``"isodensity@<value>"`` (e/bohr³).
No Streamlit here: the DFT worker process builds the same surfaces.

    kind = surfacekinds.kind_for("isodensity", 0.002)     # "isodensity@0.002"
    surf = surfacekinds.make(mol, kind)
"""
from __future__ import annotations

DEFAULT_ISOVALUE = 0.001
#: isodensity values offered (e/bohr³); other values within ISOVALUE_RANGE are "custom"
PRESET_ISOVALUES = (0.001, 0.002)
ISOVALUE_RANGE = (0.0002, 0.05)


def kind_for(surface: str, isovalue: float = DEFAULT_ISOVALUE) -> str:
    """The app's surface name for `surface` at `isovalue` (only isodensity takes a value)."""
    if surface != "isodensity" or abs(float(isovalue) - DEFAULT_ISOVALUE) < 1e-12:
        return surface
    lo, hi = ISOVALUE_RANGE
    if not lo <= float(isovalue) <= hi:
        raise ValueError(f"isodensity value {isovalue:g} e/bohr³ is outside {lo:g}–{hi:g}")
    return f"isodensity@{float(isovalue):g}"


def isovalue_of(kind: str) -> float | None:
    """The isodensity value of `kind` (e/bohr³), None for the vdW shells."""
    if kind == "isodensity":
        return DEFAULT_ISOVALUE
    if kind.startswith("isodensity@"):
        return float(kind.split("@", 1)[1])
    return None


def make(mol, kind: str):
    """The :class:`mepviz.surfaces.Surface` named `kind`."""
    if kind.startswith("isodensity@"):
        from mepviz.surfaces import isodensity_surface
        return isodensity_surface(mol, isovalue=isovalue_of(kind))
    from mepviz.predict import make_surface
    return make_surface(mol, kind)


def label(kind: str) -> str:
    """Human label, e.g. "Isodensity ρ = 0.002 e/bohr³" or "vdW × 1.4"."""
    from mepviz.registry import SURFACES
    iso = isovalue_of(kind)
    if kind.startswith("isodensity@"):
        return f"Isodensity ρ = {iso:g} e/bohr³"
    return SURFACES.get(kind, kind)
