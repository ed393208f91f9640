"""The view in the URL: ``?smiles=…`` (or ``?gallery=…``) ``&model=…&surface=…&unit=…&scale=…``
(and ``&isovalue=…`` when the isodensity value is not the default 0.001 e/bohr³; ``scale`` is
the colour-scale rule of mepviz.surface.colors.SCALES).

:func:`restore` (once per browser session, before the inputs render) loads the molecule and
settings named in the URL; :func:`publish` (every run) writes the current ones back, so a
reload restores the view and a link shares it. Unknown values, and a SMILES over the length
limit, are not applied, with a visible notice (shown as the page's input problem).
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
    """Apply the URL's molecule and settings once per session. A value that is not valid, or
    a SMILES longer than ``limits.MAX_SMILES_CHARS`` (never cut: a cut SMILES is another
    molecule), is not applied, with a visible notice naming it."""
    ss = st.session_state
    if ss.get(APPLIED_KEY):
        return
    ss[APPLIED_KEY] = True
    qp = st.query_params
    notices = []
    for name in SETTINGS:
        value = qp.get(name)
        if value is None:
            continue
        if value in _allowed(name):
            state.set_setting(name, value)
        else:
            notices.append(f"{name}={value[:40]!r} is not one of {', '.join(map(str, _allowed(name)))}; "
                           f"the {name} stays {state.get_setting(name)}")
    raw_iso = qp.get("isovalue")
    iso = _isovalue(raw_iso)
    if iso is not None:
        state.set_setting("isovalue", iso)
    elif raw_iso is not None:
        from .surfacekinds import ISOVALUE_RANGE
        notices.append(f"isovalue={raw_iso[:40]!r} is not a number from {ISOVALUE_RANGE[0]:g} to "
                       f"{ISOVALUE_RANGE[1]:g} e/bohr³; the isovalue stays {state.get_setting('isovalue'):g}")
    if state.get_molecule() is None:
        _restore_molecule(qp.get("gallery"), qp.get("smiles"), notices)
    if notices:
        earlier = state.get_input_error()
        state.set_input_error(" ".join(filter(None, [earlier, "The link's " + "; ".join(notices) + "."])))


def _restore_molecule(gid, smiles, notices: list) -> None:
    from mepviz.core.limits import MAX_SMILES_CHARS

    from .molinput import GALLERY_ID_KEY, _load_smiles
    if gid:
        try:
            state.set_molecule(gallery.load(gid), f"gallery: {gallery.entry(gid)['label']}")
            st.session_state[GALLERY_ID_KEY] = gid
        except (KeyError, OSError, ValueError):
            state.set_input_error(f"The link names an unknown gallery molecule ({gid[:40]!r}).")
    elif smiles and len(smiles) > MAX_SMILES_CHARS:
        notices.append(f"SMILES is {len(smiles):,} characters long, over the limit of {MAX_SMILES_CHARS:,}: "
                       f"it was not loaded (a shortened SMILES would be another molecule)")
    elif smiles:
        _load_smiles(smiles, source="link: SMILES")


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
