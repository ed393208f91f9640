"""Playwright helpers for the MEPviz browser tests."""
from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"


def shot(page, name: str, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def smiles_box(page):
    return page.get_by_label("SMILES", exact=True)


def submit_smiles(page, smiles: str) -> float:
    """Type a SMILES into the sidebar box and press Enter; returns the submit time."""
    box = smiles_box(page)
    box.fill(smiles)
    t0 = time.perf_counter()
    box.press("Enter")
    return t0


def wait_summary(page, formula: str, timeout_s: float = 60):
    page.locator("[data-testid='stSidebar']").get_by_text(formula, exact=False).first.wait_for(
        timeout=timeout_s * 1000)


def goto_page(page, name: str, timeout_s: float = 30):
    """Click the sidebar navigation link `name` (client-side: the session state is kept)."""
    slug = name.replace(" ", "_")
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        wait_idle(page)
        page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=name, exact=True).first.click()
        for _ in range(30):
            # the path only: the query string carries the view (?smiles=…&model=…)
            if urlparse(page.url).path.rstrip("/").endswith("/" + slug):
                return
            time.sleep(0.1)
    raise AssertionError(f"could not navigate to {name}; url {page.url}")


def view_frames(page) -> list:
    """Frames that hold a MEPviz 3D view (srcdoc iframes).

    Found through the iframe elements (``content_frame``): ``page.frames`` can lag behind
    newly created srcdoc iframes."""
    out = []
    for h in page.query_selector_all("iframe"):
        try:
            f = h.content_frame()
            if f is not None and f.evaluate("() => !!document.querySelector('.mepviz-view')"):
                out.append(f)
        except Exception:  # noqa: BLE001 — detached frame during a rerun
            pass
    return out


def view_info(frame) -> dict | None:
    try:
        return frame.evaluate("""() => { const v = document.querySelector('.mepviz-view');
            if (!v) return null;
            return {formula: v.dataset.formula, vertices: +v.dataset.vertices,
                    rendered: !!window.mepvizRendered && !!window.$3Dmol, text: v.innerText,
                    canvas: !!v.querySelector('canvas')}; }""")
    except Exception:  # noqa: BLE001
        return None


def wait_rendered_view(page, formula: str, with_surface: bool = True, timeout_s: float = 180,
                       poll_s: float = 0.05):
    """Wait until a view of `formula` has rendered (3Dmol.js drew it); returns (frame, time)."""
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        for f in view_frames(page):
            info = view_info(f)
            if info and info["formula"] == formula and info["rendered"] and info["canvas"] \
                    and (info["vertices"] > 0 or not with_surface):
                return f, time.perf_counter()
        time.sleep(poll_s)
    shot(page, f"FAILED_view_{formula}")
    seen = [view_info(f) for f in view_frames(page)]
    for f in page.frames:
        try:
            print("FRAME", f.url, f.is_detached(), f.evaluate(
                "() => [document.readyState, typeof $3Dmol, typeof $3Dmolpromise, window.mepvizRendered, "
                "document.body ? document.body.innerHTML.length : -1, "
                "Array.from(document.scripts).map(s => s.src).join(',')]"))
        except Exception as exc:  # noqa: BLE001
            print("FRAME", f.url, "error", exc)
    raise AssertionError(f"no rendered 3D view of {formula} within {timeout_s} s; views: "
                         f"{[{k: v for k, v in (i or {}).items() if k != 'text'} for i in seen]}")


def canvas_pixels(frame, name: str | None = None) -> np.ndarray:
    """Screenshot of the view's WebGL canvas as an (H, W, 3) uint8 array (saved as PNG)."""
    from PIL import Image
    png = frame.locator("canvas").first.screenshot()
    if name:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{name}.png").write_bytes(png)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def colour_stats(img: np.ndarray) -> dict:
    """Fractions of non-white, reddish and bluish pixels."""
    a = img.astype(int)
    r, g, b = a[..., 0], a[..., 1], a[..., 2]
    nonwhite = (a.sum(-1) < 3 * 245)
    red = (r > b + 25) & (r > g + 15)
    blue = (b > r + 25)
    n = a.shape[0] * a.shape[1]
    return {"nonwhite": float(nonwhite.sum() / n), "red": float(red.sum() / n),
            "blue": float(blue.sum() / n)}


def colour_bands(img: np.ndarray, bands: int = 5, min_share: float = 0.05) -> int:
    """How many of `bands` equal parts of the red–white–blue map hold at least `min_share` of
    the surface's pixels: each non-background pixel is matched, brightness-normalised (the
    shading only darkens), to the nearest colour of the map."""
    from mepviz.surface.colors import mep_colors
    t = np.linspace(-1, 1, 201)
    ref = mep_colors(t, 1.0).astype(float)
    ref /= ref.max(axis=1, keepdims=True)
    px = img.reshape(-1, 3).astype(float)
    # not the white background; not dark pixels (marker spheres and labels, silhouette edges)
    keep = (px.max(1) > 120) & ~((px > 248).all(1))
    px = px[keep]
    sat = px.max(1) - px.min(1)
    px = px[(sat > 8) | (px.min(1) > 200)]                     # grey sticks/text are not the map
    if not len(px):
        return 0
    px /= px.max(axis=1, keepdims=True)
    k = np.argmin(((px[:, None, :] - ref[None, :, :]) ** 2).sum(-1), axis=1)
    band = np.minimum(((t[k] + 1) / 2 * bands).astype(int), bands - 1)
    share = np.bincount(band, minlength=bands) / len(band)
    return int((share >= min_share).sum())


def wait_idle(page, timeout_s: float = 60):
    """Wait until Streamlit's 'running' indicator is gone."""
    deadline = time.time() + timeout_s
    time.sleep(0.2)
    while time.time() < deadline:
        if page.locator("[data-testid='stStatusWidget']").count() == 0:
            return
        time.sleep(0.1)


# --------------------------------------------------------------------------- server, views
def free_port() -> int:
    """A free local TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_streamlit(env: dict, log, timeout_s: float = 90) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on a free local port, its output to the open file `log`; returns
    (process, base URL) once /_stcore/health answers (RuntimeError if it exits or stays silent)."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
           "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=str(ROOT), env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early (code {proc.returncode}); see {log.name}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"streamlit did not become healthy within {timeout_s:g} s")


def frame_with(page, selector: str, timeout_s: float = 120, poll_s: float = 0.1):
    """The iframe whose document holds `selector` once 3Dmol.js has drawn it (AssertionError after
    `timeout_s`)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for h in page.query_selector_all("iframe"):
            try:
                f = h.content_frame()
                if f is not None and f.evaluate(
                        f"() => !!document.querySelector({selector!r}) && !!window.mepvizRendered"):
                    return f
            except Exception:  # noqa: BLE001 - frames come and go during reruns
                pass
        time.sleep(poll_s)
    raise AssertionError(f"no rendered view {selector} within {timeout_s} s")
