"""Speed and memory of the ML MEP pipeline versus the PySCF DFT reference, on this machine.

    OMP_NUM_THREADS=1 python bench/benchmark.py                 # prints a table, writes bench/results.md
    python bench/benchmark.py --quick                           # fewer molecules/steps, no 50-atom DFT
    python bench/benchmark.py --ref-large                       # also time DFT for the ~50-atom molecule

Measured (medians of --repeats ≥ 5 runs, after a warm-up run; the models are loaded once):

- model forward time for one molecule (QM9-size, ~50 atoms);
- end-to-end ML MEP: input text (XYZ; SMILES including RDKit 3D embedding) → Molecule →
  promolecular isodensity surface → model → MEP at the vertices → surface statistics, i.e.
  everything the app needs to draw the coloured surface (mepviz.predict.predict_mep_map);
- batch throughput (molecules/s) of Predictor.predict_many for 1000 QM9 molecules (train/qm9.py,
  permutation positions 200–1199) at several batch sizes;
- peak memory: process peak RSS (resource) and the tracemalloc peak of one end-to-end call;
- training throughput (molecules/s): forward + backward + Adam step with train/train.py's
  loss and train/dataset.py's batching on data/qm9/train.npz, both variants' settings;
- PySCF reference (mepviz.reference.ReferenceEngine, B3LYP/6-31G(2df,p), density fitting, cache
  disabled) for the same molecules, and the speed-up of the ML MEP over it.
"""
from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from mepviz import paths, registry  # noqa: E402

#: a ~50-atom drug-like molecule with only H, C, N, O (oseltamivir, C16H28N2O4, 50 atoms)
LARGE_SMILES = "CCOC(=O)C1=C[C@@H](OC(CC)CC)[C@H](NC(C)=O)[C@@H](N)C1"
LARGE_NAME = "oseltamivir"
#: a 50-heavy-atom drug (C38H52N6O7, 103 atoms): issue 9's "50-heavy-atom molecule ≤ 150 ms"
HUGE_SMILES = ("COC(=O)N[C@H](C(=O)N[C@@H](Cc1ccccc1)[C@@H](O)CN(Cc1ccc(-c2ccccn2)cc1)"
               "NC(=O)[C@@H](NC(=O)OC)C(C)(C)C)C(C)(C)C")
HUGE_NAME = "atazanavir"


def timeit(fn, repeats: int, warmup: int = 1):
    """(median wall-clock s, median process CPU s) of `repeats` calls after `warmup` calls.

    CPU time (time.process_time) is reported too because the machine is shared: under load
    wall-clock times grow, CPU times much less.
    """
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        c = time.process_time()
        t = time.perf_counter()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def qm9_size_molecule():
    """The test-split molecule closest to QM9's mean size (18 atoms), and its XYZ text."""
    from mepviz.metrics import load_test_set
    ts = load_test_set()
    t = min(ts, key=lambda t: (abs(t.mol.n_atoms - 18), t.position))
    return t.mol


def peak_rss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 1024.0 ** 2


