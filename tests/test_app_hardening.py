"""AppTest: inputs that used to break pages or leak into the page (issue 11), and the DFT
panel's states (queue visible, refusals, Cancel shown as cancelled)."""
from __future__ import annotations

import time

import pytest

from mepviz.core import registry

from tests.apptest_support import (EXPLORE, app_env, enter_smiles, errors, new_app,  # noqa: F401
                                   no_exceptions, upload)

MELLITATE = "[O-]C(=O)c1c(C(=O)[O-])c(C(=O)[O-])c(C(=O)[O-])c(C(=O)[O-])c1C(=O)[O-]"
PAGES = [None, EXPLORE, "pages/2_Compare_models.py", "pages/4_Learn.py"]


@pytest.mark.parametrize("page", PAGES)
def test_charge_minus_six_does_not_break_any_page(app_env, page):
    at = new_app()
    enter_smiles(at, MELLITATE)
    no_exceptions(at)
    if page:
        at.switch_page(page).run()
        no_exceptions(at)
    box = [n for n in at.sidebar.number_input if n.label == "Total charge (e)"][0]
    assert box.value == -6 and box.min <= -6


def test_molecule_names_are_plain_text(app_env):
    """A name with Markdown/HTML (an image link) is shown literally: no image, no markup."""
    at = new_app()
    xyz = (b"3\n![x](http://evil.example/x.png) **bold** <img src=x>\n"
           b"O 0 0 0.1173\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n")
    upload(at, "w.xyz", xyz)
    no_exceptions(at)
    shown = [m.value for m in at.sidebar.markdown if "evil" in m.value]
    assert shown, [m.value for m in at.sidebar.markdown]
    from appkit.text import plain
    assert plain("![x](http://evil.example/x.png) **bold** <img src=x>") in shown[0]
    for text in shown:
        assert "](" not in text and "**bold**" not in text and "<img" not in text


def test_plain_text_escaping():
    from appkit.text import plain
    assert plain("a*b_c") == "a\\*b\\_c"
    assert plain("<b>x</b>") == "&lt;b&gt;x&lt;/b&gt;"
    assert plain(":red[x]") == "\\:red\\[x\\]"
    assert plain("two\nlines") == "two lines"


def test_inputs_follow_the_loaded_molecule(app_env):
    """After a gallery load the SMILES box shows that molecule, not the old text; with no
    molecule the gallery box is empty."""
    at = new_app()
    assert at.sidebar.selectbox(key="gallery_pick").value is None
    enter_smiles(at, "CCO")
    at.sidebar.selectbox(key="gallery_pick").select("pyridine")
    at.sidebar.button(key="gallery_load").click().run()
    no_exceptions(at)
    from appkit import gallery
    assert at.sidebar.text_input(key="smiles_input").value == gallery.load("pyridine").smiles
    enter_smiles(at, "CO")
    assert at.sidebar.selectbox(key="gallery_pick").value is None


def test_url_restores_molecule_and_settings(app_env):
    from streamlit.testing.v1 import AppTest

    from tests.apptest_support import APP
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"smiles": "c1ccncc1", "model": "dipole", "surface": "vdw1.6", "unit": "V",
                            "isovalue": "0.002"})
    at.run()
    no_exceptions(at)
    assert at.session_state["mepviz_setting_isovalue"] == 0.002
    assert at.session_state["mepviz_setting_model"] == "dipole"
    assert at.session_state["mepviz_setting_surface"] == "vdw1.6"
    assert at.session_state["mepviz_setting_unit"] == "V"
    assert at.session_state["mepviz_molecule"].formula == "C5H5N"
    assert at.query_params["smiles"] == ["c1ccncc1"] or at.query_params["smiles"] == "c1ccncc1"


def _wait_no_jobs(timeout=240):
    from appkit.jobs import job_manager
    t0 = time.time()
    while job_manager().active_jobs() and time.time() - t0 < timeout:
        time.sleep(0.5)


def test_cancel_shows_cancelled_and_queue_is_visible(app_env):
    _wait_no_jobs()
    at = new_app(EXPLORE)
    enter_smiles(at, "CCCCCCCCCCCC")
    no_exceptions(at)
    assert any("DFT queue on this server" in c.value for c in at.caption)
    start = [b for b in at.button if b.label == "Compute DFT reference"]
    start[0].click().run()
    no_exceptions(at)
    cancel = [b for b in at.button if b.label == "Cancel"]
    assert cancel, [b.label for b in at.button]
    cancel[0].click().run()
    no_exceptions(at)
    assert not errors(at)
    assert any("cancelled" in i.value for i in at.info)
    from appkit.jobs import job_manager
    from mepviz.inputs import from_smiles
    assert job_manager().status_for(from_smiles("CCCCCCCCCCCC")).state == "cancelled"


def test_job_over_budget_is_refused_with_a_reason(app_env, monkeypatch):
    _wait_no_jobs()
    from appkit.jobs import job_manager
    jm = job_manager()
    monkeypatch.setattr(jm, "budget_s", 2.0)
    at = new_app(EXPLORE)
    enter_smiles(at, "CCCCCCCCCCCCCC")
    [b for b in at.button if b.label == "Compute DFT reference"][0].click().run()
    no_exceptions(at)
    assert any("more than the time budget" in w.value for w in at.warning)
    assert not jm.active_jobs()


