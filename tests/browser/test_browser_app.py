"""Real-browser tests: Playwright + Debian chromium against `streamlit run app.py`.

Screenshots: artifacts/browser/*.png; timings: artifacts/browser/timing.txt (also printed).
"""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from tests.browser.helpers import (ARTIFACTS, canvas_pixels, colour_stats, goto_page, shot,
                                   submit_smiles, wait_idle, wait_rendered_view, wait_summary)

pytestmark = pytest.mark.browser

WATER_XYZ = """3
water from a file charge=0
O 0.000000 0.000000 0.117300
H 0.000000 0.757200 -0.469200
H 0.000000 -0.757200 -0.469200
"""


def _record(line: str) -> None:
    print(line)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / "timing.txt", "a") as fh:
        fh.write(line + "\n")


def _open(page, server):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + "/")
    # the session's first page load imports torch, RDKit and PySCF in the server and renders the
    # landing page's live MEP: allow a loaded CI machine more than the default minute for it
    page.get_by_label("SMILES", exact=True).wait_for(timeout=180_000)
    return requests


def _select(page, label: str, option: str, sidebar: bool = True):
    scope = page.locator("[data-testid='stSidebar']") if sidebar else page
    box = scope.locator("[data-testid='stSelectbox']").filter(has_text=label).first
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def _assert_coloured(frame, name: str, need_both_signs: bool = True):
    img = canvas_pixels(frame, name)
    st = colour_stats(img)
    assert st["nonwhite"] > 0.05, (name, st)        # something was drawn
    if need_both_signs:
        assert st["red"] > 0.002 and st["blue"] > 0.002, (name, st)   # red–white–blue surface
    return st


def test_smiles_explore_view_numbers_offline(page, server):
    requests = _open(page, server)
    submit_smiles(page, "c1ccncc1")
    wait_summary(page, "C5H5N")
    shot(page, "01_home_pyridine")
    goto_page(page, "Explore")
    frame, _ = wait_rendered_view(page, "C5H5N")
    page.get_by_text("|μ| (D)").first.wait_for()
    page.get_by_text("Θ eigenvalues (D·Å)").first.wait_for()
    assert "kcal/mol/e" in frame.locator(".mepviz-colorbar").inner_text()
    wait_idle(page)
    _assert_coloured(frame, "02_explore_pyridine_canvas")
    page.get_by_role("tab", name="Atomic charges").click()
    page.get_by_text("Sum of charges").first.wait_for()
    shot(page, "02_explore_pyridine")
    # offline: nothing but the local server (no CDN for 3Dmol.js or anything else)
    external = [u for u in requests if u.startswith("http") and not u.startswith(server)]
    assert not external, external
    assert any(u.endswith("/app/static/3dmol/3Dmol-min.js") for u in requests)


def test_upload_xyz(page, server, tmp_path):
    _open(page, server)
    goto_page(page, "Explore")
    page.get_by_text("Choose a molecule").first.wait_for()
    f = tmp_path / "water.xyz"
    f.write_text(WATER_XYZ)
    page.locator("[data-testid='stSidebar'] input[type=file]").set_input_files(str(f))
    wait_summary(page, "H2O")
    frame, _ = wait_rendered_view(page, "H2O")
    wait_idle(page)
    _assert_coloured(frame, "03_upload_water_canvas")
    shot(page, "03_upload_water")


def test_bad_input_shows_error_in_browser(page, server):
    _open(page, server)
    submit_smiles(page, "CCO")
    wait_summary(page, "C2H6O")
    submit_smiles(page, "C1CC(")
    page.get_by_text("Invalid SMILES 'C1CC('").first.wait_for()
    wait_summary(page, "C2H6O")           # previous molecule kept
    shot(page, "04_bad_smiles")


