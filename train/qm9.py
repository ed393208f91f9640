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
    xyz = np.array(json.loads(row["XYZ_Ang"]), dtype=float)
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