def test_landing_shows_a_live_example_mep_at_once(app_env):
    """First visit, nothing loaded: the landing page already shows an MEP (of the example)."""
    from tests.apptest_support import live_views
    at = new_app()
    no_exceptions(at)
    views = live_views(at)
    assert views and views[0]["mesh"] is not None and views[0]["formula"] == "C5H5N"
    assert at.session_state["mepviz_molecule"] is None          # nothing was loaded for the user


def test_explore_extrema_indices_and_downloads(app_env):
    """Explore lists every local surface extremum of the library, the Politzer indices and
    offers the round-trip exports."""
    from tests.apptest_support import load_gallery
    at = new_app(EXPLORE)
    load_gallery(at, "pyridine")
    no_exceptions(at)
    assert not [d for d in at.dataframe if "nearest atom" in d.value.columns]   # computed when shown
    at.session_state["explore_numbers"] = "Extrema & indices"              # open that tab
    at.run()
    from appkit import gallery
    from mepviz.extrema import local_extrema, politzer_indices
    from mepviz.predict import predict_mep_map
    mol = gallery.load("pyridine")
    mp = predict_mep_map(mol, registry.DEFAULT_MODEL, "isodensity")      # the page's default model
    ext = local_extrema(mp.surface.vertices, mp.values, positions=mol.positions)
    tables = [d.value for d in at.dataframe]
    table = [t for t in tables if "nearest atom" in t.columns][0]
    assert len(table) == len(ext)
    assert table.iloc[0, 1] == pytest.approx(ext[0].value, abs=1e-3)
    assert table.iloc[0, 2] == f"{mol.symbols[ext[0].atom]}{ext[0].atom + 1}"
    pol = [t for t in tables if "index" in t.columns][0]
    nu = politzer_indices(mp.values, mp.surface.vertex_areas)["nu"]
    assert pol.set_index("index").loc["ν (balance, 0–0.25)", "value"] == pytest.approx(nu, abs=1e-4)
    keys = {b.key for b in at.get("download_button")} if at.get("download_button") else set()
    assert {"dl_view", "dl_sdf", "dl_ply", "dl_surface_csv", "dl_mep_cube", "dl_density_cube"} <= keys, keys
    charts = {c.key for c in at.get("plotly_chart")}
    assert "ml_hist" in charts and "explore_slice_fig" not in charts, charts   # slice: only when opened
    at.session_state["explore_slice_open"] = True                           # open the slice panel
    at.run()
    charts = {c.key for c in at.get("plotly_chart")}
    assert {"ml_hist", "explore_slice_fig"} <= charts, charts              # histogram, 2D slice
    at.selectbox(key="explore_slice_plane").select("xz").run()
    no_exceptions(at)
    at.session_state["explore_slice_open"] = False                          # closed and opened again:
    at.run()
    at.session_state["explore_slice_open"] = True
    at.run()
    assert at.selectbox(key="explore_slice_plane").value == "xz"           # the plane is kept
    at.session_state["explore_dft_analysis_open"] = True                    # DFT extrema (shipped reference)
    at.run()
    no_exceptions(at)
    assert len([d for d in at.dataframe if "nearest atom" in d.value.columns]) == 2


def test_isodensity_value_choice(app_env):
    """0.001 (default), 0.002 and a custom isodensity value: the view shows that surface."""
    from tests.apptest_support import live_views, load_gallery
    at = new_app(EXPLORE)
    load_gallery(at, "water")
    from appkit import gallery
    from mepviz.surfaces import isodensity_surface
    mol = gallery.load("water")
    n1 = len(live_views(at)[0]["mesh"]["V"]) // 3
    assert n1 == isodensity_surface(mol, 0.001).n_vertices
    at.selectbox(key="w_isovalue").select(0.002).run()
    no_exceptions(at)
    n2 = len(live_views(at)[0]["mesh"]["V"]) // 3
    assert n2 == isodensity_surface(mol, 0.002).n_vertices and n2 < n1       # closer to the nuclei
    assert any("0.002 e/bohr³" in h.value for h in at.subheader)
    at.selectbox(key="w_isovalue").select("custom").run()
    at.number_input(key="w_isovalue_custom").set_value(0.0005).run()
    no_exceptions(at)
    assert len(live_views(at)[0]["mesh"]["V"]) // 3 == isodensity_surface(mol, 0.0005).n_vertices


def test_all_local_extrema_marked_in_the_view(app_env):
    from tests.apptest_support import live_views, load_gallery
    at = new_app(EXPLORE)
    load_gallery(at, "pyridine")
    n0 = len(live_views(at)[0]["spheres"])
    at.checkbox(key="w_show_extrema").check().run()
    no_exceptions(at)
    from appkit import gallery
    from mepviz.extrema import local_extrema
    from mepviz.predict import predict_mep_map
    mol = gallery.load("pyridine")
    mp = predict_mep_map(mol, registry.DEFAULT_MODEL, "isodensity")      # the page's default model
    n_ext = len(local_extrema(mp.surface.vertices, mp.values, positions=mol.positions))
    assert len(live_views(at)[0]["spheres"]) == n0 + n_ext
    # each extremum is labelled with its value and its nearest atom
    texts = [lb["text"] for lb in live_views(at)[0]["labels"]]
    ext = local_extrema(mp.surface.vertices, mp.values, positions=mol.positions)
    assert all(any(t.endswith(f" {mol.symbols[e.atom]}{e.atom + 1}") for t in texts) for e in ext)
