"""``mepviz batch``: a whole library through the paper's two models on dask.distributed.

Big libraries from the command line (any size), on dask.distributed:

    python -m mepviz batch FILE -o OUT.csv [--scheduler ADDRESS] [--workers N] [--surface S]

FILE: .smi/.smiles/.txt/.csv (one SMILES per line, optional name after it), .sdf/.sd/.mol or
a multi-frame .xyz, of any size: records are read lazily (:func:`mepviz.io.records.iter_records`),
at most ``window`` molecules are in flight, and one CSV row per molecule is written (in input
order) as soon as it is done, so memory stays flat and a partial file is usable. Without
``--scheduler`` a LocalCluster of single-threaded worker processes runs on this machine
(:mod:`mepviz.cli.cluster`); with a scheduler address the work is spread over its workers
(they need mepviz installed). A progress bar goes to stderr. Columns: record, name, formula,
n_atoms, charge, then per model (the paper's pair) μ (D), |μ| (D), Θ eigenvalues (D·Å),
V_s,min / V_s,max (kcal/mol/e) (:func:`mepviz.report.batch.predict_molecule`), and ``error``
(empty when the molecule worked; the batch goes on after a bad record).
"""
from __future__ import annotations

import csv
import logging
import os
import sys
import time
from collections import deque
from pathlib import Path

from ..core.molecule import MoleculeInputError
from ..core.registry import PAPER_PAIR, SURFACES
from ..io.records import Record, iter_records, parse_record
from ..ml.predict import get_predictor, set_torch_threads
from ..report.batch import columns, predict_molecule
from .cluster import dask_client, dask_distributed


def process(record: Record, surface: str = "isodensity", models=PAPER_PAIR) -> dict:
    """One CSV row for `record` (runs on a dask worker; never raises for a bad molecule)."""
    row = {c: "" for c in columns(models)}
    row.update(record=record.number, name=record.label)
    try:
        mol = parse_record(record)
        row.update(name=mol.name or record.label, formula=mol.formula, n_atoms=mol.n_atoms, charge=mol.charge)
        values, _, _, _ = predict_molecule(mol, {m: get_predictor(m) for m in models}, surface)
        row.update(values)
    except MoleculeInputError as exc:
        row["error"] = str(exc)
    except Exception as exc:    # noqa: BLE001 — one bad record never stops the batch
        row["error"] = f"could not be processed ({type(exc).__name__}: {exc})"
    return row


def _worker_setup() -> None:
    """One thread per worker process (the cluster supplies the parallelism)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    set_torch_threads(1)


class Progress:
    """A one-line progress bar on `stream` (records done, rate, errors)."""

    def __init__(self, stream=sys.stderr, width: int = 30, enabled: bool = True):
        self.stream, self.width, self.enabled = stream, width, enabled
        self.t0 = time.perf_counter()

    def update(self, done: int, errors: int, total: int | None = None) -> None:
        if not self.enabled:
            return
        el = time.perf_counter() - self.t0
        rate = done / el if el > 0 else 0.0
        if total:
            k = int(self.width * done / total)
            bar = f"[{'#' * k}{'.' * (self.width - k)}] {done}/{total}"
        else:
            bar = f"{done} molecules"
        self.stream.write(f"\r{bar}  {rate:.1f}/s  {errors} errors")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _count(path: Path) -> int | None:
    """Number of records (a cheap pre-scan for the progress bar), None if unknown."""
    try:
        return sum(1 for _ in iter_records(path))
    except (MoleculeInputError, OSError):
        return None


def run(path: str | Path, output: str | Path, scheduler: str | None = None, workers: int | None = None,
        surface: str = "isodensity", window: int | None = None, progress: bool = True,
        models=PAPER_PAIR) -> dict:
    """Process every record of `path` on dask.distributed, streaming rows to `output` (CSV).
    Returns {"records", "errors", "seconds"}."""
    path, output = Path(path), Path(output)
    records = iter_records(path)
    first = next(records, None)                 # fail early on an unreadable file
    if first is None:
        raise MoleculeInputError(f"{path.name} holds no molecules")
    if not output.resolve().parent.is_dir():
        raise MoleculeInputError(f"cannot write {output}: its folder does not exist")
    total = _count(path) if progress else None
    bar = Progress(enabled=progress)
    done = errors = 0
    t0 = time.perf_counter()
    with dask_client(scheduler, workers, dashboard_address=":0", silence_logs=logging.ERROR) as client:
        client.run(_worker_setup)
        window = window or 4 * max(1, len(client.scheduler_info().get("workers", {})) or 1)
        try:
            with open(output, "w", newline="", encoding="utf-8") as fh:
                writer = csv.DictWriter(fh, fieldnames=columns(models))
                writer.writeheader()
                pending: dict[int, dict] = {}
                next_row = 1
                inflight = dask_distributed().as_completed()
                queue = deque([first])

                def submit_more():
                    while inflight.count() < window:
                        rec = queue.popleft() if queue else next(records, None)
                        if rec is None:
                            return
                        inflight.add(client.submit(process, rec, surface, tuple(models), pure=False))

                submit_more()
                while not inflight.is_empty():
                    fut = next(inflight)
                    row = fut.result()
                    pending[int(row["record"])] = row
                    while next_row in pending:               # rows leave in input order
                        r = pending.pop(next_row)
                        writer.writerow(r)
                        done += 1
                        errors += bool(r["error"])
                        next_row += 1
                    fh.flush()
                    bar.update(done, errors, total)
                    submit_more()
                for k in sorted(pending):                    # (only if numbering had gaps)
                    writer.writerow(pending[k])
                    done += 1
        finally:
            bar.close()
    return {"records": done, "errors": errors, "seconds": time.perf_counter() - t0}


def add_parser(sub) -> None:
    """The ``batch`` subcommand of ``python -m mepviz``."""
    p = sub.add_parser("batch", help="μ, Θ and V_s,min/max of a whole library (dask), one CSV row each",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("input", metavar="FILE", help=".smi (SMILES [name] per line), .sdf or multi-frame .xyz")
    p.add_argument("-o", "--output", metavar="OUT.csv", required=True, help="CSV written row by row")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a dask scheduler, e.g. tcp://host:8786 "
                                                           "(default: a LocalCluster on this machine)")
    p.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes (default: cores − 1)")
    p.add_argument("--surface", default="isodensity", choices=list(SURFACES), help="surface for V_s,min/max")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


def main(args) -> int:
    """Run the parsed ``batch`` arguments; prints a one-line summary."""
    res = run(args.input, args.output, scheduler=args.scheduler, workers=args.workers,
              surface=args.surface, progress=not args.no_progress)
    print(f"{res['records']} molecules ({res['errors']} with errors) -> {args.output} "
          f"in {res['seconds']:.1f} s", file=sys.stderr)
    return 0
