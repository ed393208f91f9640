"""The applicability check, the limits, the Hill formula, the registry and the file locations."""
from __future__ import annotations

import numpy as np
import pytest

from mepviz import Molecule, MoleculeInputError, limits, paths, registry
from mepviz.applicability import assess
from mepviz.inputs import from_smiles, from_xyz, parse_text

WATER = Molecule([8, 1, 1], [[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]])
QM9_CARD = {"config": {"elements": [1, 6, 7, 8, 9]}}
WIDE_CARD = {"config": {"elements": list(registry.MODEL_ELEMENTS)}, "training_elements": [1, 6, 7, 8, 9, 16, 17],
             "training_charges": [-2, -1, 0, 1, 2], "training_max_heavy_atoms": 12}


# --------------------------------------------------------------------------- formula
@pytest.mark.parametrize("numbers, formula", [
    ([6, 8, 8], "CO2"), ([6, 17, 17, 17, 17], "CCl4"), ([8, 1, 1], "H2O"), ([17, 1], "ClH"),
    ([6, 6, 1, 1, 1, 1, 1, 1, 8], "C2H6O"), ([7, 1, 1, 1], "H3N"), ([6, 8], "CO"), ([53, 6, 1, 1, 1], "CH3I"),
    ([16, 8, 8, 6, 1, 1, 1, 1, 1, 1, 6], "C2H6O2S"),
])
def test_hill_formula(numbers, formula):
    mol = Molecule(numbers, np.arange(3 * len(numbers), dtype=float).reshape(-1, 3))
    assert mol.formula == formula


def test_formula_from_smiles():
    assert from_smiles("O=C=O").formula == "CO2"
    assert from_smiles("ClC(Cl)(Cl)Cl").formula == "CCl4"


# --------------------------------------------------------------------------- applicability
def test_plain_molecule_has_no_notes():
    for name in (None, "quadrupole"):
        verdict = assess(WATER, name, card=QM9_CARD)
        assert verdict.ok and verdict.notes == ()
        verdict.raise_if_refused()


def test_element_refusals_use_one_message_format():
    silane = Molecule([14, 1, 1, 1, 1], np.array([[0, 0, 0], [1, 1, 1], [-1, -1, 1], [-1, 1, -1], [1, -1, -1]]) * 0.86)
    assert assess(silane, "dipole", card=QM9_CARD).refusal == (
        "The ML models do not support Si: supported elements are H, C, N, O, F, P, S, Cl, Br, I.")
    chloro = from_smiles("CCl")
    assert assess(chloro, "dipole", card=QM9_CARD).refusal == (
        "The dipole model's weights do not support Cl: supported elements are H, C, N, O, F.")
    with pytest.raises(MoleculeInputError, match="do not support Cl"):
        assess(chloro, "dipole", card=QM9_CARD).raise_if_refused()
    assert assess(chloro, "dipole", card=WIDE_CARD).ok
    assert assess(silane).ok                      # the DFT reference handles Si


def test_notes_follow_the_model_card():
    bromo = from_smiles("CCBr")
    notes = assess(bromo, "quadrupole", card=WIDE_CARD).notes
    assert notes == ("Br lie outside what the quadrupole model was trained on (H, C, N, O, F, S, Cl): "
                     "expect larger errors.",)
    anion = from_smiles("[O-]C(=O)C(=O)[O-]")
    assert assess(anion, "quadrupole", card=WIDE_CARD).notes == ()
    assert "neutral molecules only" in assess(anion, "quadrupole", card=QM9_CARD).notes[0]
    big = from_smiles("CCCCCCCCCCCCC")
    assert any("13 heavy atoms: larger than the quadrupole model's training molecules (at most 12)" in n
               for n in assess(big, "quadrupole", card=WIDE_CARD).notes)


def test_missing_weights_are_a_clear_refusal(monkeypatch, tmp_path):
    monkeypatch.setenv("MEPVIZ_WEIGHTS", str(tmp_path))
    verdict = assess(WATER, "dipole-xtb")
    assert not verdict.ok and "has no weights installed" in verdict.refusal and "dipole-xtb.pt" in verdict.refusal
    with pytest.raises(ValueError, match="unknown model 'octupole'"):
        assess(WATER, "octupole")


def test_charge_plausibility_and_dft_range():
    water = lambda q, m=1: Molecule(WATER.numbers, WATER.positions, charge=q, multiplicity=m)  # noqa: E731
    assert "larger in magnitude than the 10 electrons" in assess(water(-40)).refusal
    assert "larger in magnitude" in assess(water(-40), "dipole", card=QM9_CARD).refusal
    assert "leaves no electrons" in assess(water(10)).refusal
    assert "outside the DFT reference's range (-4…+4)" in assess(water(-6)).refusal
    assert assess(water(-4)).ok
    verdict = assess(water(-4), "dipole", card=QM9_CARD)
    assert verdict.ok and "outside the charges the models are built for" in verdict.notes[0]
    # the one gate: a charge the DFT reference calls meaningless is refused by the models too
    assert "outside the DFT reference's range (-4…+4)" in assess(water(-6), "dipole", card=QM9_CARD).refusal


def test_geometry_notes():
    (far_h,) = parse_text("4\nmultiplicity=2\nO 0 0 0.1173\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n"
                          "H 12 0 0\n", "xyz")
    notes = assess(far_h).notes
    assert notes[0].startswith("2 disconnected fragments")
    assert notes[1].startswith("Atom 4 (H) is isolated: its nearest atom is 12.")
    bohr = Molecule(WATER.numbers, WATER.positions * 1.8897)
    assert assess(bohr).notes == ("Bond lengths are about 1.9× typical: are the coordinates in bohr instead of Å?",)


