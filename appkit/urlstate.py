"""The view in the URL: ``?smiles=…`` (or ``?gallery=…``) ``&model=…&surface=…&unit=…&scale=…``
(and ``&isovalue=…`` when the isodensity value is not the default 0.001 e/bohr³; ``scale`` is
the colour-scale rule of mepviz.surface.colors.SCALES).

:func:`restore` (once per browser session, before the inputs render) loads the molecule and
settings named in the URL; :func:`publish` (every run) writes the current ones back, so a
reload restores the view and a link shares it. Unknown values are ignored with a notice.
"""
from __future__ import annotations

import streamlit as st

from . import gallery, state

APPLIED_KEY = "mepviz_url_applied"
#: URL parameter -> (shared setting, allowed values)
SETTINGS = ("model", "surface", "unit", "scale")


def _allowed(name: str) -> tuple:
    from mepviz.core import registry
    from mepviz.surface.colors import SCALES
    return {"model": registry.MODEL_NAMES, "surface": registry.SURFACE_KINDS,
            "unit": registry.POTENTIAL_UNIT_NAMES, "scale": tuple(SCALES)}[name]


def restore() -> None:
    """Apply the URL's molecule and settings once per session."""
    ss = st.session_state
    if ss.get(APPLIED_KEY):
        return
    ss[APPLIED_KEY] = True
    qp = st.query_params
    for name in SETTINGS:
        value = qp.get(name)
        if value is not None and value in _allowed(name):
            state.set_setting(name, value)
    iso = _isovalue(qp.get("isovalue"))
    if iso is not None:
        state.set_setting("isovalue", iso)
    if state.get_molecule() is not None:
        return
    gid, smiles = qp.get("gallery"), qp.get("smiles")
    from .molinput import GALLERY_ID_KEY, _load_smiles
    if gid:
        try:
            state.set_molecule(gallery.load(gid), f"gallery: {gallery.entry(gid)['label']}")
            ss[GALLERY_ID_KEY] = gid
        except (KeyError, OSError, ValueError):
            state.set_input_error(f"The link names an unknown gallery molecule ({gid[:40]!r}).")
    elif smiles:
        _load_smiles(smiles[:500], source="link: SMILES")


def _isovalue(text) -> float | None:
    from .surfacekinds import ISOVALUE_RANGE
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if ISOVALUE_RANGE[0] <= v <= ISOVALUE_RANGE[1] else None


def current_params() -> dict:
    """The URL parameters describing the current view."""
    from .molinput import GALLERY_ID_KEY
    out = {}
    mol = state.get_molecule()
    if mol is not None:
        gid = st.session_state.get(GALLERY_ID_KEY)
        if state.get_source().startswith("gallery:") and gid:
            out["gallery"] = gid
        elif mol.smiles and "[charge" not in state.get_source():
            out["smiles"] = mol.smiles
    for name in SETTINGS:
        out[name] = str(state.get_setting(name))
    from .surfacekinds import DEFAULT_ISOVALUE
    iso = float(state.get_setting("isovalue"))
    if abs(iso - DEFAULT_ISOVALUE) > 1e-12:
        out["isovalue"] = f"{iso:g}"
    return out


def publish(keep: tuple = ()) -> None:
    """Write the current view into the URL (only when it changed); the parameters named in
    `keep` (a page's own, e.g. Learn's ``lesson`` and ``lecture``) stay as they are."""
    params = current_params()
    for k in keep:
        if st.query_params.get(k) is not None:
            params[k] = st.query_params.get(k)
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)
