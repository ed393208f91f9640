"""Forward time of the multipole network on one 18-atom and one 50-atom molecule (CPU, 1 thread).

    python -m train.bench_forward [--features 32] [--repeat 200]

Molecules: a QM9 test molecule with 18 atoms, and a 50-atom chain-like cluster of H/C/N/O
built deterministically (5 Å cutoff neighbourhoods like a drug-sized molecule). Prints the
median of `repeat` timed forward passes (float32, no gradient) in milliseconds.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mepviz.model import MultipoleNet  # noqa: E402
from train.dataset import ROOT  # noqa: E402


def molecules() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    d = np.load(os.path.join(ROOT, "data", "qm9", "test.npz"))
    off = np.concatenate([[0], np.cumsum(d["atom_count"])])
    k = int(np.flatnonzero(d["atom_count"] == 18)[0])
    small = (d["z"][off[k]:off[k + 1]].astype(np.int64), d["pos"][off[k]:off[k + 1]])
    rng = np.random.default_rng(0)
    steps = rng.normal(size=(50, 3))
    steps = 1.45 * steps / np.linalg.norm(steps, axis=1, keepdims=True)
    pos = np.cumsum(steps, 0)
    z = rng.choice([1, 6, 6, 7, 8], size=50)
    return {"18 atoms": small, "50 atoms": (z, pos)}


def time_forward(model, z, pos, repeat: int) -> float:
    zt, pt = torch.from_numpy(z), torch.from_numpy(pos).float()
    with torch.no_grad():
        for _ in range(5):
            model(zt, pt)
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            model(zt, pt)
            ts.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(ts))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--features", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=200)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = MultipoleNet(features=a.features).eval()
    for name, (z, pos) in molecules().items():
        print(f"{name}: {time_forward(model, z, pos, a.repeat):.2f} ms (median of {a.repeat})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
