"""The uncertainty map (mepviz.ml.ensemble) and its calibration (train.evaluate.ensemble_calibration),
with a stand-in ensemble of shipped quadrupole weights (the real one is registry.ENSEMBLES)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mepviz.core import registry
from mepviz.core.paths import weights_dir

STAND_IN = ("quadrupole", "studies/seed1-quadrupole", "studies/seed2-quadrupole-qm9")


@pytest.fixture()
def stand_in(monkeypatch):
    if not all((weights_dir() / f"{m}.pt").exists() for m in STAND_IN):
        pytest.skip("stand-in weights not installed")
    monkeypatch.setitem(registry.ENSEMBLES, "quadrupole", STAND_IN)
    return [weights_dir() / m for m in STAND_IN]


def test_spread_and_calibration(stand_in):
    from mepviz.io import from_smiles
    from mepviz.ml.ensemble import calibration_rows, ensemble_members, ensemble_predictions, ensemble_spread
    from mepviz.surface.surfaces import surface_for
    from train.evaluate import ensemble_calibration
    from mepviz.report.metrics import load_test_set
    assert ensemble_members("quadrupole") == stand_in
    mol = from_smiles("CC(=O)O")
    preds = ensemble_predictions(mol, "quadrupole")
    surf = surface_for(mol, "isodensity")
    mean, spread = ensemble_spread(preds, surf.vertices)
    v = np.stack([p.mep(surf.vertices) for p in preds])
    assert spread == pytest.approx(v.std(0)) and mean == pytest.approx(v.mean(0)) and spread.max() > 0
    cal = ensemble_calibration(load_test_set(None, 4), stand_in)
    assert cal["n_molecules"] == 4 and -1 <= cal["spearman_points"] <= 1 and cal["mae"] > 0
    rows = calibration_rows({"uncertainty": {"quadrupole": cal}}, None, "quadrupole")
    assert rows[0]["Spearman ρ, points"] == cal["spearman_points"]
    assert ensemble_members("dipole") == []


def test_explore_uncertainty_panel(stand_in):
    """Explore shows the spread map (its own panel, opened on demand) of a model with an ensemble."""
    from streamlit.testing.v1 import AppTest

    from tests.apptest_support import APP, load_gallery
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page("pages/1_Explore.py").run()
    load_gallery(at, "acetic_acid")
    at.selectbox(key="w_model").select("quadrupole").run()
    at.session_state["explore_unc_open"] = True
    at.run()
    assert not at.exception and not at.error
    assert any('id="explore-uncertainty"' in f.proto.srcdoc for f in at.get("iframe"))
    assert any(c.value.startswith("Standard deviation of the MEP over the 3") for c in at.caption)
