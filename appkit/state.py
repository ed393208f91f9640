"""Session state shared by every page: the current molecule, input errors, display settings.

Everything lives in ``st.session_state`` under the keys below (plain keys, not widget keys,
so values survive page switches: Streamlit drops a widget's state when a page that does not
render that widget runs).

    from appkit import state
    mol = state.get_molecule()          # mepviz.Molecule or None
    state.set_molecule(mol, "SMILES CCO")
    unit = state.get_setting("unit")    # shared display settings, see DEFAULTS
"""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from mepviz import Molecule, registry

K_MOLECULE = "mepviz_molecule"
K_SOURCE = "mepviz_molecule_source"
K_ERROR = "mepviz_input_error"
K_HISTORY = "mepviz_molecule_counter"

#: shared display settings (key -> default); pages read/write them with get/set_setting
DEFAULTS: dict[str, Any] = {
    "model": registry.DEFAULT_MODEL,
    "surface": registry.DEFAULT_SURFACE,
    "isovalue": 0.001,              # e/bohr³, for the isodensity surface (appkit.surfacekinds)
    "unit": registry.DEFAULT_POTENTIAL_UNIT,
    "opacity": 0.85,
    "show_charges": False,
    "show_markers": True,
    "show_extrema": False,          # all local surface extrema as small spheres (Explore)
    "range_mode": "auto",           # "auto" (max |V|), "p98", or "fixed"
    "range_fixed": 40.0,            # kcal/mol/e half-width when range_mode == "fixed"
    "scale": "auto",                # colour-scale rule (mepviz.surface.colors.SCALES): where white sits
    "camera": "default",            # camera preset key of the main view (mepviz.report.views.camera_presets)
}


def init() -> None:
    """Create missing keys (idempotent; every page calls it through page_setup)."""
    ss = st.session_state
    ss.setdefault(K_MOLECULE, None)
    ss.setdefault(K_SOURCE, "")
    ss.setdefault(K_ERROR, None)
    ss.setdefault(K_HISTORY, 0)
    for k, v in DEFAULTS.items():
        ss.setdefault(f"mepviz_setting_{k}", v)


# -- molecule ----------------------------------------------------------------------------
def get_molecule() -> Molecule | None:
    """The current molecule (shared by all pages), or None before the first input."""
    return st.session_state.get(K_MOLECULE)


def get_source() -> str:
    """Where the current molecule came from, e.g. "gallery: water" or "file water.xyz"."""
    return st.session_state.get(K_SOURCE, "")


def set_molecule(mol: Molecule, source: str = "") -> None:
    """Make `mol` the current molecule and clear any pending input error."""
    ss = st.session_state
    ss[K_MOLECULE] = mol
    ss[K_SOURCE] = source
    ss[K_ERROR] = None
    ss[K_HISTORY] = ss.get(K_HISTORY, 0) + 1


def molecule_version() -> int:
    """Increments whenever a new molecule is set (handy as part of widget keys)."""
    return st.session_state.get(K_HISTORY, 0)


# -- input errors / notices ----------------------------------------------------------------
def set_input_error(message: str) -> None:
    """Remember a user-facing input error; the current molecule is kept unchanged."""
    st.session_state[K_ERROR] = str(message)


def get_input_error() -> str | None:
    return st.session_state.get(K_ERROR)


def clear_input_error() -> None:
    st.session_state[K_ERROR] = None


# -- settings ----------------------------------------------------------------------------
def get_setting(name: str) -> Any:
    """A shared display setting (see DEFAULTS)."""
    return st.session_state.get(f"mepviz_setting_{name}", DEFAULTS.get(name))


def set_setting(name: str, value: Any) -> None:
    st.session_state[f"mepviz_setting_{name}"] = value


def setting_widget(widget: Callable, label: str, name: str, *, container=None, **kwargs):
    """Render `widget` (e.g. ``st.selectbox``) bound to the shared setting `name`.

    The widget key is ``"w_" + name`` (use it in AppTest: ``at.selectbox(key="w_model")``);
    its value is copied to the persistent setting on change, so it survives page switches.
    `kwargs` go to the widget (``options=...`` etc.); the current value is passed as
    ``index`` for selectbox/radio and as ``value`` otherwise.
    """
    init()
    wkey = f"w_{name}"
    current = get_setting(name)
    target = container if container is not None else st
    fn = getattr(target, widget.__name__) if container is not None else widget
    options = kwargs.get("options")
    if wkey in st.session_state and st.session_state[wkey] != current:
        # the widget is stale (value changed elsewhere): follow the persistent setting
        if options is None or current in list(options):
            st.session_state[wkey] = current
    if options is not None:
        opts = list(options)
        if current not in opts:
            current = opts[0]
            set_setting(name, current)
        if wkey not in st.session_state:
            kwargs["index"] = opts.index(current)
    elif wkey not in st.session_state:
        kwargs["value"] = current

    def _copy():
        set_setting(name, st.session_state[wkey])

    return fn(label, key=wkey, on_change=_copy, **kwargs)
