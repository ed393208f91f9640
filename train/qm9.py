"""QM9 geometries from the PyPI package qm9pack, in the project's fixed permutation.

Reads qm9pack's CSVs directly (its get_data needs pkg_resources). Rows are in qm9pack
order part1, part2, part3; the permutation is numpy.random.default_rng(0).permutation(130831).
Positions 0–99 are reserved (never train or tune), 100–199 are the test split, 200+ training.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

N_QM9 = 130831
RESERVED = range(0, 100)
TEST_POSITIONS = range(100, 200)
FIRST_TRAIN_POSITION = 200
_COLUMNS = ["Index", "SMILES", "Elements", "XYZ_Ang", "Dipole_debye"]


def _data_dir() -> str:
    import importlib.util
    spec = importlib.util.find_spec("qm9pack")  # locate without importing (its __init__ needs pkg_resources)
    return os.path.join(os.path.dirname(spec.origin), "data")


@lru_cache(maxsize=1)
def table() -> pd.DataFrame:
    """All 130,831 QM9 rows in qm9pack order (columns Index, SMILES, Elements, XYZ_Ang, Dipole_debye)."""
    parts = [pd.read_csv(os.path.join(_data_dir(), f"qm9_part{i}.csv"), usecols=_COLUMNS) for i in (1, 2, 3)]
    df = pd.concat(parts, ignore_index=True)
    if len(df) != N_QM9:
        raise RuntimeError(f"qm9pack has {len(df)} rows, expected {N_QM9}")
    return df


def _coordinates(text: str) -> list:
    """qm9pack's XYZ_Ang cell as nested lists (a few rows write floats Fortran-style, '0.')."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        import ast
        return ast.literal_eval(text)


@lru_cache(maxsize=1)
def permutation() -> np.ndarray:
    return np.random.default_rng(0).permutation(N_QM9)


@dataclass(frozen=True)
class QM9Entry:
    position: int        # position in the fixed permutation
    index: int           # QM9 `Index`
    smiles: str
    numbers: np.ndarray  # (N,)
    positions: np.ndarray  # (N, 3) Å
    dipole_debye: float  # QM9's own |μ|


def entry(position: int) -> QM9Entry:
    """The molecule at `position` of the fixed permutation."""
    from mepviz.elements import atomic_number
    row = table().iloc[int(permutation()[position])]
    symbols = json.loads(row["Elements"].replace("'", '"'))
    xyz = np.array(_coordinates(row["XYZ_Ang"]), dtype=float)
    return QM9Entry(position=int(position), index=int(row["Index"]), smiles=str(row["SMILES"]),
                    numbers=np.array([atomic_number(s) for s in symbols]), positions=xyz,
                    dipole_debye=float(row["Dipole_debye"]))


# --------------------------------------------------------------------------- portable entry files

def export_entries(positions, path: str) -> int:
    """Write the QM9 entries at `positions` to a small .npz, so a machine without qm9pack
    (a rented GPU, say) can label them with ``train.label run --entries``. Returns the count."""
    es = [entry(int(p)) for p in positions]
    np.savez_compressed(
        path, position=np.array([e.position for e in es], np.int64),
        qm9_index=np.array([e.index for e in es], np.int64),
        smiles=np.array([e.smiles for e in es]),
        atom_count=np.array([len(e.numbers) for e in es], np.int32),
        z=np.concatenate([np.asarray(e.numbers, np.int8) for e in es]),
        pos=np.concatenate([e.positions for e in es]),
        dipole_debye=np.array([e.dipole_debye for e in es]))
    return len(es)


def load_entries(path: str) -> dict[int, QM9Entry]:
    """The entries of an `export_entries` file, keyed by permutation position."""
    with np.load(path, allow_pickle=False) as d:
        ends = np.cumsum(d["atom_count"])
        starts = ends - d["atom_count"]
        return {int(p): QM9Entry(position=int(p), index=int(i), smiles=str(s),
                                 numbers=d["z"][a:b].astype(int), positions=d["pos"][a:b].copy(),
                                 dipole_debye=float(m))
                for p, i, s, a, b, m in zip(d["position"], d["qm9_index"], d["smiles"],
                                            starts, ends, d["dipole_debye"])}


# --------------------------------------------------------------------------- QM9's own |μ|

#: default cache of QM9 geometries and |μ| (ignored folder; rebuilt from qm9pack when missing)
GEOMETRY_CACHE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "cache", "qm9_geometries.npz")


def build_geometries(positions, path: str) -> str:
    """Write the geometries (Å) and QM9 |μ| (D) of the molecules at permutation `positions`
    to `path` (.npz: position, qm9_index, atom_count, z int8, pos float32, dipole_debye)."""
    from mepviz.elements import atomic_number
    positions = np.asarray(positions, dtype=np.int64)
    rows = table().iloc[permutation()[positions]]
    counts, zs, xyz = [], [], []
    for el, xy in zip(rows["Elements"], rows["XYZ_Ang"]):
        symbols = json.loads(el.replace("'", '"'))
        counts.append(len(symbols))
        zs.extend(atomic_number(s) for s in symbols)
        xyz.extend(_coordinates(xy))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, position=positions, qm9_index=rows["Index"].to_numpy(np.int64),
             atom_count=np.array(counts, np.int32), z=np.array(zs, np.int8),
             pos=np.array(xyz, np.float32).reshape(-1, 3),
             dipole_debye=rows["Dipole_debye"].to_numpy(np.float64))
    os.replace(tmp, path)
    return path


def geometries(path: str = GEOMETRY_CACHE) -> str:
    """Path of the cached geometries of every training position (≥ FIRST_TRAIN_POSITION),
    built from qm9pack on first use (~130,600 molecules, ~30 MB)."""
    if not os.path.exists(path):
        build_geometries(np.arange(FIRST_TRAIN_POSITION, N_QM9), path)
    return path
