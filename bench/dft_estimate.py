"""How good is the app's DFT time estimate? Runs real DFT jobs (the app's worker code: SCF +
MEP on the isodensity surface) one after another in a private cache and compares each job's
estimate — made *before* it ran, from the jobs finished before it (mepviz.timing) — with its
wall time. The first jobs use the engine's built-in estimate ("rough"), later ones the model
fitted to this machine's finished runs ("calibrated").

    OMP_NUM_THREADS=1 python bench/dft_estimate.py [--out bench/dft_estimate.md] [SMILES ...]

Prints (and with --out writes) a Markdown table (molecule, atoms, basis functions, surface points, estimate, kind,
wall time, ratio). Takes minutes (the last, aspirin-sized molecule dominates).
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


def main(smiles: list[str], out: str | None = None) -> None:
    os.environ["MEPVIZ_CACHE"] = tempfile.mkdtemp(prefix="mepviz-dft-estimate-")
    import contextlib
    import io

    from appkit.dft_worker import run
    from appkit.surfacekinds import make
    from mepviz import timing
    from mepviz.inputs import from_smiles
    from mepviz.reference import ReferenceEngine
    engine = ReferenceEngine()
    lines = [f"# DFT time estimate vs wall time", "",
             f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `python bench/dft_estimate.py` "
             f"on {os.cpu_count()} CPU cores (OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}); "
             "each estimate made before its job ran, from the jobs finished before it; the machine may "
             "be shared.", "",
             "| molecule | atoms | basis functions | surface points | estimate (s) | estimate from | "
             "wall (s) | wall / estimate |", "|---|---|---|---|---|---|---|---|"]

    def emit(line):
        lines.append(line)
        print(line, flush=True)
        if out:
            Path(out).write_text("\n".join(lines) + "\n")
    for line in lines:
        print(line)
    for smi in smiles:
        mol = from_smiles(smi)
        n_pts = make(mol, "isodensity").n_vertices
        est, calibrated = timing.estimate_seconds(engine, mol, n_pts, scf_needed=True)
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):          # the worker's progress lines
            res = run({"numbers": mol.numbers.tolist(), "positions": mol.positions.tolist(),
                       "charge": mol.charge, "multiplicity": mol.multiplicity, "name": smi,
                       "kind": "isodensity", "budget_s": 3600})
        wall = time.perf_counter() - t0
        if not res.get("ok"):
            emit(f"| {smi} | failed: {res.get('error')} |")
            continue
        emit(f"| {smi} | {mol.n_atoms} | {engine.basis_size(mol)} | {n_pts} | {est:.1f} | "
             f"{'this machine' if calibrated else 'rough'} | {wall:.1f} | {wall / est:.2f} |")


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("smiles", nargs="*")
    ap.add_argument("--out", default=None, help="also write the table here (Markdown)")
    a = ap.parse_args()
    main(a.smiles or DEFAULT, a.out)
