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
from functools import partial

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from mepviz.units import DEBYE_PER_E_ANGSTROM  # noqa: E402
from train import labelling, qm9  # noqa: E402

FIRST_ALLOWED_POSITION = qm9.TEST_POSITIONS.stop   # qm9.RESERVED and qm9.TEST_POSITIONS come first


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


#: the packed file: data/qm9's keys plus `position`, xTB charges and atomic dipoles (per atom)
FIELDS = (*labelling.QM9_FIELDS, labelling.rows("charges", "atom_count", np.float64),
          labelling.rows("atomic_dipoles", "atom_count", np.float64, (3,)))


def pack(rows: list[dict]) -> dict:
    """Rows -> flat arrays of the data format, sorted by qm9_index."""
    return labelling.flatten(rows, FIELDS, sort_by="qm9_index")


def add_atomic_dipoles(path: str, accuracy: float = 1.0, log=print) -> int:
    """Recompute a file's molecules with tblite and add ``atomic_dipoles`` (ΣN, 3; e·Å), for files
    written before that key existed. The recomputed charges must match the stored ones (1e-6 e)."""
    from mepviz.baselines import xtb_multipoles
    from mepviz.molecule import Molecule
    data = labelling.read_record(path)
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
    labelling.write_record(path, data, compressed=True)
    return len(off) - 1


def unpack(data) -> list[dict]:
    """Flat arrays (an opened .npz or a dict) -> rows."""
    return [{**r, "smiles": str(r["smiles"])} for r in labelling.unflatten(data, FIELDS)]


def _chunk_stem(first: int, last: int) -> str:
    return f"chunk_{first:06d}_{last:06d}"


def label_chunk(positions, accuracy: float = 1.0) -> dict:
    """One resumable chunk file: the packed rows of `positions` and, as JSON in `failed`, the
    positions whose xTB failed (with the error)."""
    recs, failed = labelling.label_each(positions, lambda p: label_position(p, accuracy))
    fails = [{"position": int(p), "error": err} for p, err in failed]
    return {"failed": np.array(json.dumps(fails)), **pack(recs)}


def _chunk_summary(arrays: dict) -> dict:
    return labelling.chunk_summary(len(arrays["qm9_index"]), len(json.loads(str(arrays["failed"]))))


def run(start: int, count: int, out: str, chunk: int = 1000, work_dir: str | None = None,
        accuracy: float = 1.0, quiet: bool = False) -> dict:
    """Label positions start … start+count−1 in chunks of `chunk` (resumable files in
    `work_dir`, in this process), then pack every chunk into `out`; returns a summary."""
    if start < FIRST_ALLOWED_POSITION:
        raise SystemExit(f"error: --start {start} is below {FIRST_ALLOWED_POSITION}: positions 0–99 are "
                         "reserved and 100–199 are the test split; xTB labels are for training positions only")
    from train.qm9 import N_QM9
    stop = min(start + count, N_QM9)
    if stop <= start:
        raise SystemExit("error: nothing to label (--count must be positive and --start < 130831)")
    work_dir = work_dir or out + ".parts"
    log = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))

    t_start = time.perf_counter()
    ranges = [(first, min(first + chunk, stop)) for first in range(start, stop, chunk)]
    tasks = [labelling.Task(_chunk_stem(a, b), range(a, b), {"positions": [a, b - 1]},
                            title=f"[xtb_label] positions {a}..{b - 1}") for a, b in ranges]
    res = labelling.run(tasks, partial(label_chunk, accuracy=accuracy), work_dir, summary=_chunk_summary,
                        describe=labelling.describe_chunk, key="xtb", log=log)
    n_new, t_compute = res["molecules"], res["seconds"]

    # pack all chunks
    rows, failed = [], []
    for a, b in ranges:
        path = labelling.label_file(work_dir, _chunk_stem(a, b))
        if not os.path.exists(path):
            raise RuntimeError(f"chunk {a}..{b - 1} failed (see {labelling.failed_file(work_dir, _chunk_stem(a, b))})")
        d = labelling.read_record(path)
        rows += unpack(d)
        failed += json.loads(str(d["failed"]))
    data = pack(rows)
    assert data["position"].min() >= FIRST_ALLOWED_POSITION
    labelling.write_record(out, data, compressed=True)
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
