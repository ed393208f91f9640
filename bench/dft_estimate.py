"""How good is the app's DFT time estimate? Runs real DFT jobs exactly as the app does (a
``python -m appkit.dft_worker`` process per job: SCF + MEP on the isodensity surface) one after
another in a private cache and compares each job's estimate — made *before* it ran, by
mepviz.timing from the jobs finished before it — with its wall time (process start included).
The first jobs use the shipped development-machine calibration ("shipped"), later ones the
model fitted to this machine's finished runs ("this machine").

    OMP_NUM_THREADS=1 python bench/dft_estimate.py [--out bench/dft_estimate.md] [--write-default] [SMILES ...]

Prints (and with --out writes) a Markdown table (molecule, atoms, basis functions, surface
points, estimate, kind, wall time, ratio). With --write-default the timing records of these
runs become mepviz/data/dft_timings_default.jsonl, the calibration a fresh install starts
from. Takes minutes (the last, 39-atom molecule dominates).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: small gallery-like molecules, aspirin, and lidocaine (a 39-atom drug)
DEFAULT = ["O", "C=O", "CO", "N#CC", "CC(=O)O", "c1ccncc1", "CC(=O)Oc1ccccc1C(=O)O",
           "CCN(CC)CC(=O)Nc1c(C)cccc1C"]


def main(smiles: list[str], out: str | None = None, write_default: bool = False) -> None:
    os.environ["MEPVIZ_CACHE"] = tempfile.mkdtemp(prefix="mepviz-dft-estimate-")
    import json
    import subprocess

    from appkit.jobs import _spec
    from appkit.surfacekinds import make
    from mepviz import timing
    from mepviz.inputs import from_smiles
    from mepviz.reference import ReferenceEngine
    engine = ReferenceEngine()
    root = Path(__file__).resolve().parent.parent
    lines = [f"# DFT time estimate vs wall time", "",
             f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `python bench/dft_estimate.py` "
             f"on {os.cpu_count()} CPU cores (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}); "
             "each estimate made before its job ran, from the jobs finished before it (or the shipped "
             "calibration); wall time of the worker process as the app starts it; the machine may be shared.",
             "", "| molecule | atoms | basis functions | surface points | estimate (s) | estimate from | "
             "wall (s) | wall / estimate |", "|---|---|---|---|---|---|---|---|"]

    def emit(line):
        lines.append(line)
        print(line, flush=True)
        if out:
            Path(out).write_text("\n".join(lines) + "\n")
    for line in lines:
        print(line)
    source = "shipped" if timing.default_model() is not None else "rough"
    for smi in smiles:
        mol = from_smiles(smi)
        n_pts = make(mol, "isodensity").n_vertices
        est, calibrated = timing.estimate_seconds(engine, mol, n_pts, scf_needed=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "appkit.dft_worker"], cwd=root, text=True,
                              input=json.dumps(_spec(mol, "isodensity", 3600.0)), capture_output=True)
        finals = [m for m in map(json.loads, proc.stdout.splitlines()) if "progress" not in m]
        res = finals[-1] if finals else {"error": proc.stderr[-300:]}
        wall = time.perf_counter() - t0
        if not res.get("ok"):
            emit(f"| {smi} | failed: {res.get('error')} |")
            continue
        emit(f"| {smi} | {mol.n_atoms} | {engine.basis_size(mol)} | {n_pts} | {est:.1f} | "
             f"{'this machine' if calibrated else source} | {wall:.1f} | {wall / est:.2f} |")
    if write_default:
        import shutil
        shutil.copy(timing.timings_path(engine.cache_dir), timing.DEFAULT_RECORDS)
        print(f"wrote {timing.DEFAULT_RECORDS}")


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("smiles", nargs="*")
    ap.add_argument("--out", default=None, help="also write the table here (Markdown)")
    ap.add_argument("--write-default", action="store_true",
                    help="make these runs' timing records the shipped calibration")
    a = ap.parse_args()
    main(a.smiles or DEFAULT, a.out, a.write_default)
