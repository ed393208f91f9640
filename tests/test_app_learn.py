"""AppTest tests of the Learn page (pages/4_Learn.py)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.pagehelpers import app, dataframe_with, iframes, no_exception, plotly_charts, texts, weights_fixture

PAGE = "4_Learn.py"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    yield from weights_fixture(tmp_path_factory)


def fresh():
    at = app(PAGE)
    at.run()
    no_exception(at)
    return at


def test_empty_page_offers_examples(weights):
    at = fresh()
    assert any("Pick an example" in s for s in texts(at.info))
    assert {b.key for b in at.button} >= {"learn_ex_water", "learn_ex_acetate"}
    assert not at.error and not iframes(at)


def test_acetate_orders_and_decay(weights):
    from mepviz.inputs import from_smiles
    from mepviz.predict import predict_mep_map
    at = fresh()
    at.button(key="learn_ex_acetate").click().run()
    no_exception(at)
    assert not at.error
    assert len(iframes(at)) == 3                       # charges | + dipoles | + quadrupoles
    orders = dataframe_with(at, "terms")
    assert list(orders["terms"]) == ["charges only", "charges + atomic dipoles",
                                     "charges + atomic dipoles + atomic quadrupoles"]
    mol = from_smiles("CC(=O)[O-]")
    for k in range(3):
        st = predict_mep_map(mol, "quadrupole", "isodensity", order=k).statistics
        assert orders["V_s,min (kcal/mol/e)"].iloc[k] == pytest.approx(st["v_min"], abs=1e-6)
    assert orders.iloc[2, 3] == 0.0                   # full vs full
    # all three views on one colour scale
    bars = [f.proto.srcdoc[f.proto.srcdoc.index("mepviz-colorbar"):] for f in iframes(at)]
    assert bars[0] == bars[1] == bars[2]
    slopes = dataframe_with(at, "measured log–log slope")
    s = dict(zip(slopes["expected"], slopes["measured log–log slope"]))
    assert s["−1"] == pytest.approx(-1, abs=1e-6)      # monopole of an anion: 1/r
    assert s["−2"] == pytest.approx(-2, abs=1e-6)
    assert s["−3"] == pytest.approx(-3, abs=1e-6)
    assert len(plotly_charts(at)) == 1
    assert [b.key for b in at.download_button] == ["learn_csv"]
    assert any("total charge -1" in t for t in texts(at.info))


def test_line_options(weights):
    at = fresh()
    at.button(key="learn_ex_water").click().run()
    names = [tr["name"] for tr in __import__("json").loads(plotly_charts(at)[0].proto.spec)["data"]]
    assert not any("molecular charge" in n for n in names)   # neutral: no monopole curve
    assert any("neutral" in t for t in texts(at.info))
    at.checkbox(key="learn_loglog").uncheck().run()
    at.selectbox(key="learn_direction").set_value("z").run()
    at.radio(key="learn_model").set_value("dipole").run()
    no_exception(at)
    assert len(plotly_charts(at)) == 1 and not at.error
    at.select_slider(key="learn_range").set_value((5, 5)).run()
    no_exception(at)
    assert any("end is beyond its start" in w for w in texts(at.warning))
    at.select_slider(key="learn_range").set_value((2, 100)).run()
    assert len(plotly_charts(at)) == 1 and not at.warning


def test_unsupported_element_then_recovery(weights):
    at = fresh()
    at.text_input(key="smiles_input").set_value("[SiH4]").run()
    no_exception(at)
    errs = texts(at.error)
    assert errs and "cannot handle this molecule" in errs[0] and "Si" in errs[0]
    assert not iframes(at)
    at.text_input(key="smiles_input").set_value("C1CC").run()     # unclosed ring
    assert any(e.startswith("Input problem") for e in texts(at.error))
    at.button(key="learn_ex_carbon dioxide").click().run()
    no_exception(at)
    assert not at.error and len(iframes(at)) == 3


def test_junk_upload_in_sidebar_keeps_page_working(weights):
    at = fresh()
    at.button(key="learn_ex_water").click().run()
    at.file_uploader(key="mol_upload").set_value(("junk.sdf", b"\x00\xff" * 300, "text/plain")).run()
    no_exception(at)
    errs = texts(at.error)
    assert errs and errs[0].startswith("Input problem") and "junk.sdf" in errs[0]
    assert len(iframes(at)) == 3 and len(plotly_charts(at)) == 1
