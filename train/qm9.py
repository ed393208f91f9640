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