def test_switch_models(page, server):
    _open(page, server)
    submit_smiles(page, "O=C1C=CC=CC=C1")
    wait_summary(page, "C7H6O")
    goto_page(page, "Explore")
    wait_rendered_view(page, "C7H6O")
    from mepviz.core import registry
    page.get_by_text(f"{registry.model_label(registry.DEFAULT_MODEL)} ·").first.wait_for()
    _select(page, "Model", "Dipole model (μ only)")
    page.get_by_text("Dipole model (μ only) ·").first.wait_for()
    frame, _ = wait_rendered_view(page, "C7H6O")
    wait_idle(page)
    _assert_coloured(frame, "05_dipole_model_canvas")
    shot(page, "05_dipole_model")
    _select(page, "Model", "Quadrupole model (μ + Θ)")
    page.get_by_text("Quadrupole model (μ + Θ) ·").first.wait_for()


def test_gallery_reference_comparison_is_instant(page, server):
    requests = _open(page, server)
    goto_page(page, "Explore")
    _select(page, "Gallery", "Benzene")
    page.get_by_role("button", name="Load example").click()
    wait_summary(page, "C6H6")
    t0 = time.perf_counter()
    page.get_by_text("Difference (predicted − reference)").first.wait_for(timeout=60_000)
    page.get_by_text("MAE (kcal/mol/e)").first.wait_for()
    wait_rendered_view(page, "C6H6")
    _record(f"gallery benzene: comparison on screen {time.perf_counter() - t0:.2f} s after load")
    wait_idle(page)
    time.sleep(1.0)
    shot(page, "06_gallery_benzene_comparison")
    external = [u for u in requests if u.startswith("http") and not u.startswith(server)]
    assert not external, external


def test_time_to_coloured_surface(page, server):
    """Submit a QM9-size SMILES on the Explore page; time until the coloured surface is drawn."""
    _open(page, server)
    goto_page(page, "Explore")
    page.get_by_text("Choose a molecule").first.wait_for()
    # warm-up: model loaded, code paths compiled
    submit_smiles(page, "CCO")
    wait_rendered_view(page, "C2H6O", )
    wait_idle(page)
    times = []
    for smi, formula in (("CC(O)CNC=O", "C4H9NO2"), ("OCC1=COC=C1O", "C5H6O3"),
                         ("CC1NC(=O)OC1=N", "C4H6N2O2"), ("CC(C)C1=NC=NC=C1", "C7H10N2")):
        t0 = submit_smiles(page, smi)
        frame, t1 = wait_rendered_view(page, formula)
        times.append(t1 - t0)
        _record(f"time to coloured surface (warm), {smi} ({formula}): {t1 - t0:.2f} s")
        wait_idle(page)
    _assert_coloured(frame, "07_timing_last_canvas")
    _record(f"time to coloured surface (warm): median {statistics.median(times):.2f} s, "
            f"max {max(times):.2f} s over {len(times)} QM9-size molecules")
    shot(page, "07_timing_last")
    assert max(times) < 30      # sanity bound only; the goal (<= 2 s) is reported, not asserted


