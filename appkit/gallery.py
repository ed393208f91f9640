"""The example gallery (mepviz/data/gallery/, written by train/make_gallery.py).

``index.json`` lists the entries; each has an XYZ geometry and, for molecules whose DFT
reference was precomputed, an ``.npz`` written by ``ReferenceResult.save(compact=True)``
(read back with ``ReferenceResult.load``) plus the reference MEP on the default
isodensity surface so the comparison is instant.

    from appkit import gallery
    for e in gallery.entries(): e["id"], e["label"]
    mol = gallery.load("water")
    gallery.reference_for(mol)   # ReferenceResult or None (matched by geometry key)
    gallery.shipped_prediction(mol, "quadrupole")   # Prediction or None (see below)

``predictions.npz`` holds each entry's atomic multipoles predicted by every shipped model,
with the sha256 of the weight file they came from: the landing page shows its example at
once, before PyTorch is imported; any other weights make them ignored (computed live).
"""
from __future__ import annotations

import json
import threading
from functools import lru_cache
import numpy as np

from mepviz.core.paths import gallery_dir

GALLERY_DIR = gallery_dir()
_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _index() -> tuple:
    path = GALLERY_DIR / "index.json"
    if not path.exists():
        return ()
    return tuple(json.loads(path.read_text())["molecules"])


def entries() -> list[dict]:
    """Gallery entries: dicts with id, label, description, xyz, reference (file or None),
    key (Molecule.key() of the stored geometry), elements."""
    return [dict(e) for e in _index()]


def entry(gallery_id: str) -> dict:
    for e in _index():
        if e["id"] == gallery_id:
            return dict(e)
    raise KeyError(gallery_id)


@lru_cache(maxsize=32)
def load(gallery_id: str):
    """The gallery molecule `gallery_id` as a :class:`mepviz.Molecule`."""
    from mepviz.io import from_xyz
    e = entry(gallery_id)
    mol = from_xyz((GALLERY_DIR / e["xyz"]).read_text())[0]
    from dataclasses import replace
    return replace(mol, name=e["label"], smiles=e.get("smiles", mol.smiles))


@lru_cache(maxsize=1)
def _by_key() -> dict:
    return {e["key"]: e for e in _index() if e.get("reference")}


@lru_cache(maxsize=32)
def _npz(filename: str) -> dict:
    with np.load(GALLERY_DIR / filename, allow_pickle=False) as d:
        return {k: d[k] for k in d.files}


def reference_for(mol):
    """ReferenceResult shipped with the gallery for this exact geometry/charge, else None."""
    e = _by_key().get(mol.key())
    if e is None:
        return None
    with _LOCK:
        return _reference(e["reference"], mol)


_REF_CACHE: dict = {}


def _reference(filename: str, mol):
    if filename not in _REF_CACHE:
        from mepviz.physics.reference import ReferenceResult
        _REF_CACHE[filename] = ReferenceResult.load(GALLERY_DIR / filename, mol)
    return _REF_CACHE[filename]


def precomputed_values(mol, kind: str, surface):
    """The shipped reference MEP on `surface` when it is the very surface it was computed on
    (same vertex count and coordinates checksum), else None."""
    e = _by_key().get(mol.key())
    if e is None:
        return None
    d = _npz(e["reference"])
    k = kind.replace(".", "_")
    if f"values_{k}" not in d:
        return None
    verts = np.asarray(surface.vertices, float)
    if int(d[f"nverts_{k}"]) != len(verts):
        return None
    if not np.allclose(float(d[f"vsum_{k}"]), float(np.abs(verts).sum()), rtol=1e-9, atol=1e-6):
        return None
    return d[f"values_{k}"].astype(np.float64)


def shipped_prediction(mol, model: str):
    """The Prediction of `model` for a gallery molecule (this exact geometry and charge) from
    predictions.npz, or for a lesson molecule (Learn?lesson=…, stored by its ``Molecule.key()``)
    from lesson_predictions.npz (mepviz.ml.stored: only for the weight file in use), else None."""
    from mepviz.ml import stored as stored_predictions
    key = mol.key()
    e = next((e for e in _index() if e["key"] == key), None)
    if e is None:
        return stored_predictions.load(LESSON_PREDICTIONS, key, model, mol)
    return stored_predictions.load(GALLERY_DIR / "predictions.npz", e["id"], model, mol)


#: the lessons' molecules predicted by every installed model (keyed by Molecule.key(), so a
#: molecule built differently, e.g. by another RDKit, is predicted live): a lesson opens
#: without PyTorch (``python -m appkit.gallery --lesson-predictions`` after new weights)
LESSON_PREDICTIONS = GALLERY_DIR / "lesson_predictions.npz"


def lesson_molecules() -> list:
    """The molecules the Learn page's lessons show: each contrast lesson's (from its SMILES, as
    appkit.lessons builds them) and the σ-hole lesson's stored DFT geometries."""
    from mepviz.core.paths import project_file
    from mepviz.io import from_smiles
    from mepviz.report.learn import LESSONS
    mols = [from_smiles(smi) for ls in LESSONS.values() if not ls.sigma_hole for _, smi in ls.molecules]
    path = project_file("data/newchem/sigma_hole.npz")
    if path.is_file():
        from mepviz.report.metrics import load_test_set
        names = {n for ls in LESSONS.values() if ls.sigma_hole for n in ls.molecules}
        mols += [t.mol for t in load_test_set(str(path)) if t.mol.name in names]
    return mols


def write_lesson_predictions(path=None) -> int:
    """Write LESSON_PREDICTIONS: every lesson molecule × every installed model; returns the count."""
    from mepviz.ml import stored as stored_predictions
    from mepviz.ml.cards import installed_models
    from mepviz.ml.predict import get_predictor
    out = {}
    for model in installed_models():
        pred, out[model] = get_predictor(model), {}
        for mol in lesson_molecules():
            try:
                out[model][mol.key()] = pred.predict(mol)
            except Exception as exc:     # noqa: BLE001 - e.g. an element the model lacks
                print(f"  {mol.name or mol.formula}/{model}: not predicted ({exc})")
    stored_predictions.write(path or LESSON_PREDICTIONS, out)
    return sum(map(len, out.values()))


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="Stored predictions of the app's lessons.")
    ap.add_argument("--lesson-predictions", action="store_true",
                    help=f"rewrite {LESSON_PREDICTIONS.name} (after new weights)")
    if ap.parse_args().lesson_predictions:
        print(f"wrote {LESSON_PREDICTIONS}: {write_lesson_predictions()} predictions")
