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
import time

import numpy as np

from mepviz.cli.cluster import dask_client, dask_distributed
from mepviz.core.paths import atomic_write
from train.pools import read_rows

MOLECULE_KEYS = ("name", "smiles", "source", "charge", "atom_count", "energy", "dipole",
                 "quadrupole_com", "center_of_mass")
ATOM_KEYS = ("z", "pos", "charges", "atomic_dipoles")


def label_rows(rows: list[dict]) -> dict:
    """xTB labels of a list of pool rows → flat arrays (per-atom arrays concatenated)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from mepviz.io import from_smiles
    from mepviz.physics.baselines import xtb_multipoles
    out = {k: [] for k in MOLECULE_KEYS + ATOM_KEYS}
    failed = []
    for row in rows:
        try:
            mol = from_smiles(row["smiles"], charge=int(row["charge"]), name=row["id"])
            r = xtb_multipoles(mol)
        except Exception as exc:   # noqa: BLE001 - one bad molecule never stops a chunk
            failed.append(f"{row['id']}: {type(exc).__name__}: {exc}")
            continue
        values = dict(name=row["id"], smiles=row["smiles"], source=row["source"], charge=mol.charge,
                      atom_count=mol.n_atoms, energy=r.energy,
                      dipole=r.dipole - mol.charge * r.center_of_mass,
                      quadrupole_com=r.quadrupole_com, center_of_mass=r.center_of_mass,
                      z=mol.numbers, pos=mol.positions, charges=r.charges, atomic_dipoles=r.dipoles)
        for k, v in values.items():
            out[k].append(v)
    arrays = {k: np.array(out[k]) for k in MOLECULE_KEYS}
    for k in ATOM_KEYS:
        arrays[k] = np.concatenate(out[k]) if out[k] else np.zeros((0,) if k in ("z", "charges") else (0, 3))
    arrays["z"] = arrays["z"].astype(np.int8)
    for k in ("pos", "charges", "atomic_dipoles"):
        arrays[k] = arrays[k].astype(np.float32)
    arrays["failed"] = np.array(failed, dtype=str)
    return arrays


def _chunk_path(parts: str, k: int) -> str:
    return os.path.join(parts, f"chunk_{k:05d}.npz")


def _label_chunk(rows, path):
    t0 = time.perf_counter()
    arrays = label_rows(rows)
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))
    return len(arrays["name"]), len(arrays["failed"]), time.perf_counter() - t0


def run(pool: str, parts: str, chunk: int = 250, workers: int = 1, scheduler: str | None = None,
        log=print) -> None:
    rows = read_rows(pool)
    os.makedirs(parts, exist_ok=True)
    todo = [k for k in range(0, (len(rows) + chunk - 1) // chunk) if not os.path.exists(_chunk_path(parts, k))]
    log(f"{len(rows)} molecules in {pool}: {len(todo)} chunks of {chunk} to go")
    with dask_client(scheduler, workers, dashboard_address=None, memory_limit=0) as client:
        futs = [client.submit(_label_chunk, rows[k * chunk:(k + 1) * chunk],
                              os.path.abspath(_chunk_path(parts, k)), key=f"xtb-chunk-{k}",
                              priority=-k, pure=False) for k in todo]
        t0, n_done = time.monotonic(), 0
        for i, fut in enumerate(dask_distributed().as_completed(futs), 1):
            n, n_failed, dt = fut.result()
            n_done += n
            log(f"[{i}/{len(todo)}] chunk: {n} labelled, {n_failed} failed, {dt:.0f} s | "
                f"{n_done / (time.monotonic() - t0) * 3600:.0f} mol/h")


def pack(parts: str, out: str, log=print) -> dict:
    chunks = []
    for path in sorted(glob.glob(os.path.join(parts, "chunk_*.npz"))):
        with np.load(path, allow_pickle=False) as d:
            chunks.append({k: d[k] for k in d.files})
    if not chunks:
        raise ValueError(f"no finished chunks in {parts}")
    arrays = {k: np.concatenate([c[k] for c in chunks]) for k in MOLECULE_KEYS + ATOM_KEYS}
    n_failed = sum(len(c["failed"]) for c in chunks)
    atomic_write(out, lambda fh: np.savez_compressed(fh, **arrays))
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
        run(a.pool, a.parts, a.chunk, a.workers, a.scheduler, log=lambda s: print(s, flush=True))
    else:
        pack(a.parts, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