class Bench:
    def __init__(self, args):
        self.args = args
        self.rows: list[tuple[str, str, str]] = []   # (quantity, value, note)
        self.raw: dict = {}

    def add(self, quantity, value, note=""):
        self.rows.append((quantity, value, note))
        print(f"  {quantity:<58} {value:>16}  {note}", flush=True)

    # ------------------------------------------------------------------ ML inference
    def inference(self, small, large, huge):
        from mepviz import inputs
        from mepviz.predict import get_predictor, predict_mep_map

        a = self.args
        pred = get_predictor(a.model)
        for label, mol in (("QM9-size", small), ("~50-atom", large), ("50-heavy-atom", huge)):
            tag = f"{label} ({mol.formula}, {mol.n_atoms} atoms)"
            from mepviz.ml.model import predict_arrays
            med, cpu = timeit(lambda: predict_arrays(pred.model, mol.numbers, mol.positions, [mol.n_atoms],
                                                     [mol.charge]), a.repeats)
            self.raw[f"forward_{label}"] = med
            self.add(f"model forward, {tag}", f"{med * 1e3:.1f} ms", f"{a.model} model; CPU {cpu * 1e3:.1f} ms")
            xyz = mol.to_xyz()
            counter = [0]

            def from_xyz_text():
                counter[0] += 1            # a new comment each call: no input caching
                head, comment, body = xyz.split("\n", 2)
                text = f"{head}\n{comment} run{counter[0]}\n{body}"
                m = inputs.from_xyz(text)[0]
                return predict_mep_map(m, a.model)

            med, cpu = timeit(from_xyz_text, a.repeats)
            mm = from_xyz_text()
            self.raw[f"e2e_xyz_{label}"] = med
            self.raw[f"e2e_xyz_cpu_{label}"] = cpu
            self.add(f"**end-to-end ML MEP from XYZ text**, {tag}", f"**{med * 1e3:.1f} ms**",
                     f"isodensity surface, {mm.surface.n_vertices} vertices; CPU {cpu * 1e3:.1f} ms")
            med, cpu = timeit(lambda: predict_mep_map(mol, a.model), a.repeats)
            self.raw[f"e2e_mol_{label}"] = med
            self.raw[f"e2e_mol_cpu_{label}"] = cpu
            self.add(f"end-to-end ML MEP from a Molecule, {label}", f"{med * 1e3:.1f} ms", f"surface + model + MEP + statistics (no parsing); CPU {cpu * 1e3:.1f} ms")
            if mol.smiles:
                smi = mol.smiles
                med, cpu = timeit(lambda: predict_mep_map(inputs.from_smiles(smi), a.model), a.repeats)
                self.raw[f"e2e_smiles_{label}"] = med
                self.add(f"end-to-end ML MEP from SMILES, {tag}", f"{med * 1e3:.1f} ms",
                         f"includes RDKit ETKDG + MMFF 3D embedding; CPU {cpu * 1e3:.1f} ms")
            gc.collect()
            tracemalloc.start()
            predict_mep_map(mol, a.model)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            self.add(f"tracemalloc peak of one end-to-end call, {label}", f"{peak / 2 ** 20:.1f} MiB",
                     "numpy/Python allocations")

    def throughput(self):
        from mepviz.molecule import Molecule
        from mepviz.predict import get_predictor
        from train import qm9

        a = self.args
        n = a.batch_molecules
        t = time.perf_counter()
        mols = []
        for p in range(200, 200 + n):
            e = qm9.entry(p)
            mols.append(Molecule(e.numbers, e.positions, smiles=e.smiles))
        print(f"  (loaded {n} QM9 molecules in {time.perf_counter() - t:.1f} s)", flush=True)
        pred = get_predictor(a.model)
        n_atoms = sum(m.n_atoms for m in mols)
        best = 0.0
        for bs in a.batch_sizes:
            med, cpu = timeit(lambda: pred.predict_many(mols, batch_size=bs), a.throughput_repeats, warmup=1)
            rate = n / med
            best = max(best, rate)
            self.raw[f"throughput_bs{bs}"] = rate
            self.add(f"batch throughput, {n} QM9 molecules, batch size {bs}", f"{rate:.0f} mol/s",
                     f"{med:.2f} s per pass ({n / cpu:.0f} mol/s by CPU time), {n_atoms} atoms")
        self.raw["throughput_best"] = best

    # ------------------------------------------------------------------- variants
    def variants(self, small, large, huge):
        """End-to-end time of every installed variant on the same molecules, interleaved in one
        process (the mep variant's charge-penetration term is the only extra work)."""
        from mepviz.ml import cards
        from mepviz.predict import get_predictor, predict_mep_map

        names = [n for n in registry.MODEL_NAMES if cards.weights_present(n)]
        for label, mol in (("QM9-size", small), ("~50-atom", large), ("50-heavy-atom", huge)):
            surf = predict_mep_map(mol, names[0]).surface            # the same surface for all
            times = {}
            for n in names:
                pred = get_predictor(n).predict(mol)
                times[n] = timeit(lambda: pred.mep(surf.vertices), self.args.repeats)[0]
            for n in names:
                self.raw[f"mep_eval_{n}_{label}"] = times[n]
                self.add(f"MEP on the surface from predicted multipoles, {n}, {label}",
                         f"{times[n] * 1e3:.1f} ms", f"{surf.n_vertices} vertices, {mol.n_atoms} atoms"
                         + ("" if n == names[0] else f"; {times[n] / times[names[0]]:.2f}× {names[0]}"))

    # ------------------------------------------------------------------- training
    def training(self):
        import torch

        from mepviz.ml import cards
        from mepviz.model import MultipoleNet, load_card
        from train import dataset as ds
        from train.loss import LossWeights, loss_terms

        a = self.args
        data = ds.load_npz(str(paths.project_file("data") / "newchem" / "train_spice.npz"))
        for variant in [n for n in registry.MODEL_NAMES if n in (*registry.PAPER_PAIR, "mep") and cards.weights_present(n)]:
            card = load_card(str(paths.weights_dir() / variant))
            cfg, hp = dict(card["config"]), card.get("hyperparameters", {})
            bs = int(hp.get("batch_size", 32))
            weights = LossWeights.for_protocol(card["variant"], **(card.get("loss_weights")
                                                                    or {"quadrupole": card.get("quadrupole_weight", 0.0)}))
            points = {"mep_points": int(hp.get("mep_points", 256)), "point_rng": np.random.default_rng(1)} if weights.mep else {}
            torch.manual_seed(0)
            model = MultipoleNet(**cfg)
            model.train()
            opt = torch.optim.Adam(model.parameters(), lr=1e-4)
            rng = np.random.default_rng(0)
            batches = list(data.batches(bs, shuffle=True, rng=rng, **points))[:a.train_batches]
            n_mol = sum(len(b["dipole"]) for b in batches)

            def epoch():
                for b in batches:
                    out = model(b["z"], b["pos"], b["batch"], b["total_charge"])
                    loss = loss_terms(out, b, weights)["total"]
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()

            med, cpu = timeit(epoch, a.repeats, warmup=1)
            rate = n_mol / med
            self.raw[f"train_{variant}"] = rate
            self.add(f"training throughput, {variant} variant", f"{rate:.0f} mol/s",
                     f"batch {bs}, {len(batches)} batches of data/newchem/train_spice.npz, loss {weights.describe()} "
                     f"({n_mol / cpu:.0f} mol/s by CPU time), {cfg.get('features', '?')} features × {cfg.get('layers', '?')} layers")

    # ------------------------------------------------------------------ reference
    def reference(self, small, large):
        from mepviz.reference import ReferenceEngine

        a = self.args
        eng = ReferenceEngine(cache_dir=False)
        targets = [("QM9-size", small, a.ref_repeats)]
        if a.ref_large:
            targets.append(("~50-atom", large, a.ref_large_repeats))
        for label, mol, reps in targets:
            from mepviz.surfaces import isodensity_surface
            verts = isodensity_surface(mol).vertices

            def run():
                r = eng.run(mol)
                r.mep(verts)

            med, cpu = timeit(run, reps, warmup=0)   # no warm-up: every SCF is cold (no cache)
            self.raw[f"ref_{label}"] = med
            self.raw[f"ref_cpu_{label}"] = cpu
            ml = self.raw.get(f"e2e_xyz_{label}")
            ml_cpu = self.raw.get(f"e2e_xyz_cpu_{label}")
            self.add(f"PySCF reference (SCF + MEP on the surface), {label} ({mol.n_atoms} atoms)",
                     f"{med:.1f} s", f"median of {reps}; {eng.level}, {_threads()} thread(s); CPU {cpu:.1f} s")
            if ml:
                self.raw[f"speedup_{label}"] = med / ml
                self.add(f"**speed-up of the ML MEP over PySCF**, {label}", f"**{med / ml:,.0f}×**",
                         f"wall clock, ML end-to-end from XYZ text; by CPU time {cpu / ml_cpu:,.0f}×")


    def markdown(self) -> str:
        a = self.args
        lines = [
            "# MEPviz benchmark",
            "",
            f"Generated {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} by "
            f"`python bench/benchmark.py{' ' + ' '.join(sys.argv[1:]) if sys.argv[1:] else ''}` on "
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores visible, "
            f"{_threads()} OpenMP/torch thread(s), Python {platform.python_version()}, "
            f"torch {_version('torch')}, PySCF {_version('pyscf')}. Times are medians of {a.repeats} runs after a warm-up "
            f"(PySCF: see the note); the machine is shared, so treat them as indicative.",
            "",
            "| Quantity | Value | Note |",
            "|---|---|---|",
        ]
        lines += [f"| {q} | {v} | {n} |" for q, v, n in self.rows]
        return "\n".join(lines) + "\n"


