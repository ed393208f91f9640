"""``mepviz batch``: a whole library through the default model and the paper's pair on dask.distributed.

Big libraries from the command line (any size), on dask.distributed:

    python -m mepviz batch FILE -o OUT.csv [--scheduler ADDRESS] [--workers N] [--surface S]

FILE: .smi/.smiles/.txt/.csv (one SMILES per line, optional name after it), .sdf/.sd/.mol or
a multi-frame .xyz, of any size: records are read lazily (:func:`mepviz.io.records.iter_records`),
at most ``window`` molecules are in flight, and one CSV row per molecule is written (in input
order) as soon as it is done, so memory stays flat. Rows go to ``OUT.partial`` (marked partial
on its first line), which becomes OUT by a rename when the batch is complete: OUT is never
half-written and never the input; an interrupted batch (Ctrl-C, SIGTERM, a full disk) keeps
the partial file, and the same command resumes after its last complete row. Without
``--scheduler`` a LocalCluster of single-threaded worker processes runs on this machine
(:mod:`mepviz.cli.cluster`); with a scheduler address the work is spread over its workers
(they need mepviz installed). A progress bar goes to stderr. Columns: record, name, formula,
n_atoms, charge, then per model (the paper's pair) μ (D), |μ| (D), Θ eigenvalues (D·Å),
V_s,min / V_s,max (kcal/mol/e) (:func:`mepviz.report.batch.predict_molecule`), ``notes`` (the
applicability notes of the molecule) and ``error`` (empty when the molecule worked; the batch
goes on after a bad record: every record has its row).
"""
from __future__ import annotations

import csv
import logging
import os
import shutil
import signal
import sys
import time
from collections import deque
from pathlib import Path

from ..core import limits
from ..core.molecule import MoleculeInputError
from ..core.paths import atomic_write, check_output
from ..core.registry import BATCH_MODELS, SURFACES
from ..io.records import Record, iter_records, parse_record
from ..ml.predict import get_predictor, set_torch_threads
from ..report.batch import columns, predict_molecule
from .cluster import dask_client, dask_distributed


def process(record: Record, surface: str = "isodensity", models=BATCH_MODELS) -> dict:
    """One CSV row for `record` (runs on a dask worker; never raises for a bad molecule)."""
    row = {c: "" for c in columns(models)}
    row.update(record=record.number, name=record.label)
    try:
        mol = parse_record(record)
        row.update(name=mol.name or record.label, formula=mol.formula, n_atoms=mol.n_atoms, charge=mol.charge)
        values, _, _, notes = predict_molecule(mol, {m: get_predictor(m) for m in models}, surface)
        row.update(values, notes=" ".join(notes))
    except MoleculeInputError as exc:
        row["error"] = " ".join(str(exc).split())
    except Exception as exc:    # noqa: BLE001 — one bad record never stops the batch
        row["error"] = " ".join(f"could not be processed ({type(exc).__name__}: {exc})".split())
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


def partial_path(output: Path) -> Path:
    """Where the rows of an unfinished batch are kept: ``OUT.csv.partial``."""
    return output.with_name(output.name + PARTIAL_SUFFIX)


PARTIAL_SUFFIX = ".partial"
#: first line of a partial file
PARTIAL_MARK = ("# mepviz batch: PARTIAL results, rows in input order; run the same command again to "
                "resume after the last complete row (this file becomes OUT when the batch completes)")


def _identity(path: Path, models, surface: str) -> str:
    """The input and settings a partial file belongs to (second line of the file)."""
    st = os.stat(path)
    return (f"# input={os.path.realpath(path)} size={st.st_size} mtime_ns={st.st_mtime_ns} "
            f"models={','.join(models)} surface={surface}")


def _resume_rows(partial: Path, identity: str, header: str) -> int:
    """Complete rows in `partial` written for this `identity` (a torn last row is cut off);
    0 when there is no such file (or it belongs to another input: it is started afresh)."""
    try:
        with open(partial, "rb") as fh:
            head = [fh.readline().decode("utf-8", "replace").rstrip("\n") for _ in range(3)]
            if head != [PARTIAL_MARK, identity, header]:
                return 0
            rows, end = 0, fh.tell()
            for line in fh:
                if not line.endswith(b"\n"):
                    break
                rows, end = rows + 1, end + len(line)
        os.truncate(partial, end)
        return rows
    except OSError:
        return 0


def _finish(partial: Path, output: Path) -> None:
    """The partial file's rows (its two comment lines dropped) become `output`, atomically."""
    def copy(fh):
        with open(partial, "rb") as src:
            src.readline()
            src.readline()
            shutil.copyfileobj(src, fh)
    atomic_write(str(output), copy)
    partial.unlink()


