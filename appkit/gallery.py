"""The example gallery (mepviz/data/gallery/, written by train/make_gallery.py).

``index.json`` lists the entries; each has an XYZ geometry and, for molecules whose DFT
reference was precomputed, an ``.npz`` with the packed density matrix (float32 lower
triangle) and moments — enough to rebuild a :class:`mepviz.reference.ReferenceResult`
and evaluate the reference MEP anywhere — plus the reference MEP on the default
isodensity surface so the comparison is instant.

    from appkit import gallery
    for e in gallery.entries(): e["id"], e["label"]
    mol = gallery.load("water")
    gallery.reference_for(mol)   # ReferenceResult or None (matched by geometry key)
"""
from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

GALLERY_DIR = Path(__file__).resolve().parent.parent / "mepviz" / "data" / "gallery"
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
    from mepviz.inputs import from_xyz
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
    if filename in _REF_CACHE:
        return _REF_CACHE[filename]
    from mepviz.reference import ReferenceResult   # no PySCF import needed until .mep()
    d = _npz(filename)
    nao = int(d["nao"])
    dm = unpack_tril(d["dm_tril"], nao)
    assert dm.shape == (nao, nao)
    ref = ReferenceResult(
        molecule=mol, method=str(d["method"]), basis=str(d["basis"]), energy=float(d["energy"]),
        dipole=d["dipole"], second_moment=d["second_moment"], center_of_mass=d["center_of_mass"],
        quadrupole=d["quadrupole"], wall_time=float(d["wall_time"]), converged=bool(d["converged"]),
        scf_cycles=int(d["scf_cycles"]), from_cache=True, grid_level=int(d["grid_level"]),
        density_fit=bool(d["density_fit"]), pyscf_version=str(d["pyscf_version"]), dm=dm)
    _REF_CACHE[filename] = ref
    return ref


def unpack_tril(tril, nao: int) -> np.ndarray:
    """Symmetric (nao, nao) float64 matrix from its row-major lower triangle (as
    ``numpy.tril_indices``/``pyscf.lib.pack_tril`` store it)."""
    m = np.zeros((nao, nao))
    il = np.tril_indices(nao)
    m[il] = np.asarray(tril, float)
    m.T[il] = np.asarray(tril, float)
    return m


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


def vertex_checksum(vertices) -> float:
    """Checksum used to recognise the surface the shipped values belong to."""
    return float(np.abs(np.asarray(vertices, float)).sum())
