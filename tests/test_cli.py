"""`python -m mepviz predict` as a subprocess on real input files (small random-weight models
written to a temp folder and selected with MEPVIZ_WEIGHTS)."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.test_predict import make_weights

ROOT = Path(__file__).resolve().parents[1]
GOOD = ROOT / "tests" / "good_inputs"
BAD = ROOT / "tests" / "bad_inputs"


@pytest.fixture(scope="module")
def weights_dir(tmp_path_factory):
    return make_weights(tmp_path_factory.mktemp("cli_weights"))


def run(args, weights_dir, timeout=120):
    env = dict(os.environ, MEPVIZ_WEIGHTS=str(weights_dir), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "mepviz", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def assert_clean_failure(res, *fragments):
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    for f in fragments:
        assert f.lower() in lines[0].lower(), lines[0]
    assert res.stdout == ""


def test_table_from_smiles_charged(weights_dir):
    res = run(["predict", "[NH4+]", "--model", "dipole"], weights_dir)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    for text in ("model: dipole", "total charge +1", "Dipole μ (D)", "Quadrupole Θ (D·Å", "centre of mass",
                 "V_s,min", "V_s,max", "isodensity"):
        assert text in out
    sigma = [line for line in out.splitlines() if line.split()[:1] == ["Σ"]]
    assert len(sigma) == 1 and float(sigma[0].split()[-1]) == pytest.approx(1.0, abs=1e-4)


def test_json_points_and_cube(weights_dir, tmp_path):
    from mepviz.export import read_cube
    from mepviz.inputs import read_file
    from mepviz.predict import Predictor

    pts = np.array([[0.0, 0.0, 3.0], [2.5, -1.0, 0.5], [-3.0, 2.0, 1.0], [0.1, 0.2, -4.0]])
    csv_path = tmp_path / "pts.csv"
    csv_path.write_text("x,y,z\n" + "\n".join(",".join(f"{c:.6f}" for c in p) for p in pts) + "\n")
    cube_path = tmp_path / "water.cube"
    water = GOOD / "water.xyz"
    res = run(["predict", water, "--format", "json", "--points", csv_path, "--cube", cube_path,
               "--surface", "vdw1.4"], weights_dir)
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    mol = read_file(str(water))[0]
    assert len(d["charges"]) == mol.n_atoms and abs(sum(d["charges"])) < 1e-5
    assert len(d["dipole_debye"]) == 3
    q = np.array(d["quadrupole_debye_angstrom"])
    assert q.shape == (3, 3) and abs(np.trace(q)) < 1e-5
    assert d["surface"]["kind"] == "vdw1.4" and d["surface"]["statistics_kcal_mol_e"]["n_points"] > 100
    # the MEP at the given points, in their order, equals the library's (default model)
    from mepviz.core.registry import DEFAULT_MODEL
    ref = Predictor(DEFAULT_MODEL, weights_dir).predict(mol)
    # float32 model in two processes (thread counts may differ): agree to float32 round-off
    assert np.allclose(d["mep_kcal_mol_e"], ref.mep(pts), rtol=1e-5, atol=1e-4)
    assert np.allclose(d["dipole_debye"], ref.dipole_debye, atol=1e-5)
    cube = read_cube(cube_path)
    assert np.array_equal(cube.numbers, mol.numbers) and cube.values.size > 1000
    # .npy points give the same numbers
    np.save(tmp_path / "pts.npy", pts)
    res2 = run(["predict", water, "--format", "json", "--points", tmp_path / "pts.npy", "--surface", "none"],
               weights_dir)
    assert res2.returncode == 0, res2.stderr
    assert np.allclose(json.loads(res2.stdout)["mep_kcal_mol_e"], d["mep_kcal_mol_e"])


def test_multi_molecule_files_give_one_record_each(weights_dir):
    res = run(["predict", GOOD / "three_frames.xyz", "--format", "json", "--surface", "none"], weights_dir)
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert isinstance(d, list) and len(d) == 3
    assert [r["index"] for r in d] == [1, 2, 3]
    res = run(["predict", GOOD / "two_records.sdf", "--format", "csv"], weights_dir)
    assert res.returncode == 0, res.stderr
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    mols = [r for r in rows if r["record"] == "molecule"]
    assert len(mols) == 2 and {r["molecule"] for r in rows} == {"1", "2"}
    for m in mols:
        atoms = [r for r in rows if r["record"] == "atom" and r["molecule"] == m["molecule"]]
        assert abs(sum(float(a["charge_e"]) for a in atoms) - float(m["charge_e"])) < 1e-4
        assert m["surface_v_min"] != ""


@pytest.mark.parametrize("name, fragment", [
    ("truncated.xyz", "truncated"),
    ("unknown_element.xyz", ""),
    ("random_bytes.sdf", ""),
    ("image.xyz", "PNG"),
    ("500_atoms.xyz", "200 atoms"),
    ("overlapping_atoms.xyz", ""),
])
def test_bad_files_fail_cleanly(weights_dir, name, fragment):
    assert_clean_failure(run(["predict", BAD / name], weights_dir), fragment)


def test_bad_arguments_fail_cleanly(weights_dir, tmp_path):
    assert_clean_failure(run(["predict", "C1CC"], weights_dir), "SMILES")
    assert_clean_failure(run(["predict", "missing_file.xyz"], weights_dir), "no such file")
    assert_clean_failure(run(["predict", "[SiH4]"], weights_dir), "do not support Si", "H, C, N, O, F, P, S")
    bad_pts = tmp_path / "bad.csv"
    bad_pts.write_text("a,b,c\n1,2,3\n")
    assert_clean_failure(run(["predict", "O", "--points", bad_pts], weights_dir), "x, y, z")
    res = run(["predict", "O", "--model", "octupole"], weights_dir)
    assert res.returncode == 2 and "Traceback" not in res.stderr


def test_missing_weights_fail_cleanly(tmp_path):
    assert_clean_failure(run(["predict", "O"], tmp_path), "no weights")


def test_cli_choices_come_from_the_registry():
    from mepviz import cli, registry
    predict = cli.build_parser()._subparsers._group_actions[0].choices["predict"]
    actions = {a.dest: a for a in predict._actions}
    assert tuple(actions["model"].choices) == registry.MODEL_NAMES
    assert actions["model"].default == registry.DEFAULT_MODEL
    assert tuple(actions["surface"].choices) == registry.SURFACE_KINDS + ("none",)


def test_applicability_notes_go_to_stderr_and_refusals_name_the_record(weights_dir, tmp_path):
    res = run(["predict", "[NH4+].CC(=O)[O-]", "--surface", "none", "--format", "json"], weights_dir)
    assert res.returncode == 0 and json.loads(res.stdout)["formula"] == "C2H7NO2"
    notes = res.stderr.strip().splitlines()
    assert notes and all(n.startswith("note: ") for n in notes)
    assert any("2 disconnected fragments" in n for n in notes)
    two = tmp_path / "two.xyz"
    two.write_text("3\nwater\nO 0 0 0.117\nH 0 0.757 -0.469\nH 0 -0.757 -0.469\n"
                   "5\nsilane\nSi 0 0 0\nH 0.86 0.86 0.86\nH -0.86 -0.86 0.86\nH -0.86 0.86 -0.86\n"
                   "H 0.86 -0.86 -0.86\n")
    assert_clean_failure(run(["predict", two], weights_dir), "molecule 2 (silane)", "do not support Si")
    assert_clean_failure(run(["predict", "O", "--model", "dipole-xtb"], weights_dir),
                         "has no weights installed", "dipole-xtb.pt")
