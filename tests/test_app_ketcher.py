"""appkit.ketcher: the served copy of streamlit-ketcher's frontend sets window.ketcher in onInit
(the browser check is tests/browser/test_browser_app.py::test_drawing_editor_loads_without_console_errors)."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    from appkit import ketcher
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    ketcher.patched_frontend.cache_clear()
    yield tmp_path
    ketcher.patched_frontend.cache_clear()


def test_patched_copy_of_the_installed_frontend(fresh_cache):
    pytest.importorskip("streamlit_ketcher")
    import streamlit_ketcher

    from appkit import ketcher
    folder = ketcher.patched_frontend()
    assert folder is not None and folder.parent == fresh_cache / "mepviz"
    src = Path(streamlit_ketcher.__file__).parent / "frontend"
    want = {p.relative_to(src) for p in src.rglob("*") if p.is_file() and p.suffix != ".map"}
    got = {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}
    assert got == want
    [main] = (folder / "static" / "js").glob("main.*.js")
    code = main.read_text()
    assert code.count(ketcher.PATCH_TO) == 1 and ketcher.PATCH_FROM not in code
    assert code.replace(ketcher.PATCH_TO, ketcher.PATCH_FROM) == (src / main.relative_to(folder)).read_text()
    for rel in want - {main.relative_to(folder)}:
        assert (folder / rel).read_bytes() == (src / rel).read_bytes()
    ketcher.patched_frontend.cache_clear()
    assert ketcher.patched_frontend() == folder            # built once, reused


def test_unknown_package_code_falls_back_to_stock(fresh_cache, monkeypatch):
    pytest.importorskip("streamlit_ketcher")
    from appkit import ketcher
    monkeypatch.setattr(ketcher, "PATCH_FROM", "no such code")
    assert ketcher.patched_frontend() is None