def _threads() -> int:
    try:
        import torch
        return torch.get_num_threads()
    except Exception:       # pragma: no cover
        return int(os.environ.get("OMP_NUM_THREADS", "0") or 0)


def _version(mod) -> str:
    try:
        return __import__(mod).__version__
    except Exception:       # pragma: no cover
        return "?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/benchmark.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=registry.DEFAULT_MODEL, choices=registry.MODEL_NAMES)
    ap.add_argument("--repeats", type=int, default=7, help="repeats per timing (≥ 5)")
    ap.add_argument("--batch-molecules", type=int, default=1000)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 128])
    ap.add_argument("--throughput-repeats", type=int, default=5)
    ap.add_argument("--train-batches", type=int, default=6, help="training batches per timed pass")
    ap.add_argument("--ref-repeats", type=int, default=5, help="PySCF runs for the QM9-size molecule")
    ap.add_argument("--ref-large", action="store_true", help="also time PySCF for the ~50-atom molecule")
    ap.add_argument("--ref-large-repeats", type=int, default=1)
    ap.add_argument("--no-reference", action="store_true", help="skip PySCF")
    ap.add_argument("--quick", action="store_true", help="200 molecules, 5 repeats, 1 PySCF run")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results.md"))
    args = ap.parse_args(argv)
    if args.quick:
        args.batch_molecules, args.repeats, args.ref_repeats, args.throughput_repeats = 200, 5, 1, 5
    if args.repeats < 5:
        ap.error("--repeats must be at least 5")

    from mepviz import inputs
    b = Bench(args)
    small = qm9_size_molecule()
    large = inputs.from_smiles(LARGE_SMILES, name=LARGE_NAME)
    huge = inputs.from_smiles(HUGE_SMILES, name=HUGE_NAME)
    print(f"QM9-size molecule: {small.name} {small.smiles} ({small.n_atoms} atoms); "
          f"~50-atom: {LARGE_NAME} ({large.n_atoms} atoms)", flush=True)
    b.inference(small, large, huge)
    b.variants(small, large, huge)
    b.add("peak RSS after loading the model and the end-to-end runs", f"{peak_rss_mb():.0f} MiB",
          "resource.getrusage ru_maxrss (includes torch, RDKit, PySCF imports)")
    b.throughput()
    b.training()
    b.add("peak RSS after batch throughput and training", f"{peak_rss_mb():.0f} MiB",
          "includes the 130k-row QM9 table held by train/qm9.py")
    if not args.no_reference:
        b.reference(small, large)
        b.add("peak RSS including PySCF", f"{peak_rss_mb():.0f} MiB", "")
    md = b.markdown()
    if args.out:
        Path(args.out).write_text(md)
        print(f"wrote {args.out}")
    print()
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
