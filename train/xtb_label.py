"""GFN2-xTB (tblite) labels for QM9 molecules, in the reference-data format.

    python -m train.xtb_label --start 433 --count 20000 --out data/xtb/qm9_xtb_433.npz

Walks the fixed QM9 permutation (train/qm9.py) from `--start` (training positions only:
>= 200; positions 0–199 are reserved/test and refused) and writes one flat .npz in the
format of data/qm9 (../shared/data/README.md): qm9_index, smiles, atom_count, z, pos,
energy, dipole, second_moment, center_of_mass, quadrupole_com, qm9_dipole_debye — plus
`position` (permutation position) and `charges` (xTB atomic charges, e, per atom).
Rows are sorted by qm9_index like the seed files.

Label conventions (see data/xtb/README.md and mepviz/baselines.py):
energy = GFN2-xTB total energy (hartree); dipole e·Å; quadrupole_com traceless Buckingham
about the centre of mass (e·Å²), rebuilt from xTB atomic charges, dipoles and quadrupoles
(tblite's own molecular quadrupole has inconsistent off-diagonal factors and is not used);
second_moment = Σ q r rᵀ + Σ (p rᵀ + r pᵀ) + ⅔ Σ θ about (0,0,0): its traceless part and
its origin shifts are exact, its trace is not ⟨r²⟩.

Work is saved in chunks under `--work-dir` (default: <out>.parts/), so an interrupted run
resumes where it stopped; the final file is packed from the chunks.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from mepviz.units import DEBYE_PER_E_ANGSTROM  # noqa: E402
from train import qm9  # noqa: E402

FIRST_ALLOWED_POSITION = qm9.TEST_POSITIONS.stop   # qm9.RESERVED and qm9.TEST_POSITIONS come first
PER_MOLECULE_KEYS = ("position", "qm9_index", "smiles", "atom_count", "energy", "dipole",
                     "second_moment", "center_of_mass", "quadrupole_com", "qm9_dipole_debye")
PER_ATOM_KEYS = ("z", "pos", "charges", "atomic_dipoles")


def label_position(position: int, accuracy: float = 1.0) -> dict:
    """xTB labels of the molecule at one permutation position (one row of the file)."""
    from mepviz.baselines import xtb_multipoles
    from mepviz.molecule import Molecule
    from train.qm9 import entry
    e = entry(position)
    mol = Molecule(e.numbers, e.positions, smiles=e.smiles, name=f"QM9 {e.index}")
    r = xtb_multipoles(mol, accuracy=accuracy)
    return {
        "position": int(position), "qm9_index": e.index, "smiles": e.smiles,
        "atom_count": len(e.numbers), "z": e.numbers, "pos": e.positions, "charges": r.charges,
        "atomic_dipoles": r.dipoles,
        "energy": r.energy, "dipole": r.dipole, "second_moment": r.second_moment,
        "center_of_mass": r.center_of_mass, "quadrupole_com": r.quadrupole_com,
        "qm9_dipole_debye": e.dipole_debye,
    }


def pack(rows: list[dict]) -> dict:
    """Rows -> flat arrays of the data format, sorted by qm9_index."""
    rows = sorted(rows, key=lambda r: r["qm9_index"])
    width = max([len(r["smiles"]) for r in rows] + [1])
    out = {
        "qm9_index": np.array([r["qm9_index"] for r in rows], dtype=np.int64),
        "smiles": np.array([r["smiles"] for r in rows], dtype=f"<U{width}"),
        "atom_count": np.array([r["atom_count"] for r in rows], dtype=np.int32),
        "z": np.concatenate([np.asarray(r["z"]) for r in rows]).astype(np.int8),
        "pos": np.concatenate([np.asarray(r["pos"], float) for r in rows]).reshape(-1, 3),
        "energy": np.array([r["energy"] for r in rows], dtype=np.float64),
        "dipole": np.array([r["dipole"] for r in rows], dtype=np.float64).reshape(-1, 3),
        "second_moment": np.array([r["second_moment"] for r in rows], dtype=np.float64).reshape(-1, 3, 3),
        "center_of_mass": np.array([r["center_of_mass"] for r in rows], dtype=np.float64).reshape(-1, 3),
        "quadrupole_com": np.array([r["quadrupole_com"] for r in rows], dtype=np.float64).reshape(-1, 3, 3),
        "qm9_dipole_debye": np.array([r["qm9_dipole_debye"] for r in rows], dtype=np.float64),
        "position": np.array([r["position"] for r in rows], dtype=np.int64),
        "charges": np.concatenate([np.asarray(r["charges"], float) for r in rows]),
        "atomic_dipoles": np.concatenate([np.asarray(r["atomic_dipoles"], float).reshape(-1, 3) for r in rows]),
    }
    return out


def add_atomic_dipoles(path: str, accuracy: float = 1.0, log=print) -> int:
    """Recompute a file's molecules with tblite and add ``atomic_dipoles`` (ΣN, 3; e·Å), for files
    written before that key existed. The recomputed charges must match the stored ones (1e-6 e)."""
    from mepviz.baselines import xtb_multipoles
    from mepviz.molecule import Molecule
    from mepviz.reference import atomic_write
    with np.load(path, allow_pickle=False) as d:
        data = {k: d[k] for k in d.files}
    off = np.r_[0, np.cumsum(data["atom_count"])]
    p = np.zeros((off[-1], 3))
    t0 = time.time()
    for i in range(len(off) - 1):
        a, b = off[i], off[i + 1]
        r = xtb_multipoles(Molecule(data["z"][a:b], data["pos"][a:b]), accuracy=accuracy)
        if not np.allclose(r.charges, data["charges"][a:b], atol=1e-6):
            raise RuntimeError(f"{path}: QM9 {data['qm9_index'][i]}: charges differ from the stored ones")
        p[a:b] = r.dipoles
        if (i + 1) % 2000 == 0:
            log(f"{path}: {i + 1}/{len(off) - 1} molecules, {time.time() - t0:.0f} s")
    data["atomic_dipoles"] = p
    atomic_write(path, lambda fh: np.savez_compressed(fh, **data))
    return len(off) - 1


def unpack(data) -> list[dict]:
    """Flat arrays (an opened .npz or a dict) -> rows."""
    off = np.r_[0, np.cumsum(data["atom_count"])]
    rows = []
    for i in range(len(data["qm9_index"])):
        row = {k: data[k][i] for k in PER_MOLECULE_KEYS}
        row.update({k: data[k][off[i]:off[i + 1]] for k in PER_ATOM_KEYS if k in data})
        row["smiles"] = str(row["smiles"])
        rows.append(row)
    return rows


def _chunk_path(work_dir: str, first: int, last: int) -> str:
    return os.path.join(work_dir, f"chunk_{first:06d}_{last:06d}.npz")


def run(start: int, count: int, out: str, chunk: int = 1000, work_dir: str | None = None,
        accuracy: float = 1.0, quiet: bool = False) -> dict:
    if start < FIRST_ALLOWED_POSITION:
        raise SystemExit(f"error: --start {start} is below {FIRST_ALLOWED_POSITION}: positions 0–99 are "
                         "reserved and 100–199 are the test split; xTB labels are for training positions only")
    from train.qm9 import N_QM9
    stop = min(start + count, N_QM9)
    if stop <= start:
        raise SystemExit("error: nothing to label (--count must be positive and --start < 130831)")
    work_dir = work_dir or out + ".parts"
    os.makedirs(work_dir, exist_ok=True)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    log = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))

    t_start = time.perf_counter()
    done_before = 0
    n_new, t_compute, failed = 0, 0.0, []
    for first in range(start, stop, chunk):
        last = min(first + chunk, stop)
        path = _chunk_path(work_dir, first, last)
        if os.path.exists(path):
            done_before += last - first
            continue
        rows = []
        for position in range(first, last):
            t0 = time.perf_counter()
            try:
                rows.append(label_position(position, accuracy))
            except Exception as exc:  # SCF failure etc.: record and go on
                failed.append({"position": position, "error": f"{type(exc).__name__}: {exc}"})
                log(f"  position {position}: FAILED ({exc})")
            t_compute += time.perf_counter() - t0
            n_new += 1
        fails = [f for f in failed if first <= f["position"] < last]
        tmp = path + ".tmp.npz"
        np.savez(tmp, failed=np.array(json.dumps(fails)), **pack(rows))
        os.replace(tmp, path)
        remaining = stop - last
        rate = n_new / max(time.perf_counter() - t_start, 1e-9)
        log(f"[xtb_label] positions {start}..{last - 1} of {start}..{stop - 1} done "
            f"({done_before + n_new}/{stop - start}); {1000 * t_compute / max(n_new, 1):.1f} ms/molecule; "
            f"ETA {remaining / max(rate, 1e-9):.0f} s")

    # pack all chunks
    rows, failed = [], []
    for first in range(start, stop, chunk):
        with np.load(_chunk_path(work_dir, first, min(first + chunk, stop)), allow_pickle=False) as d:
            rows += unpack(d)
            failed += json.loads(str(d["failed"]))
    data = pack(rows)
    assert data["position"].min() >= FIRST_ALLOWED_POSITION
    tmp = out + ".tmp.npz"
    np.savez_compressed(tmp, **data)
    os.replace(tmp, out)
    mu = np.linalg.norm(data["dipole"], axis=1) * DEBYE_PER_E_ANGSTROM
    diff = mu - data["qm9_dipole_debye"]
    summary = {
        "out": out, "positions": [start, stop - 1], "labelled": len(rows), "failed": failed,
        "ms_per_molecule": 1000 * t_compute / n_new if n_new else None,
        "wall_s": time.perf_counter() - t_start, "size_mb": os.path.getsize(out) / 1e6,
        "abs_dipole_vs_qm9_debye": {"mean": float(diff.mean()), "mae": float(np.abs(diff).mean()),
                                    "rmse": float(np.sqrt((diff ** 2).mean()))},
    }
    log(f"[xtb_label] wrote {out}: {len(rows)} molecules, {len(failed)} failed, "
        f"{summary['size_mb']:.1f} MB; |μ|(xTB) − |μ|(QM9 B3LYP): mean {diff.mean():+.3f} D, "
        f"MAE {np.abs(diff).mean():.3f} D")
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.xtb_label", description=__doc__.split("\n\n")[0])
    ap.add_argument("--start", type=int, default=433, help="first permutation position (>= 200; default 433)")
    ap.add_argument("--count", type=int, required=True, help="number of positions to label")
    ap.add_argument("--out", required=True, help="output .npz (data format of data/qm9)")
    ap.add_argument("--chunk", type=int, default=1000, help="positions per resumable chunk")
    ap.add_argument("--work-dir", default=None, help="chunk directory (default: <out>.parts)")
    ap.add_argument("--accuracy", type=float, default=1.0, help="tblite accuracy (default 1.0)")
    ap.add_argument("--summary", default=None, help="also write the run summary as JSON here")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    summary = run(args.start, args.count, args.out, args.chunk, args.work_dir, args.accuracy, args.quiet)
    if args.summary:
        with open(args.summary, "w") as fh:
            json.dump(summary, fh, indent=1)
    print(json.dumps({k: v for k, v in summary.items() if k != "failed"} | {"failed": len(summary["failed"])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
