"""Predictions stored next to the weights they came from (e.g. the app gallery's).

One ``.npz`` holds, per model, the sha256 of its weight file (``<model>.weights_sha256``) and,
per molecule id, the atomic multipoles it predicted (``<id>.<model>.charges`` (N,) e,
``.atomic_dipoles`` (N, 3) e·Å, ``.atomic_quadrupoles`` (N, 3, 3) e·Å², float64) and the
molecular moments (``.dipole`` e·Å, ``.quadrupole`` e·Å², ``.origin`` Å; files written
before these were stored get them recomputed), and for a model with a charge-penetration term
its ``.penetration`` (N, 2) (valence electrons e, Slater width Å). A stored prediction is returned only while
the same weight file is installed; otherwise the caller predicts live. Reading it needs no
PyTorch; the predictor assesses it (``Predictor.predict(mol, stored=...)``).

    write(path, {"quadrupole": {"water": prediction, ...}})
    load(path, "water", "quadrupole", mol)       # Prediction or None
"""
from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

from ..core.molecule import Molecule
from ..core.paths import atomic_write
from .cards import weights_sha256
from .predict import Prediction

_FIELDS = ("charges", "atomic_dipoles", "atomic_quadrupoles")
_MOMENTS = ("dipole", "quadrupole", "origin")


def _names(mol_id: str, model: str, fields=_FIELDS) -> list[str]:
    return [f"{mol_id}.{model}.{f}" for f in fields]


def write(path, predictions: dict[str, dict[str, Prediction]], weights_dir=None) -> None:
    """Write {model: {molecule id: Prediction}} with each model's weight-file sha256."""
    arrays = {}
    for model, by_id in predictions.items():
        arrays[f"{model}.weights_sha256"] = np.str_(weights_sha256(model, weights_dir))
        for mol_id, p in by_id.items():
            for name, field in zip(_names(mol_id, model, _FIELDS + _MOMENTS), _FIELDS + _MOMENTS):
                arrays[name] = np.asarray(getattr(p, field), np.float64)
            if p.penetration is not None:
                arrays[f"{mol_id}.{model}.penetration"] = np.asarray(p.penetration, np.float64)
    atomic_write(str(path), lambda fh: np.savez_compressed(fh, **arrays))


@lru_cache(maxsize=4)
def _arrays(path: str, mtime_ns: int) -> dict:
    with np.load(path, allow_pickle=False) as d:
        return {k: d[k] for k in d.files}


def load(path, mol_id: str, model: str, mol: Molecule, weights_dir=None) -> Prediction | None:
    """The stored Prediction of `model` for `mol` (id `mol_id`) when it came from the weight
    file installed now and has `mol`'s atom count; else None (also when `path` is missing)."""
    try:
        d = _arrays(str(path), os.stat(path).st_mtime_ns)
    except (OSError, ValueError):
        return None
    names = _names(mol_id, model)
    sha = d.get(f"{model}.weights_sha256")
    if sha is None or any(n not in d for n in names) or str(sha) != weights_sha256(model, weights_dir):
        return None
    q, p, theta = (d[n] for n in names)
    if q.shape != (mol.n_atoms,) or p.shape != (mol.n_atoms, 3) or theta.shape != (mol.n_atoms, 3, 3):
        return None
    moments = dict(zip(_MOMENTS, (d.get(n) for n in _names(mol_id, model, _MOMENTS))))
    if any(v is None for v in moments.values()):
        moments = {}
    pen = d.get(f"{mol_id}.{model}.penetration")
    return Prediction(molecule=mol, model_name=model, charges=q, atomic_dipoles=p, atomic_quadrupoles=theta,
                      penetration=pen, **moments)
