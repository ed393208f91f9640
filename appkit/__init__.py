"""Shared Streamlit helpers for the MEPviz pages (the library, mepviz/, never imports these).

A page looks like::

    import streamlit as st
    import appkit
    from appkit import compute, viewer, widgets

    mol = appkit.page_setup("Compare models")       # page config, sidebar input, errors
    if mol is None:
        st.stop()
    unit = appkit.state.get_setting("unit")
    try:
        maps = {m: compute.mep_map(mol, m, "isodensity") for m in compute.model_names()}
    except appkit.MoleculeInputError as exc:        # e.g. S for the QM9-trained models
        st.error(str(exc)); st.stop()
    sc = compute.map_scale(mol, "isodensity")       # THE colour-scale rule of every page
    viewer.show_mep(mol, maps["dipole"].surface, maps["dipole"].values, vmax=sc.half_width,
                    center=sc.center, unit=unit)
    got = widgets.reference_panel(mol, "isodensity")    # (ReferenceResult, values) or None

Modules:
- ``appkit.state``    session-state keys: current molecule, input errors, shared settings
- ``appkit.molinput`` sidebar molecule input (gallery, SMILES, upload, frames, charge), Ketcher editor
- ``appkit.ketcher``  the Ketcher component, served with its init error fixed
- ``appkit.compute``  cached predictors (st.cache_resource) and computations (st.cache_data)
- ``appkit.viewer``   py3Dmol/3Dmol.js views in the page (vendored 3Dmol.js, offline)
- ``appkit.jobs``     DFT reference jobs: worker processes (SCF + surface MEP), bounded queue,
                      per-session cap, owner-only cancel, dropped with their session, budget
- ``appkit.dft_worker`` the worker process itself (no Streamlit)
- ``appkit.widgets``  display controls, number panels, the DFT reference panel, surface
                      extrema/indices, 2D slice
- ``appkit.gallery``  example molecules with shipped DFT references
- ``appkit.applicability`` notes/refusals of mepviz.ml.applicability next to every result (read from the prediction)
- ``appkit.urlstate`` molecule, model, surface and unit in the URL (shareable, reload-proof)
- ``appkit.surfacekinds`` surface names incl. a chosen isodensity value ("isodensity@0.002")
- ``appkit.lessons``  the Learn page's lessons (``Learn?lesson=<id>``, lecture mode, ←/→ keys)
- ``appkit.userqm``   bring your own QM: a Molden / .fchk file or a cube pair as Explore's reference
- ``appkit.text``     user strings as plain text in Markdown;  ``appkit.thumbs`` 2D pictures
"""
from __future__ import annotations

import streamlit as st

from mepviz import Molecule, MoleculeInputError

from . import state

__all__ = ["page_setup", "state", "Molecule", "MoleculeInputError"]

APP_TITLE = "MEPviz"


def page_setup(title: str, icon: str = "⚡", layout: str = "wide", show_charge: bool = True,
               intro: str | None = None, url_keep: tuple = ()) -> Molecule | None:
    """Configure the page, render the shared sidebar molecule input and any pending input
    error, write the title; return the current molecule (None before the first input).
    `url_keep`: this page's own URL parameters, kept in the address (appkit.urlstate.publish)."""
    from . import urlstate
    from .molinput import molecule_sidebar, show_input_error
    try:
        st.set_page_config(page_title=f"{title} · {APP_TITLE}", page_icon=icon, layout=layout)
    except Exception:   # already configured (e.g. called twice)
        pass
    state.init()
    urlstate.restore()
    mol = molecule_sidebar(show_charge=show_charge)
    urlstate.publish(keep=url_keep)
    st.title(title)
    if intro:
        st.caption(intro)
    show_input_error()
    return mol
