"""AppTest: the Explore page (ML MEP view, numbers, DFT reference comparison)."""
from __future__ import annotations

import re
import time

import numpy as np
import pytest

from tests.apptest_support import (EXPLORE, app_env, enter_smiles, errors, iframe_html, iframes,  # noqa: F401
                                   live_views,
                                   load_gallery, metric_value, new_app, no_exceptions, upload)


def _vertex_counts(at) -> list[int]:
    """Vertex counts of the main (live) view, then of any iframe views."""
    live = [len(v["mesh"]["V"]) // 3 if v["mesh"] else 0 for v in live_views(at)]
    return live + [int(re.search(r'data-vertices="(\d+)"', iframe_html(f)).group(1)) for f in iframes(at)]


def _library_map(gid: str, model: str | None = None, kind: str = "isodensity"):
    from appkit import gallery
    from mepviz.core.registry import DEFAULT_MODEL
    from mepviz.predict import predict_mep_map
    return predict_mep_map(gallery.load(gid), model or DEFAULT_MODEL, kind)


def _bar_limit(html: str) -> float:
    """The upper limit printed on the (first) colour bar of a view."""
    import re
    bar = html[html.index("mepviz-colorbar"):]
    return float(re.findall(r"<span>\+([0-9.]+)</span>", bar)[0])


def test_explore_without_molecule(app_env):
    at = new_app(EXPLORE)
    no_exceptions(at)
    assert any("Choose a molecule" in i.value for i in at.info)


def test_gallery_molecule_view_numbers_and_shipped_reference(app_env):
    at = new_app(EXPLORE)
    load_gallery(at, "water")
    no_exceptions(at)
    assert not errors(at)
    # main view (persistent 3Dmol.js component): mesh with one colour per vertex, sticks,
    # colour bar, markers; the component page loads only the vendored 3Dmol.js
    spec = live_views(at)[0]
    lib = _library_map("water")
    assert len(spec["mesh"]["V"]) == 3 * lib.surface.n_vertices
    assert len(spec["mesh"]["C"]) == lib.surface.n_vertices
    assert spec["formula"] == "H2O" and spec["xyz"].startswith("3\n")
    assert "kcal/mol/e" in spec["colorbar"] and "mepviz-colorbar" in spec["colorbar"]
    assert len(spec["spheres"]) == 2                                  # V_s,min / V_s,max
    from appkit.viewer import LIVE_VIEWER_DIR
    page = (LIVE_VIEWER_DIR / "index.html").read_text()
    assert "../../app/static/3dmol/3Dmol-min.js" in page
    assert "https://" not in page and "cdn" not in page.lower()
    # numbers: |μ| and per-atom charges from the library
    assert metric_value(at, "|μ| (D)") == f"{lib.prediction.dipole_magnitude_debye:.3f}"
    charges = at.dataframe[1].value
    assert list(charges["element"]) == ["O", "H", "H"]
    np.testing.assert_allclose(charges["charge (e)"], np.round(lib.prediction.charges, 4), atol=1e-4)
    # shipped DFT reference: predicted | reference (one scale: the app's range rule), the
    # difference on its own symmetric scale, metrics, parity plot
    assert len(iframes(at)) == 2
    grid, diff = (iframe_html(f) for f in iframes(at))
    assert "app/static/3dmol/3Dmol-min.js" in grid and "https://" not in grid
    assert "createViewerGrid" in grid and "cols: 2" in grid and grid.count("mepviz-colorbar") == 1
    mae = float(metric_value(at, "MAE"))
    from appkit import gallery
    from mepviz.predict import predict_mep_map
    from mepviz.reference import ReferenceResult  # noqa: F401
    ref = gallery.reference_for(gallery.load("water"))
    v_ref = ref.mep(lib.surface.vertices)
    from appkit.compute import scale_models      # the range rule: these models' maps and DFT
    others = [predict_mep_map(gallery.load("water"), m, "isodensity").values for m in scale_models()]
    r_maps = max(np.abs(lib.values).max(), np.abs(v_ref).max(), *(np.abs(v).max() for v in others))
    r_diff = np.abs(lib.values - v_ref).max()
    assert _bar_limit(grid) == pytest.approx(r_maps, abs=0.051)
    assert _bar_limit(spec["colorbar"]) == pytest.approx(r_maps, abs=0.051)   # main view: same rule
    assert _bar_limit(diff) == pytest.approx(r_diff, abs=0.051)
    assert r_diff < 0.8 * r_maps
    assert mae == pytest.approx(np.abs(lib.values - v_ref).mean(), rel=2e-3)
    assert at.get("plotly_chart")
    assert not [b for b in at.button if b.label == "Compute DFT reference"]


def test_switch_model_unit_surface_and_labels(app_env):
    at = new_app(EXPLORE)
    load_gallery(at, "pyridine")
    mu_q = metric_value(at, "|μ| (D)")
    at.selectbox(key="w_model").select("dipole").run()
    no_exceptions(at)
    lib = _library_map("pyridine", "dipole")
    assert metric_value(at, "|μ| (D)") == f"{lib.prediction.dipole_magnitude_debye:.3f}"
    assert "Dipole model" in " ".join(h.value for h in at.subheader)
    at.selectbox(key="w_unit").select("V").run()
    assert "(V)" in live_views(at)[0]["colorbar"]
    at.selectbox(key="w_surface").select("vdw1.6").run()
    no_exceptions(at)
    n16 = _vertex_counts(at)[0]
    assert n16 == _library_map("pyridine", "dipole", "vdw1.6").surface.n_vertices
    n_labels = len(live_views(at)[0]["labels"])
    at.checkbox(key="w_show_charges").check().run()
    assert len(live_views(at)[0]["labels"]) == n_labels + 11          # one per atom
    at.slider(key="w_opacity").set_value(0.5).run()
    assert live_views(at)[0]["opacity"] == 0.5
    # settings persist across a page switch
    at.switch_page("pages/0_Home.py").run()
    at.switch_page(EXPLORE).run()
    assert at.selectbox(key="w_model").value == "dipole"
    assert mu_q  # quadrupole value was shown first


def test_unsupported_element_message_and_reference_still_works(app_env):
    """DMSO with the dipole-xtb model, whose weights know only QM9's elements (H C N O F)."""
    at = new_app(EXPLORE)
    load_gallery(at, "dmso")
    at.selectbox(key="w_model").select("dipole-xtb").run()
    no_exceptions(at)
    errs = errors(at)
    assert any("do not support S" in e and "H, C, N, O, F" in e for e in errs), errs
    # the molecule is still shown, and the shipped DFT reference map is displayed
    assert live_views(at) == [] and len(iframes(at)) >= 2
    assert any("DFT MEP" in iframe_html(f) for f in iframes(at))


def test_bad_inputs_on_explore_keep_the_page_working(app_env):
    at = new_app(EXPLORE)
    load_gallery(at, "formaldehyde")
    before = _vertex_counts(at)[0]
    enter_smiles(at, "not-a-smiles((")
    no_exceptions(at)
    assert any("Invalid SMILES" in e for e in errors(at))
    assert _vertex_counts(at)[0] == before            # the previous map is still there
    upload(at, "junk.sdf", b"\x00\x01\x02garbage\xff" * 50)
    no_exceptions(at)
    assert any("junk.sdf" in e for e in errors(at))
    assert _vertex_counts(at)[0] == before
    enter_smiles(at, "CO")
    assert not errors(at)
    assert _vertex_counts(at)[0] != before


@pytest.mark.slow
def test_background_dft_reference_for_a_new_molecule(app_env):
    """HF is not in the gallery: the button starts a background job; the page is usable
    meanwhile; when it finishes the comparison appears."""
    from appkit.jobs import job_manager
    t0 = time.time()          # AppTest sessions share one id: let earlier tests' jobs finish
    while job_manager().active_jobs() and time.time() - t0 < 240:
        time.sleep(0.5)
    at = new_app(EXPLORE)
    enter_smiles(at, "F")
    no_exceptions(at)
    start = [b for b in at.button if b.label == "Compute DFT reference"]
    assert start
    start[0].click().run()
    no_exceptions(at)
    from appkit import compute
    from mepviz.inputs import from_smiles
    jm = job_manager()
    mol = from_smiles("F")
    st0 = jm.status_for(mol)
    assert st0 is not None and st0.state in ("queued", "running", "done")
    # the page keeps working while the job runs
    at.selectbox(key="w_unit").select("kJ/mol/e").run()
    no_exceptions(at)
    t0 = time.time()
    while jm.status_for(mol).active and time.time() - t0 < 240:
        time.sleep(0.5)
    s = jm.status_for(mol)
    assert s.state == "done", s
    assert compute.reference_values(mol, "isodensity") is not None     # written by the worker
    at.run()
    no_exceptions(at)
    assert float(metric_value(at, "MAE")) >= 0
    assert len(iframes(at)) == 2 and "createViewerGrid" in iframe_html(iframes(at)[0])


def test_gallery_reference_reproduces_the_reference_data():
    """The shipped gallery reference (float32 packed density matrix) gives the same MEP as
    data/qm9/test.npz for the QM9 test molecule it came from."""
    from pathlib import Path

    from appkit import gallery
    e = gallery.entry("qm9_tropone")
    d = np.load(Path(__file__).resolve().parent.parent / "data" / "qm9" / "test.npz")
    row = int(np.where(d["qm9_index"] == e["qm9_index"])[0][0])
    start = int(d["iso_count"][:row].sum())
    pts = d["iso_points"][start:start + d["iso_count"][row]][::10]
    esp = d["iso_esp"][start:start + d["iso_count"][row]][::10] * 627.5095
    ref = gallery.reference_for(gallery.load("qm9_tropone"))
    assert ref is not None
    np.testing.assert_allclose(ref.mep(pts), esp, atol=0.05)
    np.testing.assert_allclose(ref.dipole, d["dipole"][row], atol=2e-3)


def test_shipped_gallery_values_match_the_current_surface():
    """The gallery ships the reference MEP on the default isodensity surface so comparisons
    are instant; if mepviz/surfaces.py changes, run `python train/make_gallery.py --values-only`."""
    from appkit import gallery
    from mepviz.surfaces import isodensity_surface
    stale = []
    for e in gallery.entries():
        if not e.get("reference"):
            continue
        mol = gallery.load(e["id"])
        if gallery.precomputed_values(mol, "isodensity", isodensity_surface(mol)) is None:
            stale.append(e["id"])
    assert not stale, f"stale shipped values for {stale}: run python train/make_gallery.py --values-only"


def test_selectors_read_the_registry(app_env):
    """Model, surface and unit choices come from mepviz.registry (Explore once offered 3 of
    the 4 potential units, so a unit chosen on Compare was reset here)."""
    from mepviz import registry
    at = new_app(EXPLORE)
    load_gallery(at, "water")
    assert at.selectbox(key="w_unit").options == list(registry.POTENTIAL_UNIT_NAMES)
    assert at.selectbox(key="w_surface").options == [registry.SURFACES[k] for k in registry.SURFACE_KINDS]
    assert at.selectbox(key="w_model").options == [registry.model_label(m) for m in registry.MODEL_NAMES]
