"""train/evaluate.py: the metric definitions on synthetic references, and the command line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mepviz.electrostatics import molecular_dipole, molecular_quadrupole, multipole_potential
from mepviz.physics.electrostatics import penetration_potential, valence_electrons
from mepviz.units import DEBYE_PER_E_ANGSTROM, HARTREE_TO_KCAL_MOL
from tests.metric_leaves import leaves
from tests.test_predict import make_weights
from train import evaluate as ev

ROOT = Path(__file__).resolve().parents[1]


def synthetic(t: ev.TestMolecule, seed=0):
    """Random atomic multipoles for `t`, and a copy of `t` whose reference they reproduce exactly."""
    rng = np.random.default_rng(seed)
    n = t.mol.n_atoms
    q = rng.normal(size=n) * 0.3
    q -= q.mean()
    p = rng.normal(size=(n, 3)) * 0.05
    th = rng.normal(size=(n, 3, 3)) * 0.05
    th = 0.5 * (th + th.transpose(0, 2, 1))
    th -= np.trace(th, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    pos = t.mol.positions
    ref = ev.TestMolecule(**{**t.__dict__})
    ref.dipole = molecular_dipole(pos, q, p, origin=t.com)
    ref.quadrupole = molecular_quadrupole(pos, q, p, th, origin=t.com)
    ref.iso_esp = multipole_potential(t.iso_points, pos, q, p, th)
    ref.shell_esp = multipole_potential(t.shell_points, pos, q, p, th)
    return (q, p, th), ref


@pytest.fixture(scope="module")
def test_set():
    return ev.load_test_set(n=3)


def test_load_test_set(test_set):
    d = np.load(ROOT / "data/qm9/test.npz", allow_pickle=False)
    assert len(test_set) == 3
    t = test_set[1]
    assert t.qm9_index == int(d["qm9_index"][1]) and t.mol.n_atoms == int(d["atom_count"][1])
    assert len(t.iso_points) == int(d["iso_count"][1]) == len(t.iso_esp)
    assert len(t.shell_points) == int(d["shell_count"][1]) == len(t.shell_scale)
    assert set(np.unique(t.shell_scale)) == set(ev.SHELL_SCALES)
    # kcal/mol/e, converted from hartree/e
    i0 = int(d["iso_count"][0])
    assert np.allclose(t.iso_esp[:5], d["iso_esp"][i0:i0 + 5] * HARTREE_TO_KCAL_MOL)
    # the reference dipole agrees with QM9's own |μ| (a few hundredths of a debye)
    assert abs(np.linalg.norm(t.dipole) * DEBYE_PER_E_ANGSTROM - d["qm9_dipole_debye"][1]) < 0.1


def test_exact_multipoles_give_zero_error(test_set):
    pairs = [synthetic(t, k) for k, t in enumerate(test_set)]
    refs = [r for _, r in pairs]
    res = ev.evaluate_multipoles(refs, [m for m, _ in pairs], orders=(0, 1, 2))
    assert res["n_molecules"] == 3 and res["n_failed"] == 0
    assert all(abs(v) < 1e-10 for v in res["moments"].values())
    assert res["mep"]["overall"]["mae"] < 1e-9 and res["mep"]["all_shells"]["rmse"] < 1e-9
    # truncating the multipoles costs accuracy: orders 0 and 1 are worse than 2
    bo = res["mep"]["isodensity_by_order"]
    assert bo["0"]["mae"] > 1e-3 and bo["1"]["mae"] > 1e-3 and bo["2"]["mae"] < 1e-9
    h = res["mep"]["histogram"]
    assert sum(h["counts"]) + h["underflow"] + h["overflow"] == res["mep"]["overall"]["n_points"]
    assert len(res["mep"]["per_molecule"]) == 3


def test_known_errors(test_set):
    """A constant MEP offset, a dipole shift and a quadrupole shift give the expected numbers."""
    (q, p, th), ref = synthetic(test_set[0])
    ref.iso_esp = ref.iso_esp - 2.0              # prediction is 2 kcal/mol/e too high everywhere
    ref.shell_esp = ref.shell_esp + 1.0          # … and 1 too low on the shells
    ref.dipole = ref.dipole + np.array([0.0, 0.0, 0.1])          # e·Å
    ref.quadrupole = ref.quadrupole + np.diag([0.09, -0.09, 0.0])
    res = ev.evaluate_multipoles([ref], [(q, p, th)])
    mep = res["mep"]
    assert mep["overall"]["mae"] == pytest.approx(2.0) and mep["overall"]["rmse"] == pytest.approx(2.0)
    assert mep["overall"]["bias"] == pytest.approx(2.0)
    for s in ("1.4", "1.6", "1.8", "2.0"):
        assert mep["per_shell"][s]["mae"] == pytest.approx(1.0)
        assert mep["per_shell"][s]["bias"] == pytest.approx(-1.0)
    mo = res["moments"]
    assert mo["dipole_vector_mae_debye"] == pytest.approx(0.1 * DEBYE_PER_E_ANGSTROM)
    assert mo["dipole_component_mae_debye"] == pytest.approx(0.1 * DEBYE_PER_E_ANGSTROM / 3)
    assert mo["quadrupole_component_mae_debye_angstrom"] == pytest.approx(0.18 / 9 * DEBYE_PER_E_ANGSTROM)
    assert mo["dipole_magnitude_mae_debye"] <= mo["dipole_vector_mae_debye"] + 1e-12


def test_esp_fit_recovers_exact_multipoles(test_set):
    """The ESP-fit floor: a reference made of point multipoles is fitted back exactly."""
    (q, p, th), ref = synthetic(test_set[2], seed=4)
    fq, fp, fth = ev.esp_fit_multipoles(ref, order=2, ridge=0.0)
    res = ev.evaluate_multipoles([ref], [(fq, fp, fth)])
    assert res["mep"]["overall"]["mae"] < 1e-6 and res["mep"]["all_shells"]["mae"] < 1e-6
    assert abs(fq.sum()) < 1e-9 and np.allclose(np.trace(fth, axis1=1, axis2=2), 0, atol=1e-12)
    q0, p0, t0 = ev.esp_fit_multipoles(ref, order=0)
    assert p0 is None and t0 is None and abs(q0.sum()) < 1e-9
    assert ev.evaluate_multipoles([ref], [(q0, None, None)])["mep"]["overall"]["mae"] > 1e-3


def test_cloud_fit_recovers_multipoles_beside_fixed_valence_clouds(test_set):
    """The floor of the mep model's form: a reference of point multipoles plus Slater valence
    clouds of Zᵢ − qᵢ electrons is fitted back exactly (charges, dipoles and the clouds' populations)
    given the cloud widths, and the plain fit (no clouds) cannot absorb their near-surface potential."""
    (q, p, th), ref = synthetic(test_set[1], seed=7)
    pos = ref.mol.positions
    clouds = np.column_stack([valence_electrons(ref.mol.numbers) - q,          # N = Z − q, the mep form
                              np.random.default_rng(3).uniform(0.2, 0.45, len(pos))])
    ref.iso_esp = ref.iso_esp + penetration_potential(ref.iso_points, pos, clouds)
    ref.shell_esp = ref.shell_esp + penetration_potential(ref.shell_points, pos, clouds)
    fit = ev.esp_fit_multipoles(ref, order=2, ridge=0.0, penetration=clouds * [0.0, 1.0])   # only widths used
    assert len(fit) == 4 and np.allclose(fit[3], clouds, atol=1e-6)
    assert np.allclose(fit[0], q, atol=1e-6) and np.allclose(fit[1], p, atol=1e-6)
    res = ev.evaluate_multipoles([ref], [fit])
    assert res["mep"]["overall"]["mae"] < 1e-6 and res["mep"]["all_shells"]["mae"] < 1e-6
    plain = ev.evaluate_multipoles([ref], [ev.esp_fit_multipoles(ref, order=2)])
    assert plain["mep"]["overall"]["mae"] > 0.05


def test_failures_are_reported_not_fatal(test_set):
    (q, p, th), ref = synthetic(test_set[0])
    res = ev.evaluate_multipoles([ref, test_set[1]], [(q, p, th), None], [None, "boom"])
    assert res["n_molecules"] == 1 and res["n_failed"] == 1
    assert res["failures"][0]["error"] == "boom"


def test_command_line_and_card_update(tmp_path, test_set):
    from mepviz import metrics

    wdir = make_weights(tmp_path)
    cmd = [sys.executable, "-m", "train.evaluate", "--weights", str(wdir), "-n", "3",
           "--baselines", "gasteiger", "--out", str(tmp_path / "ev")]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.returncode == 0, res.stderr
    md = (tmp_path / "ev.md").read_text()
    assert "| Method |" in md and "Gasteiger" in md and "quadrupole" in md
    doc = json.loads((tmp_path / "ev.json").read_text())
    assert set(doc["models"]) == {"dipole", "quadrupole", "mep"}       # every model make_weights wrote
    assert set(doc["baselines"]) == {"gasteiger", "esp-fit-charges", "esp-fit-multipoles",
                                     "esp-fit-multipoles-clouds"}       # mep installed: the floor of its form
    floor = doc["baselines"]["esp-fit-multipoles"]
    assert floor["kind"] == "bound"
    assert floor["mep"]["overall"]["mae"] < doc["baselines"]["esp-fit-charges"]["mep"]["overall"]["mae"]
    m = doc["models"]["quadrupole"]["mep"]
    assert set(m["per_shell"]) == {"1.4", "1.6", "1.8", "2.0"} and len(m["per_molecule"]) == 3
    # the app's Compare page can read it
    tables = metrics.evaluation_tables(doc)
    n_methods = len(doc["models"]) + len(doc["baselines"])        # 3 models, gasteiger, 2 floors
    assert len(tables["overall"]) == n_methods and len(tables["per_shell"]) == 4 * n_methods
    # -n: the cards are left alone
    assert "test_metrics" not in json.loads((wdir / "quadrupole.json").read_text())
    # card update: subset metrics are the card metrics of the first molecules
    full = ev.evaluate_model("quadrupole", test_set, wdir)
    metrics = ev.card_metrics(full)
    sub = ev.subset_metrics("quadrupole", wdir, n=3)
    metrics["subset"] = {"metrics": sub}
    assert sub["mep_isodensity"]["mae"] == pytest.approx(metrics["mep_isodensity"]["mae"], abs=1e-9)
    ev.update_card(wdir / "quadrupole.json", metrics)
    card = json.loads((wdir / "quadrupole.json").read_text())
    assert card["test_metrics"]["mep_isodensity"]["mae"] == pytest.approx(metrics["mep_isodensity"]["mae"])
    assert "config" in card            # the rest of the card is kept


# ------------------------------------------------------------- the shipped evaluation.json
SHIPPED = ROOT / "weights" / "evaluation.json"


@pytest.mark.parametrize("name", [*ev.BASELINE_NAMES, *ev.BOUNDS])
def test_shipped_baseline_rows_recompute_on_the_subset(name):
    """Every baseline and floor row of weights/evaluation.json: its stored subset metrics (the
    first SUBSET_SIZE test molecules) are recomputed here from scratch."""
    doc = json.loads(SHIPPED.read_text())
    stored = doc["baselines"][name]["subset"]
    got = ev.evaluate_method(name, ev.load_test_set(n=stored["n_molecules"]))["subset"]["metrics"]
    want, have = leaves(stored["metrics"]), leaves(got)
    assert set(want) == set(have)
    bad = {k: (have[k], want[k]) for k in want if not np.isclose(have[k], want[k], rtol=1e-5, atol=1e-4)}
    assert not bad, f"{name}: {bad}"


def test_shipped_evaluation_has_every_variant_and_the_figures():
    from mepviz import registry
    doc = json.loads(SHIPPED.read_text())
    assert set(doc["models"]) == set(registry.MODELS)
    assert set(doc["baselines"]) == {*registry.BASELINES, *ev.BOUNDS}
    fig = doc["figures"]
    n = doc["test_set"]["n_molecules"]
    for name in doc["method_order"]:
        assert len(fig["per_molecule_mep_mae"]["mae"][name]) == n
        assert len(fig["mep_mae_vs_shell"]["mae"][name]) == 5
    assert set(fig["mep_mae_by_order"]["mae"]) == {*registry.MODELS, "xtb-multipoles"}
    pair = fig["paper_pair"]
    d, q = (doc["models"][k]["mep"]["overall"]["mae"] for k in registry.PAPER_PAIR)
    assert pair["mep_mae_ratio"] == pytest.approx(d / q)
    # the README's table is the one generated from this file
    readme = (ROOT / "README.md").read_text()
    assert ev.readme_table(doc) in readme


def test_figures_and_readme_from_a_small_run(tmp_path, test_set):
    wdir = make_weights(tmp_path)
    methods = {name: ev.evaluate_method(name, test_set, wdir, subset=2) for name in ("dipole", "quadrupole", "gasteiger")}
    assert methods["gasteiger"]["kind"] == "baseline" and methods["gasteiger"]["subset"]["n_molecules"] == 2
    fig = ev.figures(methods, test_set)
    per = fig["per_molecule_mep_mae"]["mae"]
    assert per["dipole"] == [r["mae"] for r in methods["dipole"]["mep"]["per_molecule"]]
    assert fig["mep_mae_by_order"]["mae"]["quadrupole"][2] == methods["quadrupole"]["mep"]["overall"]["mae"]
    better = sum(b < a for a, b in zip(per["dipole"], per["quadrupole"]))
    assert fig["paper_pair"]["molecules_quadrupole_better"] == better
    doc = {"test_set": {"n_molecules": 3, "level_of_theory": "B3LYP"}, "generated": "now", "figures": fig,
           "method_order": list(methods), "models": {k: v for k, v in methods.items() if v["kind"] == "model"},
           "baselines": {"gasteiger": methods["gasteiger"]}}
    (tmp_path / "evaluation.json").write_text(json.dumps(ev._clean(doc)))
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{ev.README_MARKERS[0]}\nold table\n{ev.README_MARKERS[1]}\n\nrest\n")
    ev.write_readme(tmp_path / "evaluation.json", readme)
    text = readme.read_text()
    assert "old table" not in text and text.endswith("\n\nrest\n")
    assert text.count("| ML ") == 2 and "Gasteiger" in text and "dipole / quadrupole" in text
    readme.write_text("no markers")
    with pytest.raises(SystemExit, match="markers"):
        ev.write_readme(tmp_path / "evaluation.json", readme)


def test_extrema_errors_vanish_for_the_exact_multipoles_and_measure_a_shift():
    from mepviz.electrostatics import multipole_potential
    from mepviz.metrics import load_test_set
    from train.evaluate import extrema_errors
    t = load_test_set(n=2)
    q = [np.linspace(-0.3, 0.3, m.mol.n_atoms) - np.linspace(-0.3, 0.3, m.mol.n_atoms).mean() for m in t]
    for m, qi in zip(t, q):          # make the "DFT" values exactly these charges' potential
        m.iso_esp = multipole_potential(m.iso_points, m.mol.positions, qi)
    ex = extrema_errors(t, [(qi, None, None) for qi in q])
    assert ex["n_molecules"] == 2 and ex["v_min_mae"] < 1e-9 and ex["v_max_mae"] < 1e-9
    for m in t:
        m.iso_esp = m.iso_esp + 1.5
    ex = extrema_errors(t, [(q[0], None, None), None])      # a failed molecule is left out
    assert ex["n_molecules"] == 1
    assert abs(ex["v_min_mae"] - 1.5) < 1e-9 and abs(ex["v_max_mae"] - 1.5) < 1e-9
