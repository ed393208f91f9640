"""AppTest of the Learn page's lessons (appkit.lessons): opened from their URL, molecules side
by side on one colour scale, the σ-hole cap table recomputed from the stored DFT points."""
from __future__ import annotations

import pytest

from tests.pagehelpers import app, dataframe_with, iframes, no_exception, weights_fixture


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    yield from weights_fixture(tmp_path_factory)


def _lesson(lid: str, lecture: bool = False):
    at = app("4_Learn.py")
    at.query_params["lesson"] = lid
    if lecture:
        at.query_params["lecture"] = "1"
    at.run()
    no_exception(at)
    return at


def test_contrast_on_one_scale_and_navigation(weights):
    at = _lesson("phenol-phenoxide", lecture=True)
    views = [f.proto.srcdoc for f in iframes(at) if 'id="lesson-phenol-phenoxide-' in f.proto.srcdoc]
    assert len(views) == 2
    bars = [v[v.index("mepviz-colorbar"):].split("text-align:center")[0] for v in views]
    assert bars[0] == bars[1]                              # one colour scale for both molecules
    at.button(key="lesson_next").click().run()
    assert at.query_params["lesson"] in ("aniline-nitrobenzene", ["aniline-nitrobenzene"])
    assert at.query_params["lecture"] in ("1", ["1"])


def test_sigma_hole_caps_from_the_stored_dft(weights):
    from mepviz.core.paths import project_file
    path = project_file("data/newchem/sigma_hole.npz")
    if not path.is_file():
        pytest.skip("no stored σ-hole references")
    from mepviz.report.metrics import load_test_set
    from mepviz.surface.extrema import halogen_caps
    at = _lesson("sigma-hole")
    caps = dataframe_with(at, "DFT (kcal/mol/e)")
    refs = {t.mol.name: t for t in load_test_set(path)}
    for _, row in caps.iterrows():
        t = refs[row["molecule"]]
        site = halogen_caps(t.mol.numbers, t.mol.positions, t.iso_points)[0]
        assert row["DFT (kcal/mol/e)"] == pytest.approx(site.value(t.iso_esp))
    assert set(caps["molecule"]) == {"CF3Cl", "chlorobenzene", "iodobenzene"}
    assert any('id="lesson-sigma-CF3Cl"' in f.proto.srcdoc for f in iframes(at))


def test_own_scales_for_structure_within_an_ion(weights):
    at = _lesson("phenol-phenoxide")
    at.radio(key="lesson_scale").set_value("own").run()
    no_exception(at)
    views = [f.proto.srcdoc for f in iframes(at) if 'id="lesson-phenol-phenoxide-' in f.proto.srcdoc]
    assert len(views) == 2 and "mepviz-zero" in views[1]        # the anion's bar marks where 0 lies


def test_lesson_scale_choice_in_the_link(weights):
    """The contrast lesson's colour-scale choice travels in the link (lesson_scale=) and is
    restored from it; the default (one shared scale) keeps the link short."""
    at = app("4_Learn.py")
    at.query_params["lesson"] = "phenol-phenoxide"
    at.query_params["lesson_scale"] = "own"
    at.run()
    no_exception(at)
    assert at.radio(key="lesson_scale").value == "own"
    views = [f.proto.srcdoc for f in iframes(at) if 'id="lesson-phenol-phenoxide-' in f.proto.srcdoc]
    bars = [v[v.index("mepviz-colorbar"):].split("text-align:center")[0] for v in views]
    assert len(bars) == 2 and bars[0] != bars[1]                  # each its own scale
    at.radio(key="lesson_scale").set_value("shared-minmax").run()
    assert at.query_params["lesson_scale"] in ("shared-minmax", ["shared-minmax"])
    at.radio(key="lesson_scale").set_value("shared").run()
    assert "lesson_scale" not in at.query_params