def test_concurrent_sessions_while_dft_runs(browser, server):
    """One session runs a DFT reference; two other sessions load molecules meanwhile."""
    ctx_a = browser.new_context(viewport={"width": 1500, "height": 2600})
    a = ctx_a.new_page()
    a.set_default_timeout(60_000)
    _open(a, server)
    # a 50-atom molecule: its DFT (minutes) is surely still running when the others finish
    submit_smiles(a, "CCCCCCCCCCCCCCCC(=O)O")
    wait_summary(a, "C16H32O2")
    goto_page(a, "Explore")
    wait_rendered_view(a, "C16H32O2")
    a.get_by_role("button", name="Compute DFT reference").click()
    a.get_by_text("DFT reference running").first.wait_for(timeout=60_000)
    first_progress = a.get_by_text("DFT reference running").first.inner_text()
    shot(a, "08_session_a_dft_running")
    others = []
    try:
        for i, (smi, formula) in enumerate((("CC(=O)N1CC=CC1", "C6H9NO"), ("NC1=CC(=NC=N1)C#N", "C5H4N4"))):
            ctx = browser.new_context(viewport={"width": 1500, "height": 2600})
            others.append(ctx)
            p = ctx.new_page()
            p.set_default_timeout(60_000)
            t_open = time.perf_counter()
            _open(p, server)
            goto_page(p, "Explore")
            p.get_by_text("Choose a molecule").first.wait_for()
            t0 = submit_smiles(p, smi)
            frame, t1 = wait_rendered_view(p, formula)
            _record(f"during DFT: session {'BC'[i]} page open {t0 - t_open:.2f} s, "
                    f"SMILES -> coloured surface {t1 - t0:.2f} s ({smi}, its first molecule)")
            wait_idle(p)
            _assert_coloured(frame, f"09_session_{'bc'[i]}_canvas")
            shot(p, f"09_session_{'bc'[i]}_during_dft")
            assert t1 - t0 < 30
            smi2, formula2 = (("OC(=O)c1ccccc1", "C7H6O2"), ("CC(C)O", "C3H8O"))[i]
            t2 = submit_smiles(p, smi2)                       # a next molecule on the open page
            _, t3 = wait_rendered_view(p, formula2)
            _record(f"during DFT: session {'BC'[i]} next molecule, SMILES -> coloured surface "
                    f"{t3 - t2:.2f} s ({smi2})")
            wait_idle(p)
        # session A is still live: its progress line keeps updating while the job runs
        still_running = a.get_by_text("DFT reference running").count() > 0
        _record(f"DFT job still running after the other sessions finished: {still_running}")
        assert still_running, "the 50-atom DFT job finished implausibly fast"
        if still_running:
            deadline = time.time() + 20
            changed = False
            while time.time() < deadline and not changed:
                time.sleep(1.0)
                loc = a.get_by_text("DFT reference running")
                changed = loc.count() == 0 or loc.first.inner_text() != first_progress
            assert changed, "the progress display of session A stopped updating"
            shot(a, "10_session_a_progress")
            a.get_by_role("button", name="Cancel").click()
            a.get_by_text("cancelled").first.wait_for(timeout=30_000)
            a.get_by_role("button", name="Compute DFT reference").wait_for()
    finally:
        for c in others:
            c.close()
        ctx_a.close()


def test_dft_reference_completes_in_browser(page, server):
    """A small molecule's reference runs in the background and the comparison appears."""
    _open(page, server)
    submit_smiles(page, "C=C")
    wait_summary(page, "C2H4")
    goto_page(page, "Explore")
    wait_rendered_view(page, "C2H4")
    page.get_by_role("button", name="Compute DFT reference").click()
    t0 = time.perf_counter()
    page.get_by_text("Difference (predicted − reference)").first.wait_for(timeout=240_000)
    page.get_by_text("MAE (kcal/mol/e)").first.wait_for()
    _record(f"DFT reference for ethylene in the browser: comparison after {time.perf_counter() - t0:.1f} s")
    wait_idle(page)
    time.sleep(1.0)
    shot(page, "11_dft_ethylene_comparison")
    assert Path(ARTIFACTS / "11_dft_ethylene_comparison.png").exists()


KETCHER_IFRAME = "iframe[title*='ketcher']"      # appkit.ketcher's (or the stock) component


def _ketcher_ready(page):
    """Open the editor on Home (it loads on demand) and wait until Ketcher is initialised
    (its Apply button is enabled only after onInit)."""
    from playwright.sync_api import expect
    if page.locator(KETCHER_IFRAME).count() == 0:
        page.get_by_text("Open the drawing editor", exact=True).click()
    fl = page.frame_locator(KETCHER_IFRAME)
    expect(fl.get_by_role("button", name="Apply")).to_be_enabled(timeout=120_000)
    return fl


