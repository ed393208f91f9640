"""Stored predictions (mepviz.stored_predictions) and the gallery's predictions.npz: used only
for the very weight file they came from, and then equal to a live prediction."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from mepviz import stored_predictions
from mepviz.molecule import MoleculeInputError
from mepviz.paths import gallery_dir, weights_dir
from mepviz.predict import get_predictor, installed_models


def stored_matches_live(mol, model: str, label: str) -> bool:
    """Assert the stored prediction of `mol` with `model` is the live one (None where the model
    refuses the molecule); True when a prediction was compared."""
    from appkit import gallery
    stored = gallery.shipped_prediction(mol, model)
    try:
        live = get_predictor(model).predict(mol)
    except MoleculeInputError:
        assert stored is None
        return False
    assert stored is not None, f"{label}/{model}: no stored prediction for these weights"
    for field in ("charges", "atomic_dipoles", "atomic_quadrupoles", "dipole"):
        np.testing.assert_allclose(getattr(stored, field), getattr(live, field), atol=1e-6)
    return True


def test_gallery_predictions_match_the_installed_weights():
    """Every gallery entry × installed model: the shipped prediction is the live one (if this
    fails after retraining, run `python train/make_gallery.py --predictions`)."""
    from appkit import gallery
    checked = sum(stored_matches_live(gallery.load(e["id"]), model, e["id"])
                  for e in gallery.entries() for model in installed_models())
    assert checked >= 20


def test_stored_predictions_are_only_used_with_their_weights(tmp_path):
    from mepviz.inputs import from_smiles
    mol, other = from_smiles("O"), from_smiles("CO")
    wdir = tmp_path / "w"
    wdir.mkdir()
    for f in ("quadrupole.pt", "quadrupole.json"):
        shutil.copy(weights_dir() / f, wdir / f)
    pred = get_predictor("quadrupole").predict(mol)
    path = tmp_path / "p.npz"
    stored_predictions.write(path, {"quadrupole": {"water": pred}}, weights_dir=wdir)
    got = stored_predictions.load(path, "water", "quadrupole", mol, weights_dir=wdir)
    np.testing.assert_array_equal(got.charges, pred.charges)
    np.testing.assert_array_equal(got.quadrupole, pred.quadrupole)
    assert stored_predictions.load(path, "water", "dipole", mol, weights_dir=wdir) is None   # not stored
    assert stored_predictions.load(path, "water", "quadrupole", other, weights_dir=wdir) is None   # atom count
    assert stored_predictions.load(tmp_path / "missing.npz", "water", "quadrupole", mol, weights_dir=wdir) is None
    with open(wdir / "quadrupole.pt", "ab") as fh:          # other weights: ignored
        fh.write(b"\0")
    assert stored_predictions.load(path, "water", "quadrupole", mol, weights_dir=wdir) is None


def test_landing_page_draws_its_example_without_pytorch():
    """A fresh process renders Home (the example's MEP from the shipped predictions) without
    importing torch in the page itself; the networks then load in a background thread."""
    import subprocess
    import sys
    code = ("import sys, threading\n"
            "from streamlit.testing.v1 import AppTest\n"
            "import appkit.compute as c\n"
            "c.warm_up = lambda *a, **k: None\n"          # keep the background load out of this check
            f"at = AppTest.from_file({str(gallery_dir().parents[2] / 'app.py')!r}, default_timeout=120).run()\n"
            "assert not at.exception, at.exception\n"
            "assert at.metric and float(at.metric[0].value) > 0\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
