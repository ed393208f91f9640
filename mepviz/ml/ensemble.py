"""The uncertainty of a map: the spread of an ensemble of independently trained weights.

``mepviz.core.registry.ENSEMBLES`` names each ensemble's members (weight-file stems relative
to the weights folder, the shipped file first). Where they disagree, the map is uncertain:

    members = ensemble_members("mep")                 # [Path stems] (all present) or []
    preds = ensemble_predictions(mol, "mep")          # one Prediction per member
    mean, spread = ensemble_spread(preds, surface.vertices)   # kcal/mol/e; spread = std over members

How well the spread marks the real error on the test sets (Spearman rank correlation per
point and per molecule) is measured by ``train.evaluate.ensemble_calibration`` and written into
weights/evaluation*.json under "uncertainty"; :func:`calibration_rows` reads it back.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..core.molecule import Molecule
from ..core.paths import weights_dir as default_weights_dir
from ..core.registry import ENSEMBLES, check_model_name
from . import cards
from .predict import Prediction, Predictor


def ensemble_members(name: str, weights_dir=None) -> list[Path]:
    """The member stems of `name`'s ensemble when every member's weights are installed, else []."""
    members = ENSEMBLES.get(check_model_name(name), ())
    base = Path(weights_dir) if weights_dir is not None else default_weights_dir()
    stems = [base / m for m in members]
    if len(stems) < 2 or not all(cards.stem_has_weights(s) for s in stems):
        return []
    return stems


class MemberPredictor(Predictor):
    """A :class:`Predictor` for one ensemble member's weight file (any stem, e.g. a seed in
    weights/studies/), assessed as the model `model_name`."""

    def __init__(self, stem, model_name: str):
        self.model_name = check_model_name(model_name)
        self._stem = Path(stem)
        self.weights_dir = self._stem.parent
        self.card = dict(cards.read_card(self._stem))
        self._dtype = None
        self._net = None
        self._lock = threading.Lock()


_MEMBERS: dict = {}
_LOCK = threading.Lock()


def member_predictors(name: str, weights_dir=None) -> list[Predictor]:
    """Cached predictors of `name`'s ensemble members (empty when a member is missing)."""
    out = []
    for stem in ensemble_members(name, weights_dir):
        key = (str(stem), stem.with_suffix(".pt").stat().st_mtime_ns)
        with _LOCK:
            if key not in _MEMBERS:
                _MEMBERS[key] = MemberPredictor(stem, name)
            out.append(_MEMBERS[key])
    return out


def ensemble_predictions(mol: Molecule, name: str, weights_dir=None) -> list[Prediction]:
    """One prediction per member of `name`'s ensemble ([] when it is not installed)."""
    return [p.predict(mol) for p in member_predictors(name, weights_dir)]


def ensemble_spread(predictions, points) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation over the members) of the MEP (kcal/mol/e) at `points` (Å)."""
    v = np.stack([p.mep(points) for p in predictions])
    return v.mean(0), v.std(0)


def calibration_rows(qm9_doc: dict | None, sets_doc: dict | None, name: str) -> list[dict]:
    """The measured calibration of `name`'s ensemble per test set, from the evaluation files'
    "uncertainty" entries (train.evaluate.ensemble_calibration): set, Spearman ρ per point and
    per molecule, mean spread and MAE (kcal/mol/e)."""
    found = []
    if qm9_doc and isinstance((qm9_doc.get("uncertainty") or {}).get(name), dict):
        found.append(("QM9 test", qm9_doc["uncertainty"][name]))
    for key, res in ((sets_doc or {}).get("sets") or {}).items():
        u = (res.get("uncertainty") or {}).get(name)
        if isinstance(u, dict):
            found.append((res.get("label", key), u))
    return [{"test set": label, "molecules": u.get("n_molecules"),
             "Spearman ρ, points": u.get("spearman_points"),
             "Spearman ρ, points within a molecule (median)": u.get("spearman_points_within_molecule_median"),
             "Spearman ρ, molecules": u.get("spearman_molecules"),
             "mean spread (kcal/mol/e)": u.get("mean_spread"), "MAE (kcal/mol/e)": u.get("mae")}
            for label, u in found]
