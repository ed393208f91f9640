"""Rebuild checks and ablations (weights/studies/): the committed weights are the ones the cards
measured, they reproduce their card metrics on the test subset, weights/studies.md is what
`python -m train.studies` writes from the cards, and every from-scratch rebuild reproduces the
file it rebuilds within its measured seed-to-seed spread (or the fixed tolerances below)."""
from __future__ import annotations

import json
import math

import pytest

from tests.metric_leaves import leaves
from train import studies
from train.evaluate import SUBSET_SIZE, file_sha256, subset_metrics

CARDS = sorted(studies.STUDIES.glob("*.json"))
#: how far a from-scratch rebuild may land from the shipped file (training noise of a
#: different code version and summation order; kcal/mol/e and D, D·Å)
REBUILD_TOLERANCE = {"test MEP MAE iso": 0.10, "test \\|μ\\| MAE (D)": 0.015, "test Θ MAE (D·Å)": 0.015,
                     "val \\|μ\\| MAE (D)": 0.015, "val Θ MAE (D·Å)": 0.015}


def test_there_are_studies_and_the_page_is_generated_from_them():
    kinds = {p.name.split("-")[0] for p in CARDS}
    assert {"rebuild", "ablation", "seed1"} <= kinds, f"weights/studies/ holds {sorted(p.name for p in CARDS)}"
    assert studies.OUT.read_text() == studies.page(studies.studies()), (
        "weights/studies.md is stale or edited by hand: run python -m train.studies")


@pytest.mark.parametrize("path", CARDS, ids=lambda p: p.stem)
def test_study_weights_reproduce_their_card_metrics(path):
    tm = json.loads(path.read_text())["test_metrics"]
    pt = path.with_suffix(".pt")
    assert file_sha256(pt) == tm["weights_sha256"], f"{pt.name} is not the file its card measured"
    got = leaves(subset_metrics(path.stem, path.parent, n=SUBSET_SIZE))
    want = leaves(tm["subset"]["metrics"])
    bad = {k: (got[k], want[k]) for k in want if not math.isclose(got[k], want[k], abs_tol=1e-4, rel_tol=1e-5)}
    assert not bad, bad


#: rebuilds known not to reproduce their reference (reported in weights/studies.md and the issue):
#: the QM9 quadrupole base was trained by hand on 2026-11-28 (before train.build, with an earlier
#: pack of data/qm9/train_dft_433.npz); its config's rebuilds land 0.004–0.019 D above its test
#: |μ| MAE, beyond the two-seed spread. strict: the day a rebuild matches, this must be removed.
KNOWN_MISMATCH = {"quadrupole-qm9": "hand-trained base: test |μ| MAE not reproduced by its config"}


def _rebuild_params():
    return [pytest.param(s, id=s["config"], marks=[pytest.mark.xfail(reason=KNOWN_MISMATCH[s["config"]], strict=True)]
                         if s["config"] in KNOWN_MISMATCH else [])
            for s in studies.studies() if s["kind"] == "rebuild"]


@pytest.mark.parametrize("study", _rebuild_params())
def test_rebuilds_reproduce_the_shipped_metrics(study):
    """Within three seed-to-seed standard deviations where the spread of the config was
    measured (weights/studies/seed*), else within REBUILD_TOLERANCE."""
    assert study["config_unchanged"], f"train/configs/{study['config']}.yaml changed since this rebuild"
    rows = {r["metric"]: r for r in study["rows"]}
    spread = (study["spread"] or {}).get("std") or {}
    tolerance = {m: 3 * spread[m] for m in spread} or REBUILD_TOLERANCE
    off = {m: (rows[m]["difference"], tol) for m, tol in tolerance.items()
           if rows[m]["difference"] is not None and abs(rows[m]["difference"]) > tol}
    assert not off, f"rebuild of {study['reference']} differs beyond the tolerance (difference, tolerance): {off}"


def test_ablations_compare_with_the_weights_they_started_from():
    for s in studies.studies():
        if s["kind"] == "ablation":
            assert s["base_unchanged"], f"{s['file']}: {s['reference']} was retrained; rebuild the ablation"


def test_shipped_cards_state_the_measured_seed_spread():
    items = studies.studies()
    configs = {s["config"] for s in items if s["kind"] == "seed"}
    assert configs, "no seed-spread study"
    for config in configs:
        card = json.loads(studies.shipped_stem(config).with_suffix(".json").read_text())
        assert card.get("seed_spread") == json.loads(json.dumps(
            studies.card_seed_spread(studies.seed_spread(items, config)))), (
            f"the card of {config} lacks its measured seed spread: run python -m train.studies")


def _curve_card(by_chemistry: dict, qm9: float, sets: dict) -> dict:
    return {"data": {"mep_labels": {"training_molecules": sum(by_chemistry.values()), "by_chemistry": by_chemistry}},
            "test_metrics": {"mep_isodensity": {"mae": qm9}},
            "test_sets": {k: {"mep_iso_mae": v, "caps": {"caps": 4, "sign_right": 3, "within_5": 2, "mae": 1.0}}
                          for k, v in sets.items()}}


