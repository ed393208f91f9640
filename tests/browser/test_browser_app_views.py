"""Real-browser tests of the app's views through the server: a shared link restores the view
(URL round trip), the live Explore view frames the whole surface and reads values under the
cursor, the Compare views are framed too."""
from __future__ import annotations

import io
import urllib.parse

import numpy as np
import pytest

from tests.browser.helpers import canvas_pixels, goto_page, shot, wait_idle, wait_rendered_view

pytestmark = pytest.mark.browser

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"


def _border_dirty(img: np.ndarray, border: int = 2) -> int:
    a = img.astype(int)
    edge = np.concatenate([a[:border].reshape(-1, 3), a[-border:].reshape(-1, 3),
                           a[:, :border].reshape(-1, 3), a[:, -border:].reshape(-1, 3)])
    return int((edge.min(axis=1) < 235).sum())


def _live_frame(page, formula: str):
    frame, _ = wait_rendered_view(page, formula)
    return frame


def test_link_restores_the_view_and_the_view_is_framed_with_a_readout(page, server):
    q = urllib.parse.urlencode({"smiles": ASPIRIN, "model": "dipole", "surface": "vdw1.4", "unit": "V"})
    page.goto(f"{server}/Explore?{q}")
    frame = _live_frame(page, "C9H8O4")
    wait_idle(page)
    page.wait_for_timeout(500)
    # the settings of the link are applied
    heading = page.locator("[data-testid='stMain'] h3").filter(has_text="model").first.inner_text()
    assert "Dipole model" in heading and "vdW × 1.4" in heading, heading
    assert "(V)" in frame.locator(".mepviz-colorbar").inner_text()
    # the whole surface is inside the panel
    img = canvas_pixels(frame, "views_explore_aspirin_link")
    assert _border_dirty(img) == 0
    # value readout under the cursor, in the unit shown
    canvas = frame.locator("canvas").first
    bb = canvas.bounding_box()
    page.mouse.move(bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2)
    page.wait_for_timeout(300)
    text = frame.locator(".mepviz-readout").inner_text()
    assert text.startswith("V = ") and " V · nearest atom " in text, text
    shot(page, "views_explore_link")
    # the URL carries the view; a reload restores it
    params = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert params.get("model") == ["dipole"] and params.get("unit") == ["V"]
    assert params.get("surface") == ["vdw1.4"] and params.get("smiles")
    page.reload()
    _live_frame(page, "C9H8O4")
    heading = page.locator("[data-testid='stMain'] h3").filter(has_text="model").first.inner_text()
    assert "Dipole model" in heading and "vdW × 1.4" in heading, heading


def test_new_molecule_is_framed_again(page, server):
    page.goto(f"{server}/Explore?smiles=O")
    _live_frame(page, "H2O")
    wait_idle(page)
    box = page.get_by_label("SMILES", exact=True)
    box.fill("CCCCCCCCCCCCCCCCCCCC")                 # eicosane: much bigger than water
    box.press("Enter")
    frame = _live_frame(page, "C20H42")
    wait_idle(page)
    page.wait_for_timeout(500)
    img = canvas_pixels(frame, "views_explore_eicosane_after_water")
    assert _border_dirty(img) == 0
    assert (img.astype(int).max(axis=2) - img.astype(int).min(axis=2) > 25).mean() > 0.05


def test_compare_views_are_framed(page, server):
    page.goto(f"{server}/?gallery=pyridine")
    page.locator("[data-testid='stSidebar']").get_by_text("C5H5N").first.wait_for()
    goto_page(page, "Compare models")
    wait_rendered_view(page, "C5H5N")
    wait_idle(page)
    page.wait_for_timeout(800)
    from tests.browser.helpers import view_frames
    frames = view_frames(page)
    assert len(frames) >= 2
    for k, f in enumerate(frames[:3]):
        img = canvas_pixels(f, f"views_compare_{k}")
        assert _border_dirty(img) == 0, k
    from PIL import Image
    assert Image.open(io.BytesIO(frames[0].locator("canvas").first.screenshot())).size[0] > 100


def test_png_download_from_the_app_views(page, server):
    """The PNG button works inside the app's (sandboxed) live view frame."""
    from PIL import Image
    page.goto(f"{server}/Explore?smiles=c1ccncc1")
    frame = _live_frame(page, "C5H5N")
    wait_idle(page)
    bb = frame.locator("canvas").first.bounding_box()
    with page.expect_download() as dl:
        frame.locator(".mepviz-png").first.click()
    img = Image.open(dl.value.path())
    assert img.size[0] >= 3 * bb["width"] - 2
