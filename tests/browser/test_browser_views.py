"""Real-browser checks of the 3D views themselves (no server: the standalone HTML that
mepviz.views writes, with 3Dmol.js and the view tools inlined, exactly the code the app runs):

- framing: for molecules of 3 to ~100 atoms, in a laptop-sized and a projector-sized panel,
  no non-background pixel on the canvas border (the whole surface and the V_s,min/V_s,max
  labels are inside the panel);
- the value readout under the cursor: MEP of the surface point under the mouse and the
  nearest atom, matching the library's values.
"""
from __future__ import annotations

import io

import numpy as np
import pytest

pytestmark = pytest.mark.browser

# 3 … 92 atoms: small, aromatic, drug-sized, a long chain (the hardest to frame), a big drug
MOLECULES = {"water": "O", "pyridine": "c1ccncc1", "aspirin": "CC(=O)Oc1ccccc1C(=O)O",
             "triacontane": "C" * 30,
             "saquinavir-like": "CC(C)(C)NC(=O)C1CC2CCCCC2CN1CC(O)C(Cc1ccccc1)NC(=O)C(CC(N)=O)NC(=O)c1ccc2ccccc2n1"}


def _view(smiles: str, grid: bool = False, height: int = 420):
    from mepviz import views
    from mepviz.inputs import from_smiles
    from mepviz.predict import predict_mep_map
    mol = from_smiles(smiles)
    mep = predict_mep_map(mol, "quadrupole", "isodensity")
    if grid:
        frag = views.mep_grid_html(mol, mep.surface, [mep.values, -mep.values], titles=["a", "b"],
                                   statistics=[mep.statistics, None], height=height, js_url=None)
    else:
        frag = views.mep_view_html(mol, mep.surface, mep.values, statistics=mep.statistics,
                                   height=height, js_url=None)
    return mol, mep, views.standalone_html(frag)


def _render(page, html: str):
    page.set_content(html)
    page.wait_for_function("() => window.mepvizRendered !== undefined", timeout=60_000)
    page.wait_for_timeout(300)
    return page.locator("canvas").first


def _border_dirty(png: bytes, border: int = 2) -> int:
    """Number of border pixels that are not (near-)white background."""
    from PIL import Image
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    edge = np.concatenate([a[:border].reshape(-1, 3), a[-border:].reshape(-1, 3),
                           a[:, :border].reshape(-1, 3), a[:, -border:].reshape(-1, 3)])
    return int((edge.min(axis=1) < 235).sum())


def _inner_coloured(png: bytes) -> int:
    """Number of clearly coloured (red/blue surface) pixels; text and sticks are grey."""
    from PIL import Image
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return int((a.max(axis=2) - a.min(axis=2) > 25).sum())


@pytest.fixture()
def view_page(browser, request):
    size = getattr(request, "param", (900, 700))
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    pg = ctx.new_page()
    yield pg
    ctx.close()


@pytest.mark.parametrize("view_page", [(700, 600), (1900, 1000)], indirect=True,
                         ids=["laptop", "projector"])
@pytest.mark.parametrize("name", list(MOLECULES))
def test_every_surface_is_framed_whole(view_page, name):
    from tests.browser.helpers import ARTIFACTS
    mol, mep, html = _view(MOLECULES[name])
    canvas = _render(view_page, html)
    png = canvas.screenshot()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"framing-{name}-{view_page.viewport_size['width']}.png").write_bytes(png)
    assert 3 <= mol.n_atoms <= 100
    assert _inner_coloured(png) > 1000                                  # the surface is drawn
    assert _border_dirty(png) == 0, f"{name}: surface or labels touch the panel border"


