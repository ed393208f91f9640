"""Embedding 3Dmol.js views (mepviz.report.views) in Streamlit pages.

    from appkit import viewer
    viewer.show_mep(mol, mep.surface, mep.values, vmax=R, unit="kcal/mol/e",
                    statistics=mep.statistics, charges=q, key="explore-main")
    viewer.show_molecule(mol)                       # sticks only
    viewer.show_mep_grid(mol, surf, [v_ml, v_ref, v_ml - v_ref], titles=[...], vmax=R)  # linked panels
    viewer.show_mep_side_by_side([m1, m2], [s1, s2], [v1, v2], vmax=R)   # two molecules, one iframe
    R = viewer.color_range(v1, v2, mode="auto")     # shared symmetric range, kcal/mol/e

3Dmol.js comes from the vendored copy served at ``app/static/3dmol/3Dmol-min.js``
(``.streamlit/config.toml`` enables static serving), never from a CDN. Under AppTest
(no server) the HTML is the same; nothing is fetched.
"""
from __future__ import annotations

import streamlit as st

from mepviz.report import views

DEFAULT_HEIGHT = 440


def color_range(*value_arrays, mode: str = "auto", fixed: float = 40.0) -> float:
    """Half-width (kcal/mol/e) of the symmetric colour range shared by all `value_arrays`.

    mode "auto": max |V|; "p98": 98th percentile of |V| (robust to a few extreme vertices);
    "fixed": `fixed`.
    """
    if mode == "fixed":
        return float(fixed)
    return views.symmetric_range(*value_arrays, percentile=98.0 if mode == "p98" else 100.0)


def mep_html(mol, surface=None, values=None, **kwargs) -> str:
    """The view's HTML (see :func:`mepviz.report.views.mep_view_html` for the keyword arguments)."""
    kwargs.setdefault("js_url", views.THREEDMOL_APP_URL)
    kwargs.setdefault("height", DEFAULT_HEIGHT)
    return views.mep_view_html(mol, surface, values, **kwargs)


LIVE_VIEWER_DIR = views.STATIC_DIR / "mepviz_viewer"


def show_mep_live(mol, surface=None, values=None, *, key: str, height: int = DEFAULT_HEIGHT,
                  container=None, **kwargs) -> dict:
    """Render the MEP view in a *persistent* 3Dmol.js viewer (a Streamlit component,
    static/mepviz_viewer/): reruns send new data to the same viewer instead of reloading an
    iframe, so updates are fast and the camera (rotation/zoom) is kept while the molecule
    stays the same. `key` must be stable across reruns. kwargs as
    :func:`mepviz.report.views.mep_view_spec`. Returns the spec."""
    import streamlit.components.v1 as components
    spec = views.mep_view_spec(mol, surface, values, height=height, **kwargs)
    # declared at call time: registration needs a running script (see declare_component)
    comp = components.declare_component("mepviz_viewer", path=str(LIVE_VIEWER_DIR))
    if container is not None:
        with container:
            comp(spec=spec, key=key, default=None)
    else:
        comp(spec=spec, key=key, default=None)
    return spec


def show_mep(mol, surface=None, values=None, *, height: int = DEFAULT_HEIGHT, container=None,
             caption: str | None = None, **kwargs) -> str:
    """Render the interactive MEP view in the page (or `container`); returns its HTML.

    kwargs: vmax (kcal/mol/e), unit, opacity, charges, statistics, markers, colorbar, title.
    The iframe is sized to the viewer plus the colour bar.
    """
    html = mep_html(mol, surface, values, height=height, **kwargs)
    target = container if container is not None else st
    extra = 62 if (surface is not None and kwargs.get("colorbar", True)) else 8
    target.iframe(html, height=height + extra)
    if caption:
        target.caption(caption)
    return html


def show_mep_grid(mol, surface, value_sets, *, titles=None, height: int = 340, container=None,
                  **kwargs) -> str:
    """Several maps on the same surface in one linked viewer grid (rotate together, one
    shared colour bar); kwargs as :func:`mepviz.report.views.mep_grid_html` (vmax, unit, opacity,
    statistics=[...], markers, marker_labels, title). Returns the HTML."""
    kwargs.setdefault("js_url", views.THREEDMOL_APP_URL)
    html = views.mep_grid_html(mol, surface, value_sets, titles=titles, height=height, **kwargs)
    target = container if container is not None else st
    target.iframe(html, height=height + 92)
    return html


def show_mep_side_by_side(mols, surfaces, value_sets, *, height: int = 420, container=None, **kwargs) -> str:
    """Different molecules side by side in ONE 3Dmol.js viewer grid (one iframe: the library
    loads once; each panel rotates on its own); kwargs as
    :func:`mepviz.report.views.mep_side_by_side_html` (vmax and center: one value for a shared
    colour scale, or one per panel). Returns the HTML."""
    kwargs.setdefault("js_url", views.THREEDMOL_APP_URL)
    html = views.mep_side_by_side_html(mols, surfaces, value_sets, height=height, **kwargs)
    target = container if container is not None else st
    vmax = kwargs.get("vmax")
    center = kwargs.get("center")
    shared = not (isinstance(vmax, (list, tuple)) or isinstance(center, (list, tuple)))
    # the colour bar (80 px with a zero mark and its note) under the panels, titles above
    target.iframe(html, height=height + (92 if shared else 100) + (26 if kwargs.get("titles") else 0))
    return html


def show_molecule(mol, *, height: int = 320, container=None) -> str:
    """Sticks-only 3D view of `mol`."""
    return show_mep(mol, None, None, height=height, container=container, colorbar=False)


def download_view_button(mol, surface, values, file_name: str, *, label: str = "Download 3D view (HTML)",
                         key: str | None = None, container=None, **view_kwargs):
    """A download button for a standalone HTML file of the view (3Dmol.js inlined: opens
    offline, no server). The file is generated only when the button is clicked."""
    def _make() -> str:
        kw = dict(view_kwargs, js_url=None)
        kw.setdefault("height", 600)
        return views.standalone_html(views.mep_view_html(mol, surface, values, **kw),
                                     title=f"MEPviz: {mol.name or mol.formula}")
    target = container if container is not None else st
    return target.download_button(label, _make, file_name=file_name, mime="text/html", key=key)