def test_fragments_of_molecules_without_a_bond_list():
    from mepviz.geometry import fragments
    from mepviz.metrics import load_test_set
    qm9 = load_test_set(n=3)[2].mol                  # SMILES but no bond list: bonds are guessed
    assert qm9.smiles and not qm9.bonds and fragments(qm9) == [list(range(qm9.n_atoms))]
    ions = Molecule([55, 53], [[0, 0, 0], [4.0, 0, 0]], smiles="[Cs+].[I-]")
    assert fragments(ions) == [[0], [1]]            # 4 Å is within guessing distance of Cs–I


# --------------------------------------------------------------------------- limits
def test_limits_name_themselves():
    with pytest.raises(MoleculeInputError, match="the limit of the molecular extent is 60 Å"):
        limits.check_extent([[0, 0, 0], [61, 0, 0]])
    with pytest.raises(MoleculeInputError, match="coordinates are limited to ±10000 Å"):
        limits.check_coordinates([[1e30, 0, 0]])
    with pytest.raises(MoleculeInputError, match="the limit of grid points is 16,000,000"):
        limits.check_grid((1000, 1000, 17))
    limits.check_grid((250, 250, 250))
    with pytest.raises(MoleculeInputError, match="the limit of points per request is 1,000,000"):
        limits.check_points(limits.MAX_POINTS + 1)
    with pytest.raises(MoleculeInputError, match="holds at least 501 molecules; the limit is 500"):
        limits.check_frames(501, "The XYZ file", at_least=True)


def test_surface_grid_is_checked_before_allocation():
    from mepviz.surfaces import isodensity_surface
    with pytest.raises(MoleculeInputError, match="limit of grid points"):
        isodensity_surface(from_smiles("c1ccccc1"), spacing=0.02)    # ~460 × 460 × 210 points


def test_prediction_points_are_limited():
    from mepviz.predict import Prediction
    pred = Prediction(WATER, "test", np.zeros(3), np.zeros((3, 3)), np.zeros((3, 3, 3)))
    too_many = np.broadcast_to(np.ones(3), (limits.MAX_POINTS + 1, 3))     # a view: no memory
    with pytest.raises(MoleculeInputError, match="points per request"):
        pred.mep(too_many)


def test_doubled_carriage_returns_are_line_ends():
    text = "3\r\r\nwater\r\r\nO 0 0 0.1173\r\r\nH 0 0.7572 -0.4692\r\r\nH 0 -0.7572 -0.4692\r\r\n"
    (mol,) = from_xyz(text)
    assert mol.formula == "H2O" and mol.name == "water"


# --------------------------------------------------------------------------- registry, paths
def test_one_registry():
    from appkit import compute
    from mepviz import predict, surfaces, units
    assert predict.AVAILABLE_MODELS == registry.MODEL_NAMES == compute.model_names()
    assert surfaces.SURFACE_KINDS == registry.SURFACE_KINDS == compute.surface_kinds()
    assert tuple(units.POTENTIAL_UNITS) == registry.POTENTIAL_UNIT_NAMES
    assert compute.SURFACE_LABELS == registry.SURFACES
    assert compute.MODEL_LABELS == {n: registry.model_label(n) for n in registry.MODEL_NAMES}


def test_paths_from_the_repository_and_overrides(monkeypatch, tmp_path):
    monkeypatch.delenv("MEPVIZ_WEIGHTS", raising=False)
    monkeypatch.delenv("MEPVIZ_HOME", raising=False)
    assert (paths.weights_dir() / "quadrupole.json").is_file()
    assert (paths.static_dir()).is_dir()
    assert (paths.gallery_dir() / "index.json").is_file()
    assert paths.evaluation_path() == paths.weights_dir() / "evaluation.json"
    monkeypatch.setenv("MEPVIZ_HOME", str(tmp_path))
    assert paths.weights_dir() == tmp_path / "weights" and paths.static_dir() == tmp_path / "static"
    monkeypatch.setenv("MEPVIZ_WEIGHTS", str(tmp_path / "w"))
    assert paths.weights_dir() == tmp_path / "w"


@pytest.mark.slow
def test_installed_package_finds_its_files(tmp_path):
    """Build the wheel (pyproject.toml), install it elsewhere, and run it from a folder that is
    not the repository: package data comes from the package, weights via $MEPVIZ_HOME."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path / "wheel"), str(root)], check=True, env=env, cwd=tmp_path)
    (wheel,) = (tmp_path / "wheel").glob("mepviz-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(tmp_path / "site"), str(wheel)], check=True, env=env, cwd=tmp_path)
    code = ("import mepviz, mepviz.paths as p; from mepviz.predict import installed_models; "
            "print(mepviz.__file__); print((p.gallery_dir() / 'index.json').is_file()); "
            "print(installed_models())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env=dict(env, PYTHONPATH=str(tmp_path / "site"), MEPVIZ_HOME=str(root)), check=True)
    lines = out.stdout.splitlines()
    assert lines[0].startswith(str(tmp_path / "site")) and lines[1] == "True"
    assert "quadrupole" in lines[2]


def test_reading_notes_become_visible():
    from pathlib import Path

    from mepviz.inputs import read_file
    (mol,) = read_file(Path(__file__).parent / "good_inputs" / "phenol_2d.mol")
    assert "2D input: 3D coordinates were generated (ETKDGv3 + force field)." in assess(mol).notes
