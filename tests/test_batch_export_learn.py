"""Record splitting (inputs), batch tables (batch), exports parse back (export), the Learn
physics (learn) and the evaluation tables (metrics)."""
from __future__ import annotations

import io
import json
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from mepviz import batch, export, inputs, learn, limits, metrics, registry
from mepviz.electrostatics import molecular_dipole, molecular_quadrupole, multipole_potential
from mepviz.molecule import Molecule, MoleculeInputError
from mepviz.units import COULOMB_KCAL_ANGSTROM, DEBYE_PER_E_ANGSTROM

WATER = Molecule([8, 1, 1], [[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]],
                 name="water")
AMMONIUM = Molecule([7, 1, 1, 1, 1], [[0, 0, 0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63],
                                      [-0.63, 0.63, -0.63], [0.63, -0.63, -0.63]],
                    charge=1, name="ammonium")


def fake_prediction(mol: Molecule, seed: int = 0):
    """A Prediction-like object with random (charge-conserving) atomic multipoles."""
    rng = np.random.default_rng(seed)
    n = mol.n_atoms
    q = rng.normal(0, 0.3, n)
    q += (mol.charge - q.sum()) / n
    p = rng.normal(0, 0.05, (n, 3))
    t = rng.normal(0, 0.05, (n, 3, 3))
    t = 0.5 * (t + t.transpose(0, 2, 1))
    t -= np.trace(t, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    com = mol.center_of_mass
    pred = SimpleNamespace(
        charges=q, atomic_dipoles=p, atomic_quadrupoles=t,
        dipole=molecular_dipole(mol.positions, q, p, origin=com),
        quadrupole=molecular_quadrupole(mol.positions, q, p, t, origin=com))
    pred.mep = lambda points, order=2: multipole_potential(points, mol.positions, q, p, t)
    return pred


def batch_of(mols):
    res = batch.BatchResult(n_records=len(mols))
    for k, mol in enumerate(mols):
        preds = {m: fake_prediction(mol, seed=k + 10 * i) for i, m in enumerate(registry.PAPER_PAIR)}
        row = {"record": k + 1, "name": mol.name, "formula": mol.formula, "n_atoms": mol.n_atoms,
               "charge": mol.charge}
        stats = {}
        for m, p in preds.items():
            row.update({f"{key}_{m}": v for key, v in metrics.prediction_numbers(p).items()})
            row[f"Vs_min_kcal_{m}"], row[f"Vs_max_kcal_{m}"] = -30.0, 20.0
            stats[m] = {"v_min": -30.0, "v_max": 20.0}
        res.rows.append(row)
        res.molecules.append(mol)
        res.predictions.append(preds)
        res.statistics.append(stats)
    res.errors.append({"record": 3, "name": "bad", "error": "unsupported element Si"})
    return res


# ----------------------------------------------------------------- splitting

def test_split_xyz_multi_frame_and_bad_record():
    good = WATER.to_xyz()
    text = good + "x3\nbroken\nO 0 0 0\n" + good + "5\ntruncated\nC 0 0 0\n"
    recs = inputs.split_records(text.encode(), "set.xyz")
    assert [r.error is None for r in recs] == [True, False, True, False]
    assert "expected the number of atoms" in recs[1].error
    assert "truncated" in recs[3].error


def test_split_sdf_records():
    from rdkit import Chem
    from rdkit.Chem import AllChem
    sio = io.StringIO()
    w = Chem.SDWriter(sio)
    for smi in ["O", "CO", "C=O"]:
        m = Chem.AddHs(Chem.MolFromSmiles(smi))
        AllChem.EmbedMolecule(m, randomSeed=1)
        m.SetProp("_Name", smi)
        w.write(m)
    w.close()
    recs = inputs.split_records(sio.getvalue().encode(), "three.sdf")
    assert [r.label for r in recs] == ["O", "CO", "C=O"]
    assert all(r.fmt == "sdf" and r.text.rstrip().endswith("$$$$") for r in recs)


@pytest.mark.parametrize("data,name,msg", [
    (b"\x00\x01\x02\xff" * 100, "junk.xyz", "binary"),
    (b"", "empty.xyz", "empty"),
    (b"3\nwater\nO 0 0 0\n", "water.pdb", "unsupported file type"),
    (b"hello world\nthis is not xyz\n", "notes.xyz", "not an XYZ file"),
])
def test_split_records_rejects_bad_files(data, name, msg):
    with pytest.raises(MoleculeInputError, match=msg):
        inputs.split_records(data, name)


def test_split_records_rejects_oversize_batch():
    text = WATER.to_xyz() * (limits.MAX_FRAMES + 1)
    with pytest.raises(MoleculeInputError, match=f"limit is {limits.MAX_FRAMES}"):
        inputs.split_records(text.encode(), "many.xyz")


def test_split_xyz_reports_a_wrong_atom_count_as_such():
    good = WATER.to_xyz()
    more = "3\nfour atoms\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\nH 5 5 5\n"
    recs = inputs.split_records((good + more + good).encode(), "set.xyz")
    assert [r.error is None for r in recs] == [True, False, True]
    assert "says 3 atoms but 4 atom lines follow" in recs[1].error
    with pytest.raises(MoleculeInputError, match="atom-count mismatch"):
        inputs.parse_record(recs[1])
    assert inputs.parse_record(recs[2]).formula == "H2O"


def test_run_batch_refuses_and_notes_through_applicability():
    class Fake:
        def __init__(self, name):
            self.name = name

        def predict(self, mol):
            return fake_prediction(mol)
    silicon = "5\nsilane\nSi 0 0 0\nH 0.86 0.86 0.86\nH -0.86 -0.86 0.86\nH -0.86 0.86 -0.86\nH 0.86 -0.86 -0.86\n"
    salt = "4\ntwo HF\nF 0 0 0\nH 0.92 0 0\nF 5 0 0\nH 5.92 0 0\n"
    recs = inputs.split_records((WATER.to_xyz() + silicon + salt).encode(), "set.xyz")
    res = batch.run_batch(recs, {m: Fake(m) for m in ("quadrupole",)}, surface="vdw1.4")
    assert [r["record"] for r in res.rows] == [1, 3]
    assert "do not support Si" in res.errors[0]["error"]
    assert res.rows[0]["notes"] == "" and "2 disconnected fragments" in res.rows[1]["notes"]


def test_run_batch_stops_at_its_cpu_time_limit():
    class Busy:
        def predict(self, mol):
            t0 = time.process_time()
            while time.process_time() - t0 < 0.05:     # burn CPU like a big molecule would
                pass
            return fake_prediction(mol)
    recs = inputs.split_records((WATER.to_xyz() * 5).encode(), "set.xyz")
    res = batch.run_batch(recs, {"quadrupole": Busy()}, surface="vdw1.4", max_cpu_seconds=0.08)
    assert 1 <= len(res.rows) < 5
    assert len(res.rows) + len(res.errors) == 5
    assert all("CPU-time limit of 0.08 s" in e["error"] for e in res.errors)
    full = batch.run_batch(recs, {"quadrupole": Busy()}, surface="vdw1.4")
    assert len(full.rows) == 5 and not full.errors


# ----------------------------------------------------------------- exports

def test_prediction_numbers_units():
    pred = fake_prediction(WATER)
    nums = metrics.prediction_numbers(pred)
    assert nums["mu_abs_D"] == pytest.approx(np.linalg.norm(pred.dipole) * DEBYE_PER_E_ANGSTROM)
    ev = [nums[f"theta_{i}_DA"] for i in (1, 2, 3)]
    assert ev == sorted(ev)
    assert sum(ev) == pytest.approx(0.0, abs=1e-9)   # traceless


def test_csv_and_json_parse_back():
    res = batch_of([WATER, AMMONIUM])
    df = pd.read_csv(io.StringIO(export.batch_csv(res)))
    assert len(df) == 3 and list(df["name"]) == ["water", "ammonium", "bad"]     # the failed record too
    assert df["error"].isna().tolist() == [True, True, False] and "Si" in df["error"].iloc[2]
    assert df["mu_abs_D_quadrupole"].iloc[0] == pytest.approx(res.rows[0]["mu_abs_D_quadrupole"], rel=1e-5)
    doc = json.loads(export.batch_json(res))
    assert doc["errors"][0]["record"] == 3
    assert [m["name"] for m in doc["molecules"]] == ["water", "ammonium", "bad"]    # every record, in order
    assert "error" not in doc["molecules"][0] and "Si" in doc["molecules"][2]["error"]
    m0 = doc["molecules"][0]["models"]["dipole"]
    assert np.sum(m0["atomic_charges_e"]) == pytest.approx(0.0, abs=1e-9)
    assert np.linalg.norm(m0["dipole_D"]) == pytest.approx(m0["dipole_magnitude_D"])


def test_rounded_charges_sum_exactly():
    q = np.array([0.123456, -0.333333, 0.209877, 1.0000004])
    r = export.rounded_charges(q, 1.0, 4)
    assert abs(r - q).max() <= 2e-4
    assert round(r.sum(), 8) == 1.0


def test_sdf_parses_back_with_rdkit():
    from rdkit import Chem
    res = batch_of([WATER, AMMONIUM])
    text = export.charges_sdf(res.molecules, res.predictions, model="quadrupole")
    sup = Chem.ForwardSDMolSupplier(io.BytesIO(text.encode()), removeHs=False, sanitize=False)
    mols = list(sup)
    assert len(mols) == 2
    for m, mol, preds in zip(mols, res.molecules, res.predictions):
        assert m.GetNumAtoms() == mol.n_atoms
        assert [a.GetSymbol() for a in m.GetAtoms()] == mol.symbols
        np.testing.assert_allclose(m.GetConformer().GetPositions(), mol.positions, atol=1e-4)
        q = [a.GetDoubleProp("PartialCharge") for a in m.GetAtoms()]
        np.testing.assert_allclose(q, preds["quadrupole"].charges, atol=1e-4)
        assert sum(q) == pytest.approx(mol.charge, abs=1e-9)
        qd = [float(x) for x in m.GetProp("MEPVIZ_CHARGES_DIPOLE").split()]
        np.testing.assert_allclose(qd, preds["dipole"].charges, atol=1e-4)
        assert int(m.GetProp("MEPVIZ_TOTAL_CHARGE")) == mol.charge
    assert mols[0].GetNumBonds() == 2        # bonds inferred from distances


def test_pqr_parses_back_and_charges_sum_to_total():
    res = batch_of([WATER, AMMONIUM])
    text = export.charges_pqr(res.molecules, res.predictions, model="dipole")
    parsed = export.read_pqr(text)
    assert len(parsed) == 2
    for p, mol, preds in zip(parsed, res.molecules, res.predictions):
        np.testing.assert_allclose(p["positions"], mol.positions, atol=1e-3)
        np.testing.assert_allclose(p["charges"], preds["dipole"].charges, atol=1e-4)
        assert p["charges"].sum() == pytest.approx(mol.charge, abs=1e-9)
        assert p["radii"][0] == pytest.approx({8: 1.52, 7: 1.55}[int(mol.numbers[0])], abs=0.01)
    single = export.read_pqr(export.charges_pqr(res.molecules[:1], res.predictions[:1]))
    assert len(single) == 1 and "MODEL" not in export.charges_pqr(res.molecules[:1], res.predictions[:1])


# ----------------------------------------------------------------- learn

def test_atomic_orders_and_molecular_terms():
    pred = fake_prediction(AMMONIUM)
    pts = np.array([[30.0, 1.0, -2.0], [0.0, -40.0, 5.0]])
    v = learn.atomic_order_potentials(AMMONIUM.positions, pred, pts)
    assert set(v) == {0, 1, 2}
    np.testing.assert_allclose(v[0], multipole_potential(pts, AMMONIUM.positions, pred.charges))
    terms = learn.molecular_multipole_terms(pts, AMMONIUM.center_of_mass, 1, pred.dipole, pred.quadrupole)
    r = np.linalg.norm(pts - AMMONIUM.center_of_mass, axis=1)
    np.testing.assert_allclose(terms["monopole"], COULOMB_KCAL_ANGSTROM / r)
    # far away the molecular multipole sum reproduces the atomic-multipole MEP (error ~1/r⁴)
    total = terms["monopole"] + terms["dipole"] + terms["quadrupole"]
    np.testing.assert_allclose(total, v[2], rtol=1e-3)


def test_line_profile_slopes():
    pred = fake_prediction(AMMONIUM)
    prof = learn.line_profile(AMMONIUM, pred, "dipole", r_min=1.0, r_max=200.0, n=120)
    assert list(prof.columns) == ["r", "atomic q", "atomic q+p", "atomic q+p+θ", "monopole",
                                  "dipole", "quadrupole", "multipole sum"]
    s = learn.decay_slopes(prof, r_from=20.0)
    assert s["monopole"] == pytest.approx(-1, abs=1e-6)
    assert s["dipole"] == pytest.approx(-2, abs=1e-6)
    assert s["quadrupole"] == pytest.approx(-3, abs=1e-6)
    far = prof[prof["r"] > 100]
    np.testing.assert_allclose(far["multipole sum"], far["atomic q+p+θ"], rtol=1e-4)
    # a neutral molecule has no monopole term
    pw = learn.line_profile(WATER, fake_prediction(WATER), "x")
    assert np.all(pw["monopole"] == 0)


def test_profile_csv_units():
    prof = learn.line_profile(AMMONIUM, fake_prediction(AMMONIUM), "x", n=20)
    back = pd.read_csv(io.StringIO(learn.profile_csv(prof, "kJ/mol/e")))
    assert back.columns[0] == "r_angstrom" and "V monopole (kJ/mol/e)" in back.columns
    np.testing.assert_allclose(back["V monopole (kJ/mol/e)"], 4.184 * prof["monopole"], rtol=1e-7)


def test_line_direction():
    pred = fake_prediction(WATER)
    u = learn.line_direction(WATER, pred, "dipole")
    np.testing.assert_allclose(u, pred.dipole / np.linalg.norm(pred.dipole))
    assert learn.line_direction(WATER, pred, "z").tolist() == [0, 0, 1]
    pred.dipole = np.zeros(3)
    assert np.linalg.norm(learn.line_direction(WATER, pred, "dipole")) == pytest.approx(1)


def test_load_evaluation_absent_and_bad(tmp_path):
    assert metrics.load_evaluation(tmp_path / "nope.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        metrics.load_evaluation(bad)


def test_evaluation_tables_on_a_real_sample():
    """tests/data/evaluation_sample.json: train/evaluate.py -n 6 (models, baselines, ESP-fit floors)."""
    from pathlib import Path
    doc = metrics.load_evaluation(Path(__file__).parent / "data" / "evaluation_sample.json")
    t = metrics.evaluation_tables(doc)
    assert list(t["overall"]["name"]) == doc["method_order"]
    kinds = {n: ({**doc["models"], **doc["baselines"]})[n]["kind"] for n in doc["method_order"]}
    assert list(t["overall"]["kind"]) == [kinds[n] for n in doc["method_order"]]
    assert {"model", "baseline", "bound"} == set(kinds.values())
    q = doc["models"]["quadrupole"]
    row = t["overall"].set_index("name").loc["quadrupole"]
    assert row["MAE"] == q["mep"]["overall"]["mae"]
    assert row["Θ MAE (D·Å)"] == q["moments"]["quadrupole_component_mae_debye_angstrom"]
    n = len(doc["method_order"])
    assert len(t["per_shell"]) == n * 4 and sorted(set(t["per_shell"]["scale"])) == [1.4, 1.6, 1.8, 2.0]
    assert len(t["per_molecule"]) == n * doc["test_set"]["n_molecules"]
    for method, g in t["histograms"].groupby("method"):
        assert g["fraction"].sum() + t["outside"][method] == pytest.approx(1.0)
    assert list(t["by_order"]["order"]) == [0, 1, 2, 0, 1, 2]      # models only
    assert metrics.evaluation_tables({}) == {"unit": "kcal/mol/e"}


def test_model_card_table():
    cards = {"dipole": {"loss": "MSE(μ)", "quadrupole_weight": 0.0,
                        "data": {"dft_train": {"molecules": 212}},
                        "validation_metrics": {"best_dft_val": {"mu_mae_D": 0.12, "theta_mae_DA": 0.9}},
                        "hyperparameters": {"features": 32, "layers": 3, "cutoff": 5.0},
                        "training": {"epochs": {"finetune": 100}}},
             "quadrupole": {"loss": "MSE(μ) + MSE(Θ)"}}
    t = metrics.model_card_table(cards)
    assert list(t.columns) == ["Dipole model", "Quadrupole model"]
    assert t.loc["training molecules (DFT)", "Dipole model"] == "212"
    assert t.loc["validation Θ MAE (D·Å)", "Dipole model"] == "0.900"
    assert t.loc["features × layers, cutoff (Å)", "Dipole model"] == "32 × 3, 5.0"
    assert t.loc["epochs", "Dipole model"] == "finetune 100"
    assert t.loc["training molecules (DFT)", "Quadrupole model"] == ""
