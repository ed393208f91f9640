"""GFN2-xTB labels for the pool molecules beyond QM9 (pre-training data), on dask.distributed.

    python -m train.xtb_pool run  --pool data/pools/xtb_pool.csv.gz --parts train/xtb_pool_parts [--workers 2 | --scheduler ADDR]
    python -m train.xtb_pool pack --parts train/xtb_pool_parts --out data/xtb_pool/pool_xtb.npz

Geometry: the app's SMILES pipeline (mepviz.io.from_smiles: canonical order, lowest-MMFF of
8 conformers), total charge from the SMILES formal charges. Labels: tblite GFN2-xTB atomic
charges (e) and atomic dipoles (e·Å), molecular dipole (e·Å) **about the centre of mass**
(origin-dependent for ions), traceless Buckingham quadrupole about the centre of mass (e·Å²),
energy (Eh); the same code path as the QM9 xTB labels (mepviz.physics.baselines.xtb_multipoles).

Rows are processed in chunks of `--chunk` (one dask task each); each finished chunk is saved
as ``<parts>/chunk_<k>.npz`` (resumable); `pack` concatenates the finished chunks. Molecules
whose geometry or xTB fails are listed in the chunk's `failed` array and skipped.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys

import numpy as np

from train import labelling
from train.pools import read_rows

#: a chunk file and the packed file (positions and atomic multipoles float32)
FIELDS = (*(labelling.molecule(k, str) for k in ("name", "smiles", "source")),
          labelling.molecule("charge", np.int64), labelling.count("atom_count", "z", np.int64),
          labelling.molecule("energy", np.float64), labelling.molecule("dipole", np.float64, (3,)),
          labelling.molecule("quadrupole_com", np.float64, (3, 3)),
          labelling.molecule("center_of_mass", np.float64, (3,)), labelling.rows("z", "atom_count", np.int8),
          labelling.rows("pos", "atom_count", np.float32, (3,)), labelling.rows("charges", "atom_count", np.float32),
          labelling.rows("atomic_dipoles", "atom_count", np.float32, (3,)))


def label_row(row: dict) -> dict:
    """xTB labels of one pool row (a record of FIELDS)."""
    from mepviz.io import from_smiles
    from mepviz.physics.baselines import xtb_multipoles
    mol = from_smiles(row["smiles"], charge=int(row["charge"]), name=row["id"])
    r = xtb_multipoles(mol)
    return dict(name=row["id"], smiles=row["smiles"], source=row["source"], charge=mol.charge,
                energy=r.energy, dipole=r.dipole - mol.charge * r.center_of_mass,
                quadrupole_com=r.quadrupole_com, center_of_mass=r.center_of_mass,
                z=mol.numbers, pos=mol.positions, charges=r.charges, atomic_dipoles=r.dipoles)


def label_rows(rows: list[dict]) -> dict:
    """xTB labels of a list of pool rows → flat arrays (per-atom arrays concatenated), and
    `failed`: "id: error" of each molecule whose geometry or xTB failed."""
    recs, failed = labelling.label_each(rows, label_row)
    return {**labelling.flatten(recs, FIELDS), "failed": np.array([f"{r['id']}: {e}" for r, e in failed], dtype=str)}


def _chunk_stem(k: int) -> str:
    return f"chunk_{k:05d}"


def _chunk_summary(arrays: dict) -> dict:
    return labelling.chunk_summary(len(arrays["name"]), len(arrays["failed"]))


def run(pool: str, parts: str, chunk: int = 250, workers: int = 1, scheduler: str | None = None,
        log=print) -> dict:
    """Label the rows of `pool` in chunks of `chunk` on dask.distributed; returns counts."""
    rows = read_rows(pool)
    tasks = [labelling.Task(_chunk_stem(k), rows[k * chunk:(k + 1) * chunk], {"chunk": k}, title=f"chunk {k}")
             for k in range(0, (len(rows) + chunk - 1) // chunk)]
    todo = sum(labelling.pending(parts, t.stem) for t in tasks)
    log(f"{len(rows)} molecules in {pool}: {todo} chunks of {chunk} to go")
    return labelling.run(tasks, label_rows, parts, compressed=True, summary=_chunk_summary,
                         describe=labelling.describe_chunk, dask=True, workers=workers, scheduler=scheduler, key="xtb-chunk", log=log)


def pack(parts: str, out: str, log=print) -> dict:
    chunks = [labelling.read_record(p) for p in sorted(glob.glob(os.path.join(parts, "chunk_*.npz")))]
    if not chunks:
        raise ValueError(f"no finished chunks in {parts}")
    arrays = labelling.concatenate(chunks, [f.key for f in FIELDS])
    n_failed = sum(len(c["failed"]) for c in chunks)
    labelling.write_record(out, arrays, compressed=True)
    log(f"packed {len(arrays['name'])} molecules ({n_failed} failed) from {len(chunks)} chunks into {out}")
    return arrays


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.xtb_pool", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--pool", default=os.path.join("data", "pools", "xtb_pool.csv.gz"))
    r.add_argument("--parts", default=os.path.join("train", "xtb_pool_parts"))
    r.add_argument("--chunk", type=int, default=250)
    r.add_argument("--workers", type=int, default=1)
    r.add_argument("--scheduler")
    p = sub.add_parser("pack")
    p.add_argument("--parts", default=os.path.join("train", "xtb_pool_parts"))
    p.add_argument("--out", default=os.path.join("data", "xtb_pool", "pool_xtb.npz"))
    a = ap.parse_args(argv)
    if a.cmd == "run":
        return labelling.command(lambda: run(a.pool, a.parts, a.chunk, a.workers, a.scheduler,
                                             log=lambda s: print(s, flush=True)))
    return labelling.command(lambda: pack(a.parts, a.out))


if __name__ == "__main__":
    sys.exit(main())