def test_learning_curve_tables_marginal_values_and_projection(tmp_path):
    """Synthetic curve cards: the marginal value is (MAE without − MAE with all) per 100 labels of
    the group, and the projection recovers MAE = a + b/√N exactly."""
    import json
    from train import studies
    a, b = 1.0, 20.0
    full = {"qm9": 100, "halogen": 200, "sulfur_phosphorus": 50, "ions": 40, "organic": 10}
    mae = lambda n: a + b / n ** 0.5                                          # noqa: E731
    cards_ = {}
    for share in (0.25, 0.5, 1.0):
        by = {g: int(n * share) for g, n in full.items()}
        v = mae(sum(by.values()))
        cards_[f"all-{share:g}"] = _curve_card(by, v, {"drugs": v, "spice": v, "ions": v, "sigma_hole": v})
    ref = cards_["all-1"]["test_metrics"]["mep_isodensity"]["mae"]
    cards_["without-ions"] = _curve_card({**full, "ions": 0}, ref, {"drugs": ref, "spice": ref, "ions": ref + 2.0,
                                                                    "sigma_hole": ref})
    for name, card in cards_.items():
        (tmp_path / f"curve-{name}.json").write_text(json.dumps(card))
    proj = studies.curve_projection(studies.curve_points(tmp_path))
    assert proj["n"] == 400
    for p in proj["sets"].values():
        assert p["asymptote"] == pytest.approx(a) and p["x2"] == pytest.approx(mae(800))
    text = "\n".join(studies.curve_section(tmp_path))
    row = next(line for line in text.splitlines() if line.startswith("| ions (40) |"))
    assert row.split("|")[2:7] == [" +0.00 ", " +0.00 ", " +0.00 ", " +5.00 ", " +0.00 "]   # 2.0 per 40 labels
    assert "| `without-ions` | 100 | 200 | 50 | 0 | 10 |" in text and text.count("| 12/16 |") == 4   # caps over the sets


def test_more_labels_and_penetration_studies_compare_like_with_like():
    """The 'More labels' table's builds differ only in their beyond-QM9 shards, each a superset of
    the one before (mep-v1 ⊂ study-mep-staged, mep-v1 ⊂ mep-v2 ⊂ mep-v3 ⊂ mep), each card built from its committed config;
    the penetration ablation is mep-v1 with the head switched off and nothing else."""
    from train.build import load_config
    configs = {name: load_config(name) for name in ("mep-v1", "study-mep-staged", "mep-v2", "mep-v3", "mep",
                                                    "ablation-mep-nopen", "study-mep-longer")}
    stems = {"mep-v1": studies.STUDIES / "mep-v1", "study-mep-staged": studies.STUDIES / "study-mep-staged",
             "mep-v2": studies.STUDIES / "mep-v2", "mep-v3": studies.STUDIES / "mep-v3",
             "mep": studies.ROOT / "weights" / "mep",
             "ablation-mep-nopen": studies.STUDIES / "ablation-mep-nopen",
             "study-mep-longer": studies.STUDIES / "study-mep-longer"}
    for name, stem in stems.items():
        card = json.loads(stem.with_suffix(".json").read_text())
        assert card["build"]["config_sha256"] == configs[name]["_sha256"], f"{stem.name}: built from another config"
    strip = lambda cfg, *keys: {k: v for k, v in cfg.items() if k not in ("_name", "_path", "_sha256", *keys)}  # noqa: E731
    files = [configs[n]["data"]["dft"] for n in ("mep-v1", "study-mep-staged", "mep-v2", "mep-v3", "mep")]
    assert set(files[0]) < set(files[1]) and set(files[0]) < set(files[2]) < set(files[3]) < set(files[4])
    assert all(strip(configs[n], "data") == strip(configs["mep-v1"], "data")
               for n in ("study-mep-staged", "mep-v2", "mep-v3", "mep"))
    # the longer-training study is mep-v2 trained further on mep-v2's data
    longer = configs["study-mep-longer"]
    assert longer["init"]["weights"] == "weights/studies/mep-v2" and longer["data"] == configs["mep-v2"]["data"]
    nopen = strip(configs["ablation-mep-nopen"])
    assert nopen["model"] == {**configs["mep-v1"]["model"], "penetration": False}
    assert {**nopen, "model": configs["mep-v1"]["model"]} == strip(configs["mep-v1"])
    added = studies.added_labels("mep", "mep-v1")
    assert sum(added.values()) > sum(studies.added_labels("mep-v3", "mep-v1").values()) \
        > sum(studies.added_labels("mep-v2", "mep-v1").values()) \
        > sum(studies.added_labels("study-mep-staged", "mep-v1").values()) > 0


