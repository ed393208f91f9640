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


def _views(at, lid: str) -> list[str]:
    return [f.proto.srcdoc for f in iframes(at) if f'id="lesson-{lid}-' in f.proto.srcdoc]


def _bars(view: str) -> list[str]:
    """The colour bars of a view (the gradient, its labels and zero mark; not the title)."""
    return [b.split("text-align:center")[0] for b in view.split('class="mepviz-colorbar"')[1:]]


def test_contrast_on_one_scale_and_navigation(weights):
    at = _lesson("phenol-phenoxide", lecture=True)
    views = _views(at, "phenol-phenoxide")
    assert len(views) == 1                                  # both molecules in ONE view: 3Dmol.js loads once
    assert 'data-panels="2"' in views[0] and views[0].count("3Dmol-min.js") == 1
    assert 'data-formula="C6H6O,C6H5O"' in views[0]
    assert len(_bars(views[0])) == 1                        # one colour scale for both molecules
    assert "control_all: false" in views[0]                 # each molecule rotates on its own
    at.button(key="lesson_next").click().run()
    assert at.query_params["lesson"] in ("aniline-nitrobenzene", ["aniline-nitrobenzene"])
    assert at.query_params["lecture"] in ("1", ["1"])


def test_contrast_colours_as_two_separate_views(weights):
    """Each panel of the shared view carries the colours (and readout values) its molecule
    would get in a view of its own on the same scale."""
    import json
    import re

    from appkit import compute, lessons
    from mepviz.core import registry
    from mepviz.report import views as mviews
    from mepviz.report.learn import LESSONS
    from mepviz.surface.colors import color_scale
    lesson = LESSONS["phenol-phenoxide"]
    html = _views(_lesson(lesson.id), lesson.id)[0]
    models = lessons.lesson_models()
    model = registry.DEFAULT_MODEL if registry.DEFAULT_MODEL in models else models[-1]
    maps = [compute.mep_map(lessons._molecule(smi, label), model, "isodensity") for label, smi in lesson.molecules]
    sc = color_scale(*(m.values for m in maps), rule=lesson.scale, charge=1)
    colours = re.compile(r"CS=(\[\[[^\]]*\]\])")
    got = colours.findall(html)
    assert len(got) == 2
    for panel, mp in zip(got, maps):
        alone = mviews.mep_view_html(mp.prediction.molecule, mp.surface, mp.values, vmax=sc.half_width,
                                     center=sc.center)
        assert json.loads(panel) == json.loads(colours.search(alone).group(1))


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
    views = _views(at, "phenol-phenoxide")
    bars = _bars(views[0])
    assert len(views) == 1 and len(bars) == 2 and "mepviz-zero" in bars[1]   # the anion's bar marks where 0 lies


def test_lesson_scale_choice_in_the_link(weights):
    """The contrast lesson's colour-scale choice travels in the link (lesson_scale=) and is
    restored from it; the default (one shared scale) keeps the link short."""
    at = app("4_Learn.py")
    at.query_params["lesson"] = "phenol-phenoxide"
    at.query_params["lesson_scale"] = "own"
    at.run()
    no_exception(at)
    assert at.radio(key="lesson_scale").value == "own"
    bars = _bars(_views(at, "phenol-phenoxide")[0])
    assert len(bars) == 2 and bars[0] != bars[1]                  # each its own scale
    at.radio(key="lesson_scale").set_value("shared-minmax").run()
    assert at.query_params["lesson_scale"] in ("shared-minmax", ["shared-minmax"])
    at.radio(key="lesson_scale").set_value("shared").run()
    assert "lesson_scale" not in at.query_params


def test_lesson_predictions_match_the_installed_weights():
    """Every lesson molecule × installed model: the stored prediction is the live one (if this
    fails after retraining, run `python -m appkit.gallery --lesson-predictions`)."""
    from appkit import gallery
    from mepviz.ml.cards import installed_models
    from tests.test_stored_predictions import stored_matches_live
    if not installed_models():
        pytest.skip("no weights installed")
    checked = sum(stored_matches_live(mol, model, mol.name or mol.formula)
                  for mol in gallery.lesson_molecules() for model in installed_models())
    assert checked >= 20


def test_a_lesson_opens_without_pytorch():
    """A fresh process renders a contrast lesson and the σ-hole lesson from their links without
    importing torch: the multipoles come from the stored lesson predictions."""
    import subprocess
    import sys
    from pathlib import Path

    from appkit import gallery
    from mepviz.core import registry
    if gallery.shipped_prediction(gallery.lesson_molecules()[0], registry.DEFAULT_MODEL) is None:
        pytest.skip("the stored lesson predictions are not for the installed weights")
    page = Path(__file__).resolve().parents[1] / "pages" / "4_Learn.py"
    code = ("import sys\n"
            "from streamlit.testing.v1 import AppTest\n"
            "for lid in ('phenol-phenoxide', 'sigma-hole'):\n"
            f"    at = AppTest.from_file({str(page)!r}, default_timeout=120)\n"
            "    at.query_params['lesson'] = lid\n"
            "    at.run()\n"
            "    assert not at.exception, at.exception\n"
            "    assert any('id=\"lesson-' in f.proto.srcdoc for f in at.get('iframe')), lid\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=str(page.parents[1]))
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