class BatchStopped(Exception):
    """The batch stopped before its end (a signal, a full disk); its rows so far are kept."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def run(path: str | Path, output: str | Path, scheduler: str | None = None, workers: int | None = None,
        surface: str = "isodensity", window: int | None = None, progress: bool = True,
        models=BATCH_MODELS) -> dict:
    """Process every record of `path` on dask.distributed, streaming rows to ``OUT.partial``,
    which becomes `output` (CSV) by a rename when every record is done: `output` is never
    half-written, and never the input (:func:`mepviz.core.paths.check_output`). An interrupted
    batch (SIGINT, SIGTERM, a full disk: :class:`BatchStopped`) keeps its partial file; the same
    command resumes after its last complete row. Returns {"records", "errors", "seconds",
    "resumed"}."""
    path, output = Path(path), Path(output)
    partial = partial_path(output)
    check_output(output, path)
    check_output(partial, path)
    if scheduler is None and workers is not None:
        limits.check_workers(workers, os.cpu_count() or 1)
    records = iter_records(path)
    first = next(records, None)                 # fail early on an unreadable file
    if first is None:
        raise MoleculeInputError(f"{path.name} holds no molecules")
    if not output.resolve().parent.is_dir():
        raise MoleculeInputError(f"cannot write {output}: its folder does not exist")
    header = ",".join(columns(models))
    identity = _identity(path, models, surface)
    skip = _resume_rows(partial, identity, header)
    queue = deque([first])
    for _ in range(skip):                       # records whose rows are in the partial file
        queue.popleft() if queue else next(records, None)
    total = _count(path) if progress else None
    bar = Progress(enabled=progress)
    done, errors, t0 = skip, 0, time.perf_counter()
    try:
        fh = open(partial, "a" if skip else "w", newline="", encoding="utf-8")
    except OSError as exc:
        raise BatchStopped(f"cannot write {partial}: {exc.strerror or exc}", 2) from None
    try:
        if not skip:
            fh.write(f"{PARTIAL_MARK}\n{identity}\n{header}\n")
        writer = csv.DictWriter(fh, fieldnames=columns(models), lineterminator="\n")
        # workers log only CRITICAL: a task's error reaches this process through its future (one
        # line per row), and a worker's own ERROR lines are shutdown noise (e.g. a heartbeat to a
        # scheduler already closed after a stop on a loaded machine), not the user's business
        with dask_client(scheduler, workers, dashboard_address=":0", silence_logs=logging.CRITICAL) as client:
            client.run(_worker_setup)
            window = window or 4 * max(1, len(client.scheduler_info().get("workers", {})) or 1)
            pending: dict[int, dict] = {}
            next_row = skip + 1
            inflight = dask_distributed().as_completed()

            def submit_more():
                while inflight.count() < window:
                    rec = queue.popleft() if queue else next(records, None)
                    if rec is None:
                        return
                    inflight.add(client.submit(process, rec, surface, tuple(models), pure=False))

            submit_more()
            while not inflight.is_empty():
                row = next(inflight).result()
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
        fh.close()
        _finish(partial, output)
    except KeyboardInterrupt:
        raise BatchStopped(f"stopped after {done} records; {_kept(partial, output)}", 130) from None
    except OSError as exc:
        raise BatchStopped(f"{exc.strerror or exc} after {done} records; {_kept(partial, output)}", 2) from None
    finally:
        if not fh.closed:
            try:
                fh.close()
            except OSError:
                pass
        bar.close()
    return {"records": done, "errors": errors, "seconds": time.perf_counter() - t0, "resumed": skip}


def _kept(partial: Path, output: Path) -> str:
    return (f"the rows so far are in {partial} (run the same command again to resume); "
            f"{output} was not written")


def add_parser(sub) -> None:
    """The ``batch`` subcommand of ``python -m mepviz``."""
    p = sub.add_parser("batch", help="μ, Θ and V_s,min/max of a whole library (dask), one CSV row each",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("input", metavar="FILE", help=".smi (SMILES [name] per line), .sdf or multi-frame .xyz")
    p.add_argument("-o", "--output", metavar="OUT.csv", required=True, help="CSV written row by row")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a dask scheduler, e.g. tcp://host:8786 "
                                                           "(default: a LocalCluster on this machine)")
    p.add_argument("--workers", type=int, default=None,
                   help="LocalCluster worker processes, 1 … the number of cores (default: cores − 1)")
    p.add_argument("--surface", default="isodensity", choices=list(SURFACES), help="surface for V_s,min/max")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


#: loggers of the dask cluster that report its own interrupted shutdown (with tracebacks)
CLUSTER_LOGGERS = ("tornado", "tornado.application", "asyncio", "distributed")


def main(args) -> int:
    """Run the parsed ``batch`` arguments; prints a one-line summary. Ctrl-C and SIGTERM stop
    the batch the same way: the partial file stays, ready to resume, and the cluster's own
    shutdown messages are silenced (one line says what happened)."""
    stopped_by = []

    def _stop(signum, frame):
        stopped_by.append(signum)
        for name in CLUSTER_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL)
        raise KeyboardInterrupt
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        res = run(args.input, args.output, scheduler=args.scheduler, workers=args.workers,
                  surface=args.surface, progress=not args.no_progress)
    except BatchStopped as exc:
        why = {signal.SIGTERM: "terminated (SIGTERM): ", signal.SIGINT: "interrupted: "}.get(
            stopped_by[0] if stopped_by else None, "")
        print(f"error: {why}{exc}", file=sys.stderr)
        return 128 + stopped_by[0] if stopped_by else exc.code
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    resumed = f" (resumed after {res['resumed']})" if res["resumed"] else ""
    print(f"{res['records']} molecules{resumed} ({res['errors']} with errors) -> {args.output} "
          f"in {res['seconds']:.1f} s", file=sys.stderr)
    return 0