def test_grid_panels_are_framed_whole(view_page):
    mol, mep, html = _view(MOLECULES["aspirin"], grid=True, height=340)
    canvas = _render(view_page, html)
    png = canvas.screenshot()
    assert _inner_coloured(png) > 2000
    assert _border_dirty(png) == 0
    # and the seam between the two panels is background too (each panel framed on its own)
    from PIL import Image
    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    mid = a.shape[1] // 2
    assert int((a[:, mid - 1:mid + 1].min(axis=2) < 235).sum()) == 0


def _readout_at(page, x: float, y: float, index: int = 0) -> tuple[str, int]:
    page.mouse.move(x, y)
    page.wait_for_timeout(150)
    box = page.locator(".mepviz-readout").nth(index)
    return box.inner_text(), int(box.get_attribute("data-vertex") or -1)


def test_value_readout_under_the_cursor(view_page):
    from mepviz.units import convert_potential
    mol, mep, html = _view(MOLECULES["pyridine"])
    canvas = _render(view_page, html)
    bb = canvas.bounding_box()
    text, i = _readout_at(view_page, bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2)
    assert i >= 0, text
    # the value shown is the library's value at that vertex, in the displayed unit
    v = float(convert_potential(mep.values[i], "kcal/mol/e"))
    shown = float(text.split("V = ")[1].split(" ")[0].replace("\u2212", "-"))
    assert shown == pytest.approx(v, abs=0.051)
    # the nearest atom named is the nearest atom of that vertex
    d = np.linalg.norm(mol.positions - mep.surface.vertices[i], axis=1)
    k = int(np.argmin(d))
    assert f"nearest atom {mol.symbols[k]}{k + 1} " in text
    # the vertex picked lies under the cursor on screen
    sx, sy = view_page.evaluate(
        "(i) => { var v = MEPvizTools.registry[0], d = v.__mepviz;"
        " var p = v.modelToScreen({x: d.V[3*i], y: d.V[3*i+1], z: d.V[3*i+2]});"
        " var c = v.canvasOffset(); return [p.x - c.left, p.y - c.top]; }", i)
    assert abs(sx - bb["width"] / 2) <= 11 and abs(sy - bb["height"] / 2) <= 11
    # off the surface (a corner of the panel): no value
    text, i = _readout_at(view_page, bb["x"] + 3, bb["y"] + 3)
    assert i == -1 and "Hover" in text


def test_readout_in_each_panel_of_a_grid(view_page):
    mol, mep, html = _view(MOLECULES["aspirin"], grid=True, height=340)
    canvas = _render(view_page, html)
    bb = canvas.bounding_box()
    y = bb["y"] + bb["height"] / 2
    t0, i0 = _readout_at(view_page, bb["x"] + bb["width"] / 4, y, index=0)
    t1, i1 = _readout_at(view_page, bb["x"] + 3 * bb["width"] / 4, y, index=1)
    assert i0 >= 0 and i1 >= 0, (t0, t1)
    # the second panel shows −V: its readout is the negated value at its own vertex
    v1 = float(t1.split("V = ")[1].split(" ")[0].replace("\u2212", "-"))
    assert v1 == pytest.approx(-mep.values[i1], abs=0.051)


@pytest.mark.parametrize("grid", [False, True], ids=["single", "grid"])
def test_png_export_at_print_resolution(view_page, grid):
    from PIL import Image
    mol, mep, html = _view(MOLECULES["aspirin"], grid=grid, height=340)
    canvas = _render(view_page, html)
    bb = canvas.bounding_box()
    with view_page.expect_download() as dl:
        view_page.locator(".mepviz-png").first.click()
    img = Image.open(dl.value.path()).convert("RGB")
    assert img.size[0] >= 3 * bb["width"] - 2 and img.size[1] >= 3 * bb["height"] - 2
    a = np.asarray(img).astype(int)
    assert ((a.max(axis=2) - a.min(axis=2)) > 25).sum() > 9 * 1000     # the coloured surface
    # the view on screen is back to its size and still framed
    assert canvas.bounding_box()["width"] == pytest.approx(bb["width"])
    assert _border_dirty(canvas.screenshot()) == 0
