"""AppTest tests of the Compare models page (pages/2_Compare_models.py)."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from mepviz import metrics, registry
from tests.apptest_support import enter_smiles
from tests.pagehelpers import (app, dataframe_with, iframes, no_exception, plotly_charts, texts,
                               weights_fixture)

PAGE = "2_Compare_models.py"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    yield from weights_fixture(tmp_path_factory)


@pytest.fixture()
def no_evaluation(monkeypatch, tmp_path):
    monkeypatch.setenv("MEPVIZ_EVALUATION_JSON", str(tmp_path / "missing.json"))


def _n() -> int:
    """How many models the page compares (the paper's pair, then the default model)."""
    from appkit.compute import compare_models
    return len(compare_models())


def fresh():
    at = app(PAGE)
    at.run()
    no_exception(at)
    return at


def smiles(at, s: str):
    enter_smiles(at, s)
    no_exception(at)
    return at


def test_empty_page(weights, no_evaluation):
    at = app(PAGE)
    at.run()
    no_exception(at)
    info = " ".join(texts(at.info))
    assert "Pick an example" in info
    assert "evaluation has not been run yet" in info
    assert not at.error


def test_two_models_side_by_side(weights, no_evaluation):
    from mepviz.inputs import from_smiles
    from mepviz.predict import get_predictor, predict_mep_map
    from appkit.compute import compare_models
    models = compare_models()                         # the paper's pair, then the default model
    at = smiles(fresh(), "O")
    assert not at.error
    assert len(iframes(at)) == len(models) + 1        # one view per model + the pair's difference
    table = dataframe_with(at, "|μ| (D)")
    assert list(table.columns) == [registry.short_model_label(m) for m in models]
    mol = from_smiles("O")
    for col, model in zip(table.columns, registry.PAPER_PAIR):
        pred = get_predictor(model).predict(mol)
        assert table.loc["|μ| (D)", col] == pytest.approx(pred.dipole_magnitude_debye, abs=1e-6)
        np.testing.assert_allclose(table.loc[["Θ₁ (D·Å)", "Θ₂ (D·Å)", "Θ₃ (D·Å)"], col],
                                   pred.quadrupole_eigenvalues(debye=True), atol=1e-6)
        stats = predict_mep_map(mol, model, "isodensity").statistics
        assert table.loc["V_s,min (kcal/mol/e)", col] == pytest.approx(stats["v_min"], abs=1e-6)
    assert any("No DFT reference for this molecule yet" in s for s in texts(at.info))
    assert "compare_dft_start" in [b.key for b in at.button]     # "Compute DFT reference"
    diff = (predict_mep_map(mol, "quadrupole", "isodensity").values
            - predict_mep_map(mol, "dipole", "isodensity").values)
    assert [m.value for m in at.metric][:2] == [f"{np.abs(diff).mean():.3g}", f"{np.abs(diff).max():.3g}"]
    # both views share one colour range: the same colour-bar limits in both iframes
    html = [f.proto.srcdoc for f in iframes(at)][:2]
    bars = [h[h.index("mepviz-colorbar"):] for h in html]
    assert bars[0] == bars[1]
    # switching the unit converts the potentials in the table
    at.selectbox(key="w_unit").set_value("kJ/mol/e").run()
    no_exception(at)
    t2 = dataframe_with(at, "V_s,min (kJ/mol/e)")
    assert t2.loc["V_s,min (kJ/mol/e)", "Quadrupole model"] == pytest.approx(
        4.184 * table.loc["V_s,min (kcal/mol/e)", "Quadrupole model"])


def test_reference_panels_and_errors(weights, no_evaluation, monkeypatch):
    """With a (stand-in) DFT reference: three panels, error maps, metrics, parity plot."""
    from appkit import compute
    from mepviz.predict import predict_mep_map

    def fake_values(mol, kind="isodensity"):
        return predict_mep_map(mol, "quadrupole", kind).values + 1.0   # quadrupole model off by −1

    def fake_result(mol):
        return SimpleNamespace(center_of_mass=mol.center_of_mass, method="b3lyp", basis="6-31g(2df,p)",
                               dipole_about=lambda o: np.array([0.0, 0.0, 0.4]),
                               quadrupole=np.diag([0.1, 0.2, -0.3]))

    monkeypatch.setattr(compute, "reference_values", fake_values)
    monkeypatch.setattr(compute, "reference_result", fake_result)
    from appkit.compute import compare_models
    n = len(compare_models())
    at = smiles(fresh(), "C=O")
    assert not at.error
    assert len(iframes(at)) == 2 * n + 1              # n models + DFT, n error maps
    table = dataframe_with(at, "|μ| (D)")
    assert table.loc["|μ| (D)", "DFT reference"] == pytest.approx(0.4 * 4.80320)
    np.testing.assert_allclose(table.loc[["Θ₁ (D·Å)", "Θ₂ (D·Å)", "Θ₃ (D·Å)"], "DFT reference"],
                               np.array([-0.3, 0.1, 0.2]) * 4.80320)
    metrics = dataframe_with(at, "MAE")
    assert metrics.loc["Quadrupole model", "MAE"] == pytest.approx(1.0)
    assert metrics.loc["Quadrupole model", "mean error"] == pytest.approx(-1.0)
    assert len(plotly_charts(at)) == 1                # parity plot


def test_gallery_molecule_with_shipped_reference(weights, no_evaluation):
    """Gallery molecules ship their DFT reference: the errors appear at once."""
    from appkit import gallery
    from mepviz.predict import make_surface, predict_mep_map
    if gallery.reference_for(gallery.load("water")) is None:
        pytest.skip("the gallery has no shipped reference for water")
    at = fresh()
    at.selectbox(key="gallery_pick").set_value("water")
    at.button(key="gallery_load").click().run()
    no_exception(at)
    assert not at.error
    assert len(iframes(at)) == 2 * _n() + 1           # models + DFT, error maps
    mol = gallery.load("water")
    surf = make_surface(mol, "isodensity")
    ref = gallery.precomputed_values(mol, "isodensity", surf)
    if ref is None:
        ref = gallery.reference_for(mol).mep(surf.vertices)
    metrics = dataframe_with(at, "MAE")
    for label, model in (("Dipole model", "dipole"), ("Quadrupole model", "quadrupole")):
        values = predict_mep_map(mol, model, surf).values
        assert metrics.loc[label, "MAE"] == pytest.approx(np.abs(values - ref).mean(), rel=1e-6)
    table = dataframe_with(at, "|μ| (D)")
    ref_mu = np.linalg.norm(gallery.reference_for(mol).dipole) * 4.80320
    assert table.loc["|μ| (D)", "DFT reference"] == pytest.approx(ref_mu, rel=1e-6)
    assert 1.7 < ref_mu < 2.3                          # water, B3LYP: about 2 D


def test_unsupported_element_then_recovery(weights, no_evaluation):
    at = smiles(fresh(), "[SiH4]")
    errs = texts(at.error)
    assert errs and "do not support Si" in errs[0].replace("\\", "")
    assert not iframes(at)
    smiles(at, "not_a_smiles((")                      # bad SMILES: input error, molecule kept
    assert any(e.startswith("Input problem") for e in texts(at.error))
    smiles(at, "CO")
    assert not at.error and len(iframes(at)) == _n() + 1


SAMPLE = Path(__file__).resolve().parent / "data" / "evaluation_sample.json"   # train/evaluate.py -n 6


def test_dataset_results(weights, monkeypatch):
    monkeypatch.setenv("MEPVIZ_EVALUATION_JSON", str(SAMPLE))
    doc = json.loads(SAMPLE.read_text())
    at = fresh()
    overall = dataframe_with(at, "μ vector MAE (D)")
    order = doc["method_order"]
    assert order[:2] == ["dipole", "quadrupole"] and "gasteiger" in order and "esp-fit-charges" in order
    assert list(overall["method"]) == [metrics.METHOD_SHORT[n] for n in order]
    results = {**doc["models"], **doc["baselines"]}
    np.testing.assert_allclose(overall["MAE"], [results[n]["mep"]["overall"]["mae"] for n in order])
    cards = dataframe_with(at, "fitted to (loss)")
    from appkit.compute import compare_models
    assert list(cards.columns) == [registry.short_model_label(m) for m in compare_models()]
    keys = [c.key for c in plotly_charts(at)]
    assert {"eval_bar", "eval_shells", "eval_orders", "eval_hist", "eval_permol", "eval_permol_pair"} <= set(keys)
    def hist_traces():
        chart = next(c for c in plotly_charts(at) if c.key == "eval_hist")
        return [t["name"] for t in json.loads(chart.proto.spec)["data"]]
    assert hist_traces() == ["ML dipole model", "ML quadrupole model"]
    at.checkbox(key="eval_hist_baselines").check().run()
    assert len(hist_traces()) == len(order)
    n = doc["test_set"]["n_molecules"]
    assert any(f"of {n}** molecules" in m.value for m in at.caption) or \
        any(f"of {n} molecules" in m.value for m in at.caption)


def test_evaluation_without_results(weights, monkeypatch, tmp_path):
    path = tmp_path / "evaluation.json"
    path.write_text(json.dumps({"description": "nothing yet", "models": {}}))
    monkeypatch.setenv("MEPVIZ_EVALUATION_JSON", str(path))
    at = fresh()
    assert any("holds no MEP results" in w for w in texts(at.warning))


def test_broken_evaluation_file(weights, monkeypatch, tmp_path):
    path = tmp_path / "evaluation.json"
    path.write_text("{broken")
    monkeypatch.setenv("MEPVIZ_EVALUATION_JSON", str(path))
    at = app(PAGE)
    at.run()
    no_exception(at)
    assert any("evaluation results cannot be read" in e for e in texts(at.error))


def test_junk_upload_in_sidebar_keeps_page_working(weights, no_evaluation):
    at = smiles(fresh(), "CO")
    at.file_uploader(key="mol_upload").set_value(("junk.xyz", bytes(range(256)) * 8, "text/plain")).run()
    no_exception(at)
    errs = texts(at.error)
    assert errs and errs[0].startswith("Input problem") and "junk.xyz" in errs[0]
    assert len(iframes(at)) == _n() + 1               # the previous molecule is still shown


def test_ion_scale_selector_shared_by_every_panel(weights, no_evaluation):
    """An ion on Compare: the colour-scale rule is a visible selector (the shared setting kept in
    the URL as scale=); automatic gives the anion a min–max scale (every value negative), and
    every panel follows the one rule chosen."""
    at = smiles(fresh(), "CC(=O)[O-]")
    sel = at.selectbox(key="w_scale")
    assert sel.value == "auto" and len(sel.options) == 4       # automatic, symmetric, min–max, mean
    cap = " ".join(c.value for c in at.caption if "share one colour scale" in c.value)
    assert "min–max colour range" in cap and "every value is negative" in cap, cap
    assert at.query_params.get("scale") in ("auto", ["auto"])
    sel.set_value("symmetric").run()
    no_exception(at)
    cap = " ".join(c.value for c in at.caption if "share one colour scale" in c.value)
    assert "colour range ±" in cap and "white = 0" in cap, cap
    assert at.query_params.get("scale") in ("symmetric", ["symmetric"])


def test_uncertainty_calibration_read_from_the_evaluation_files(weights, monkeypatch, tmp_path):
    """Compare's test-set tab shows the uncertainty map's calibration per test set as the
    evaluation files write it ("uncertainty", train.evaluate.ensemble_calibration), and says
    when it has not been measured."""
    from mepviz.core import registry
    from mepviz.core.paths import evaluation_path
    from mepviz.report import claims
    qm9, sets = claims.load_documents()
    if qm9 is None:
        pytest.skip("no evaluation files")
    model = next(iter(registry.ENSEMBLES))
    cal = {"members": list(registry.ENSEMBLES[model]), "n_molecules": 100, "n_points": 1000,
           "spearman_points": 0.41, "spearman_points_within_molecule_median": 0.37,
           "spearman_molecules": 0.55, "mean_spread": 0.2, "mae": 0.9}
    qm9 = {**qm9, "uncertainty": {model: cal}}
    (tmp_path / "evaluation.json").write_text(json.dumps(qm9))
    if sets:
        (tmp_path / "evaluation_beyond_qm9.json").write_text(json.dumps(sets))
    monkeypatch.setenv("MEPVIZ_EVALUATION_JSON", str(tmp_path / "evaluation.json"))
    at = fresh()
    if model not in __import__("appkit").compute.compare_models():
        pytest.skip(f"{model} weights not installed")
    table = dataframe_with(at, "Spearman ρ, points")
    beyond = [r for r in ((sets or {}).get("sets") or {}).values() if model in (r.get("uncertainty") or {})]
    assert list(table["test set"]) == ["QM9 test", *(r.get("label") for r in beyond)]
    assert table["Spearman ρ, points"].iloc[0] == pytest.approx(0.41)          # the file's number, not typed
    assert evaluation_path() == tmp_path / "evaluation.json"