def test_drawing_editor_loads_without_console_errors(page, server):
    """Issue 13: Ketcher threw `Cannot read properties of undefined (reading 'eventBus')` on
    every load (streamlit-ketcher never set window.ketcher; appkit.ketcher does)."""
    from tests.browser.conftest import console_errors
    _open(page, server)
    wait_rendered_view(page, "C5H5N")                # the landing page's example
    _ketcher_ready(page)
    frame = next(f for f in page.frames if "ketcher" in f.url)
    assert frame.evaluate("() => !!(window.ketcher && window.ketcher.eventBus)")
    wait_idle(page)
    time.sleep(1.0)
    assert not console_errors(page.mepviz_console), console_errors(page.mepviz_console)


def test_enter_on_unchanged_smiles_reloads(page, server):
    """Issue 13: Enter on the same SMILES did nothing; now it loads the box's molecule again
    (here: undoing a total-charge edit)."""
    _open(page, server)
    submit_smiles(page, "CCO")
    wait_summary(page, "charge +0")
    wait_idle(page)
    q = page.get_by_label("Total charge (e)", exact=True)
    q.fill("1")
    q.press("Enter")
    wait_summary(page, "charge +1")
    wait_idle(page)
    smiles_box = page.get_by_label("SMILES", exact=True)
    assert smiles_box.input_value() == "CCO"
    smiles_box.press("Enter")                         # unchanged text
    wait_summary(page, "charge +0")


def test_drawing_editor_works_offline(page, server):
    """Ketcher (bundled in streamlit-ketcher) loads from the local server only; a structure
    entered in the editor (Open → Paste, as a user would) and applied becomes the molecule."""
    requests = _open(page, server)
    fl = _ketcher_ready(page)
    fl.locator("button[title^='Open']").first.click()
    fl.get_by_text("Paste from clipboard", exact=False).first.click()
    area = fl.locator("textarea:not(.cliparea)").first
    area.click()
    area.press_sequentially("c1ccc(O)cc1", delay=20)
    fl.get_by_role("button", name="Add to Canvas").click()
    time.sleep(1.0)
    # Ketcher attaches a pasted structure to the pointer: click into the canvas to place it
    box = page.locator(KETCHER_IFRAME).bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.45)
    time.sleep(1.0)
    shot(page, "12_drawing_editor_before_apply")
    for attempt in range(3):
        fl.get_by_role("button", name="Apply").click()
        try:
            wait_summary(page, "C6H6O", timeout_s=40)
            break
        except Exception:  # noqa: BLE001 — Apply not registered yet (busy machine): press again
            if attempt == 2:
                shot(page, "FAILED_drawing_editor")
                raise
    page.get_by_text("from drawing").first.wait_for()
    wait_idle(page)
    shot(page, "12_drawing_editor_phenol")
    external = [u for u in requests if u.startswith("http") and not u.startswith(server)]
    assert not external, external


def test_standalone_html_export_renders_offline(browser, tmp_path):
    """The 'Download 3D view' file (3Dmol.js inlined) renders from file:// with no server."""
    from appkit import gallery
    from mepviz import views
    from mepviz.predict import predict_mep_map
    from tests.browser.helpers import view_info
    mol = gallery.load("formaldehyde")
    mep = predict_mep_map(mol, "quadrupole")
    html = views.standalone_html(views.mep_view_html(mol, mep.surface, mep.values, js_url=None,
                                                     statistics=mep.statistics))
    f = tmp_path / "view.html"
    f.write_text(html)
    ctx = browser.new_context(viewport={"width": 900, "height": 700})
    try:
        p = ctx.new_page()
        requests = []
        p.on("request", lambda r: requests.append(r.url))
        p.goto(f.as_uri())
        deadline = time.time() + 60
        info = None
        while time.time() < deadline:
            info = view_info(p.main_frame)
            if info and info["rendered"]:
                break
            time.sleep(0.2)
        assert info and info["rendered"], info
        _assert_coloured(p.main_frame, "13_standalone_export_canvas")
        assert all(u.startswith(("file:", "data:", "blob:", "about:")) for u in requests), requests
    finally:
        ctx.close()
