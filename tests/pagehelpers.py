"""Shared helpers for the AppTest tests of the Compare, Batch and Learn pages."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "pages"
TIMEOUT = 180   # s per AppTest run: the first one loads torch and the models on a busy 2-core box


def weights_fixture(tmp_path_factory):
    """Use the shipped weights when present; otherwise write small random-weight models to
    a temporary folder and point MEPVIZ_WEIGHTS at it (the pages compare against the library
    itself, so any weights test the plumbing). Yields the weights folder."""
    _clear_caches()
    shipped = ROOT / "weights"
    if all((shipped / f"{m}.pt").exists() for m in ("dipole", "quadrupole")) \
            and not os.environ.get("MEPVIZ_WEIGHTS"):
        yield shipped
        return
    if os.environ.get("MEPVIZ_WEIGHTS"):
        yield Path(os.environ["MEPVIZ_WEIGHTS"])
        return
    import torch

    from mepviz.model import MultipoleNet, save_model
    folder = tmp_path_factory.mktemp("weights")
    for k, name in enumerate(("dipole", "quadrupole")):
        torch.manual_seed(k)
        save_model(MultipoleNet(features=16, layers=2, rbf=8), folder / name, {"note": "test weights"})
    mp = pytest.MonkeyPatch()
    mp.setenv("MEPVIZ_WEIGHTS", str(folder))
    try:
        yield folder
    finally:
        mp.undo()
        _clear_caches()


def _clear_caches():
    """Forget cached models and computations: st.cache_data keys do not include the weights,
    so results from another test module's weights must not leak in."""
    import streamlit as st

    from mepviz.predict import clear_cache
    st.cache_data.clear()
    st.cache_resource.clear()
    clear_cache()


def app(page: str):
    from streamlit.testing.v1 import AppTest
    return AppTest.from_file(str(PAGES / page), default_timeout=TIMEOUT)


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def no_exception(at) -> None:
    assert not at.exception, [e.message for e in at.exception]


def iframes(at) -> list:
    return list(at.get("iframe"))


def plotly_charts(at) -> list:
    return list(at.get("plotly_chart"))


def dataframe_with(at, column: str):
    """The value (a pandas DataFrame) of the first st.dataframe that has `column` (a column
    or an index label). AppTest does not expose the keys of read-only dataframes."""
    seen = []
    for d in at.dataframe:
        v = d.value
        if column in v.columns or column in list(v.index):
            return v
        seen.append(list(v.columns))
    raise AssertionError(f"no dataframe with {column!r}; have {seen}")
