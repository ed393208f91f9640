"""σ-hole analysis and test-set loading of train/evaluate_sets.py."""
from __future__ import annotations

import numpy as np
import pytest

from mepviz.molecule import Molecule
from mepviz.surfaces import fibonacci_sphere
from train import evaluate as ev
from train.evaluate_sets import model_covers, sigma_hole_rows


def _cx_molecule(values_of_angle):
    """C at the origin, Cl 1.8 Å along +z, surface points on a 1.9 Å sphere about Cl."""
    mol = Molecule([6, 17], [[0, 0, 0], [0, 0, 1.8]], name="CCl")
    pts = fibonacci_sphere(2000) * 1.9 + [0, 0, 1.8]
    ang = np.arccos(np.clip((pts[:, 2] - 1.8) / 1.9, -1, 1))
    t = ev.TestMolecule(position=0, mol=mol, qm9_index=0, smiles="", dipole=np.zeros(3),
                        quadrupole=np.zeros((3, 3)), com=np.zeros(3), iso_points=pts,
                        iso_esp=values_of_angle(ang), shell_points=np.zeros((0, 3)),
                        shell_esp=np.zeros(0), shell_scale=np.zeros(0))
    return t, ang


def test_sigma_hole_on_axis_and_belt_maximum():
    t, ang = _cx_molecule(lambda a: 20.0 * np.cos(a))
    belt = -5.0 + 10.0 * np.sin(ang) ** 2
    (row,) = sigma_hole_rows(t, {"dft": t.iso_esp, "charges": belt})
    assert row["halogen"] == "Cl" and row["n_cap_vertices"] > 10
    assert row["dft"]["v_cap"] > 19.0 and row["dft"]["max_angle_deg"] < 5
    assert row["charges"]["v_cap"] < 0 and 80 < row["charges"]["max_angle_deg"] < 100


def test_model_covers_reads_the_card():
    t, _ = _cx_molecule(np.cos)
    assert model_covers({}, [t]) is not None                      # QM9 card: H C N O F only
    assert model_covers({"training_elements": [1, 6, 17], "training_charges": [0]}, [t]) is None
    assert model_covers({"training_elements": [1, 6, 17], "training_charges": [1]}, [t]) is not None


# ----------------------------------------------------------------- the committed evaluation
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT / "weights" / "evaluation_beyond_qm9.json"
NEWCHEM = ROOT / "data" / "newchem"


def test_newchem_readme_is_generated_from_the_files(tmp_path):
    from train.label_pool import write_readme
    import shutil
    for f in NEWCHEM.glob("*.npz"):
        shutil.copy(f, tmp_path / f.name)
    assert write_readme(str(tmp_path)) == (NEWCHEM / "README.md").read_text()


def test_committed_sigma_hole_rows_recompute():
    """The σ-hole table and the Gasteiger row of the σ-hole set, recomputed from the data."""
    from train.evaluate_sets import load_set, methods_for, sigma_hole_rows
    doc = json.loads(EVAL.read_text())
    test_set = load_set(NEWCHEM / "sigma_hole.npz")
    mp, err = ev.baseline_multipoles("gasteiger", test_set)
    res = ev.evaluate_multipoles(test_set, mp, err)
    assert res["mep"]["overall"]["mae"] == pytest.approx(
        doc["sets"]["sigma_hole"]["methods"]["gasteiger"]["mep_iso"]["mae"], rel=1e-9)
    rows = []
    from mepviz.electrostatics import multipole_potential
    for k, t in enumerate(test_set):
        rows += sigma_hole_rows(t, {"dft": t.iso_esp, "gasteiger": multipole_potential(t.iso_points, t.mol.positions, *mp[k])})
    for got, want in zip(rows, doc["sigma_hole"]):
        assert got["molecule"] == want["molecule"]
        for name in ("dft", "gasteiger"):
            assert got[name]["v_cap"] == pytest.approx(want[name]["v_cap"], abs=1e-9)
    # DFT puts V_s,max on every halogen cap (σ-hole), charges alone never do
    assert all(r["dft"]["max_angle_deg"] < 10 and r["dft"]["v_cap"] > 0 for r in doc["sigma_hole"])
    assert all(r["gasteiger"]["max_angle_deg"] > 45 for r in doc["sigma_hole"])
