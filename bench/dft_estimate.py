"""How good is the app's DFT time estimate? Runs real DFT jobs (the app's worker code: SCF +
MEP on the isodensity surface) one after another in a private cache and compares each job's
estimate — made *before* it ran, from the jobs finished before it (mepviz.timing) — with its
wall time. The first jobs use the engine's built-in estimate ("rough"), later ones the model
fitted to this machine's finished runs ("calibrated").

    OMP_NUM_THREADS=1 python bench/dft_estimate.py [SMILES ...]

Prints a Markdown table (molecule, atoms, basis functions, surface points, estimate, kind,
wall time, ratio). Takes minutes (the last, aspirin-sized molecule dominates).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT = ["O", "C=O", "CO", "N#CC", "CC(=O)O", "c1ccncc1", "CC(=O)Oc1ccccc1C(=O)O"]


def main(smiles: list[str]) -> None:
    os.environ["MEPVIZ_CACHE"] = tempfile.mkdtemp(prefix="mepviz-dft-estimate-")
    import contextlib
    import io

    from appkit.dft_worker import run
    from appkit.surfacekinds import make
    from mepviz import timing
    from mepviz.inputs import from_smiles
    from mepviz.reference import ReferenceEngine
    engine = ReferenceEngine()
    print("| molecule | atoms | basis functions | surface points | estimate (s) | estimate from | "
          "wall (s) | wall / estimate |")
    print("|---|---|---|---|---|---|---|---|")
    for smi in smiles:
        mol = from_smiles(smi)
        n_pts = make(mol, "isodensity").n_vertices
        est, calibrated = timing.estimate_seconds(engine, mol, n_pts, scf_needed=True)
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):          # the worker's progress lines
            out = run({"numbers": mol.numbers.tolist(), "positions": mol.positions.tolist(),
                       "charge": mol.charge, "multiplicity": mol.multiplicity, "name": smi,
                       "kind": "isodensity", "budget_s": 3600})
        wall = time.perf_counter() - t0
        if not out.get("ok"):
            print(f"| {smi} | failed: {out.get('error')} |")
            continue
        print(f"| {smi} | {mol.n_atoms} | {engine.basis_size(mol)} | {n_pts} | {est:.1f} | "
              f"{'this machine' if calibrated else 'rough'} | {wall:.1f} | {wall / est:.2f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT)