def test_conformer_study_is_the_mep_recipe_plus_its_shards_and_its_sigma_hole_block_recomputes(tmp_path):
    """The shipped mep = mep-v3.yaml (the recipe shipped third) plus the SPICE thermal conformations and
    nothing else; study-mep-conformers = mep.yaml plus two more staged shards (-r1: the conformations once
    per epoch, -r0: none); seeds 1, 2 of each by --seed; the σ-hole set block of the study's card (MEP MAE,
    caps) is what its weights give."""
    from train.build import load_config, with_seed
    from train.evaluate_sets import model_set_metrics
    v3, mep, study = load_config("mep-v3"), load_config("mep"), load_config("study-mep-conformers")
    strip = lambda cfg: {k: v for k, v in cfg.items() if k not in ("_name", "_path", "_sha256", "data")}  # noqa: E731
    assert strip(study) == strip(mep) == strip(v3) and study["data"]["xtb"] == mep["data"]["xtb"] == v3["data"]["xtb"]
    conformers = "data/newchem/train_spice_conformers.npz"
    assert mep["data"] == {**v3["data"], "dft": v3["data"]["dft"] + [conformers],
                           "dft_repeat": {**v3["data"]["dft_repeat"], conformers: 2}}
    added = [f for f in study["data"]["dft"] if f not in mep["data"]["dft"]]
    assert study["data"]["dft"][:len(mep["data"]["dft"])] == mep["data"]["dft"]
    assert added == ["data/newchem_staged/halogen_3.npz", "data/newchem_staged/ions_3.npz"]
    assert study["data"]["dft_repeat"] == {**mep["data"]["dft_repeat"], **{f: 2 for f in added}}
    for stem, seed, cfg in (("study-mep-conformers", 0, study), ("study-mep-conformers-seed1", 1, study),
                            ("study-mep-conformers-seed2", 2, study), ("mep-v3", 0, v3), ("mep-v3-seed1", 1, v3),
                            ("mep-v3-seed2", 2, v3)):
        card = json.loads((studies.STUDIES / f"{stem}.json").read_text())
        assert card["build"]["config_values"]["seed"] == seed
        built = with_seed(cfg, seed) if seed != cfg["seed"] else cfg
        assert card["build"]["config_sha256"] == built["_sha256"] and card["build"]["config_values"]["data"] == cfg["data"]
    for k, path in studies.mep_seed_cards():
        assert json.loads(path.read_text())["build"]["config_values"] == \
            {**{k_: v for k_, v in mep.items() if not k_.startswith("_")}, "seed": k}
    r1 = load_config("study-mep-conformers-r1")
    assert {**r1, "_name": None, "_path": None, "_sha256": None, "data": None} == \
        {**study, "_name": None, "_path": None, "_sha256": None, "data": None}
    assert r1["data"] == {**study["data"], "dft_repeat": {**study["data"]["dft_repeat"], conformers: 1}}
    r0 = load_config("study-mep-conformers-r0")
    assert {**r0, "_name": None, "_path": None, "_sha256": None, "data": None} == \
        {**study, "_name": None, "_path": None, "_sha256": None, "data": None}
    assert r0["data"] == {**study["data"], "dft": [f for f in study["data"]["dft"] if f != conformers],
                          "dft_repeat": {f: k for f, k in study["data"]["dft_repeat"].items() if f != conformers}}
    (tmp_path / "sigma_hole.npz").symlink_to(studies.ROOT / "data" / "newchem" / "sigma_hole.npz")
    got = model_set_metrics(studies.STUDIES / "study-mep-conformers", tmp_path, log=lambda *_: None)["sigma_hole"]
    want = json.loads((studies.STUDIES / "study-mep-conformers.json").read_text())["test_sets"]["sigma_hole"]
    assert got["caps"] == want["caps"]
    assert got["mep_iso_mae"] == pytest.approx(want["mep_iso_mae"], rel=1e-9)


def test_thermal_snapshot_study_is_the_mep_recipe_plus_its_staged_snapshots():
    """study-mep-thermal = mep.yaml plus the staged halide thermal snapshots (repeat 2) and nothing
    else; its three seed builds were made from that config and carry test-set metrics."""
    from train.build import load_config, with_seed
    mep, study = load_config("mep"), load_config("study-mep-thermal")
    snapshots = "data/newchem_staged/halide_thermal.npz"
    assert {**study, "_name": None, "_path": None, "_sha256": None, "data": None} == \
        {**mep, "_name": None, "_path": None, "_sha256": None, "data": None}
    assert study["data"] == {**mep["data"], "dft": mep["data"]["dft"] + [snapshots],
                             "dft_repeat": {**mep["data"]["dft_repeat"], snapshots: 2}}
    for stem, seed in (("study-mep-thermal", 0), ("study-mep-thermal-seed1", 1), ("study-mep-thermal-seed2", 2)):
        card = json.loads((studies.STUDIES / f"{stem}.json").read_text())
        built = with_seed(study, seed) if seed else study
        assert card["build"]["config_sha256"] == built["_sha256"]
        assert set(card["test_sets"]) == {"drugs", "spice", "ions", "sigma_hole"}
    assert "## Thermal snapshots" in "\n".join(studies.thermal_section())
