"""Shared helpers for the Streamlit AppTest tests (tests/test_app_*.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
EXPLORE = "pages/1_Explore.py"


def ensure_weights(tmp_root: Path) -> str:
    """Directory with model weights: the shipped weights/ when present, else untrained
    placeholders (same architecture) so the UI tests run before training has finished.
    The tests compare the app with the library, so they hold for any weights."""
    shipped = ROOT / "weights"
    if (shipped / "quadrupole.pt").exists() and (shipped / "dipole.pt").exists():
        return str(shipped)
    import torch

    from mepviz.model import MultipoleNet, save_model
    out = tmp_root / "weights"
    for seed, name in enumerate(("dipole", "quadrupole")):
        torch.manual_seed(seed)
        save_model(MultipoleNet(), str(out / name), {"name": name, "note": "untrained test placeholder"})
    return str(out)


@pytest.fixture(scope="session")
def app_env(tmp_path_factory):
    """Weights + a private DFT cache for the whole test session."""
    root = tmp_path_factory.mktemp("mepviz_app")
    old = {k: os.environ.get(k) for k in ("MEPVIZ_WEIGHTS", "MEPVIZ_CACHE")}
    os.environ["MEPVIZ_WEIGHTS"] = ensure_weights(root)
    os.environ["MEPVIZ_CACHE"] = str(root / "dft-cache")
    from mepviz.predict import clear_cache
    clear_cache()
    yield root
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def new_app(page: str | None = None):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def errors(at) -> list[str]:
    return [e.value for e in at.error]


def no_exceptions(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def iframes(at) -> list:
    return at.get("iframe")


def iframe_html(el) -> str:
    return el.proto.srcdoc


def live_views(at) -> list[dict]:
    """Specs (mepviz.views.mep_view_spec) of the persistent 3D viewer components on the page."""
    import json
    out = []
    for el in at.get("component_instance"):
        if el.proto.component_name.endswith("mepviz_viewer"):
            out.append(json.loads(el.proto.json_args)["spec"])
    return out


def sidebar_summary(at) -> str:
    return " ".join(m.value for m in at.sidebar.markdown if "atoms" in m.value)


def enter_smiles(at, smiles: str):
    """Type `smiles` into the sidebar box and submit its form (what Enter does in the browser)."""
    at.sidebar.text_input(key="smiles_input").input(smiles)
    at.sidebar.button(key="smiles_load").click().run()
    return at


def load_gallery(at, gid: str):
    at.sidebar.selectbox(key="gallery_pick").select(gid)
    at.sidebar.button(key="gallery_load").click().run()
    return at


def upload(at, name: str, content: bytes):
    at.file_uploader(key="mol_upload").upload(name, content).run()
    return at


def metric_value(at, label_start: str) -> str:
    for m in at.metric:
        if m.label.startswith(label_start):
            return m.value
    raise AssertionError(f"no metric {label_start!r}: {[m.label for m in at.metric]}")
