"""Production server settings (.streamlit/config.toml) as Streamlit itself reads them."""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_production_settings():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["fileWatcherType"] == "none"         # no inotify over the repo and venv
    assert cfg["server"]["runOnSave"] is False
    assert cfg["client"]["showErrorDetails"] == "none"        # tracebacks go to the server log only
    assert cfg["server"]["enableStaticServing"] is True       # the vendored 3Dmol.js, offline
    assert cfg["browser"]["gatherUsageStats"] is False


def test_streamlit_accepts_them(monkeypatch):
    import os

    from streamlit import config
    monkeypatch.chdir(ROOT)
    os.environ.pop("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", None)
    config.get_config_options(force_reparse=True)
    try:
        assert config.get_option("client.showErrorDetails") == "none"
        assert config.get_option("server.fileWatcherType") == "none"
        assert config.get_option("server.runOnSave") is False
    finally:
        config.get_config_options(force_reparse=True)
