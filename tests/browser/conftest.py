"""Fixtures for the real-browser tests: a `streamlit run app.py` server on 127.0.0.1 and
Debian's chromium driven by Playwright (never `playwright install`).

Without /usr/bin/chromium (or Playwright) these tests skip, unless MEPVIZ_REQUIRE_BROWSER=1
(CI), where they fail instead. Screenshots go to artifacts/browser/ (gitignored).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.helpers import start_streamlit

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM = os.environ.get("MEPVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _require() -> bool:
    return os.environ.get("MEPVIZ_REQUIRE_BROWSER", "") == "1"


def _unavailable(reason: str):
    if _require():
        pytest.fail(f"browser tests required (MEPVIZ_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_env(tmp_path_factory):
    """Environment for the server: weights (shipped or untrained placeholders), private DFT cache."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        _unavailable(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is not installed")
    sys.path.insert(0, str(ROOT))
    from tests.apptest_support import ensure_weights
    root = tmp_path_factory.mktemp("mepviz_browser")
    env = dict(os.environ)
    env["MEPVIZ_WEIGHTS"] = ensure_weights(root)
    env["MEPVIZ_CACHE"] = str(root / "dft-cache")
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("MKL_NUM_THREADS", "1")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def server(browser_env):
    """A running `streamlit run app.py` on a free local port; yields its base URL."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = open(ARTIFACTS / "streamlit-server.log", "w")
    proc, url = start_streamlit(browser_env, log)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser(browser_env):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:  # noqa: BLE001
            _unavailable(f"chromium could not be started: {exc}")
        yield b
        b.close()


def attach_console_log(pg, name: str):
    """Collect console messages and page errors of `pg` (saved to artifacts/browser/console-<name>.log)."""
    lines = []
    pg.on("console", lambda m: lines.append(f"{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: lines.append(f"PAGEERROR: {e}"))
    return lines


def console_errors(lines: list[str]) -> list[str]:
    """The errors among collected console lines: console.error calls and uncaught exceptions."""
    return [x for x in lines if x.startswith(("error:", "PAGEERROR"))]


@pytest.fixture()
def page(browser, server, request):
    # tall viewport: Streamlit scrolls inside its own container, so full-page screenshots
    # only show the viewport; this one fits the whole Explore page
    ctx = browser.new_context(viewport={"width": 1500, "height": 2600})
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)
    lines = attach_console_log(pg, request.node.name)
    pg.mepviz_console = lines          # read by tests that assert a clean console
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"console-{request.node.name}.log").write_text(
        "\n".join(x for x in lines if "Unrecognized feature" not in x) + "\n")
    ctx.close()
