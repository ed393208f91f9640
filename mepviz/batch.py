"""Batch predictions: every record of an upload through every model, one row per molecule.

A record that fails (parse error, refusal by :func:`mepviz.applicability.assess`, surface
failure) becomes an entry in ``BatchResult.errors`` and the batch goes on; applicability
notes go into the row's ``notes`` column. Units: μ in D, Θ in D·Å, potentials kcal/mol/e.

Big libraries from the command line (any size), on dask.distributed:

    python -m mepviz batch FILE -o OUT.csv [--scheduler ADDRESS] [--workers N] [--surface S]

FILE: .smi/.smiles/.txt (one SMILES per line, optional name after it), .sdf/.sd/.mol or a
multi-frame .xyz, of any size: records are read lazily, at most ``window`` molecules are in
flight, and one CSV row per molecule is written (in input order) as soon as it is done, so
memory stays flat and a partial file is usable. Without ``--scheduler`` a LocalCluster of
single-threaded worker processes runs on this machine; with a scheduler address the work is
spread over its workers (they need mepviz and the weights installed). A progress bar goes to
stderr. Columns: record, name, formula, n_atoms, charge, then per model (the paper's pair)
μ (D), |μ| (D), Θ eigenvalues (D·Å), V_s,min / V_s,max (kcal/mol/e), and ``error`` (empty
when the molecule worked; the batch goes on after a bad record).
"""
from __future__ import annotations

import csv
import logging
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from .inputs import Record, parse_record
from .metrics import prediction_numbers
from .molecule import Molecule, MoleculeInputError
from .registry import DEFAULT_SURFACE, PAPER_PAIR

#: columns of the batch table, per model (suffix _<model> is appended)
MODEL_COLUMNS = ("mu_x_D", "mu_y_D", "mu_z_D", "mu_abs_D", "theta_1_DA", "theta_2_DA",
                 "theta_3_DA", "Vs_min_kcal", "Vs_max_kcal")
COLUMN_HELP = {
    "mu_x_D": "dipole moment x component (D)", "mu_abs_D": "|μ|, dipole magnitude (D)",
    "theta_1_DA": "smallest (most negative) eigenvalue of the traceless quadrupole Θ about the centre of mass (D·Å)",
    "Vs_min_kcal": "most negative MEP on the surface, V_s,min (kcal/mol/e)",
    "Vs_max_kcal": "most positive MEP on the surface, V_s,max (kcal/mol/e)",
}


@dataclass
class BatchResult:
    """Rows (one per molecule that worked), errors (one per record that did not)."""

    rows: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    molecules: list[Molecule] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)   # model name -> Prediction
    statistics: list[dict] = field(default_factory=list)    # model name -> surface stats
    surface: str = DEFAULT_SURFACE
    n_records: int = 0

    def dataframe(self):
        import pandas as pd
        cols = ["record", "name", "formula", "n_atoms", "charge"] + [
            f"{c}_{m}" for m in PAPER_PAIR for c in MODEL_COLUMNS] + ["notes"]
        return pd.DataFrame(self.rows, columns=cols)

    def error_dataframe(self):
        import pandas as pd
        return pd.DataFrame(self.errors, columns=["record", "name", "error"])


def run_batch(records: Sequence[Record], predictors: dict, surface: str = "isodensity",
              progress: Callable[[int, int, str], None] | None = None,
              max_cpu_seconds: float | None = None) -> BatchResult:
    """Predict every record with every model in `predictors` (name -> Predictor).

    For each molecule: μ, |μ|, Θ eigenvalues per model, and V_s,min / V_s,max of each
    model's MEP on one shared surface (`surface`: a name of registry.SURFACES). A record
    that fails (parse error, refusal by applicability.assess, surface failure) becomes an
    entry in `result.errors` and the batch goes on; applicability notes go to `notes`.
    Once the batch has used `max_cpu_seconds` of CPU (default ``limits.MAX_BATCH_CPU_SECONDS``),
    the records left become errors that say so (checked between records).
    """
    import time

    from . import limits
    from .applicability import assess
    budget = limits.MAX_BATCH_CPU_SECONDS if max_cpu_seconds is None else float(max_cpu_seconds)
    cpu0 = time.process_time()
    from .electrostatics import surface_statistics
    from .surfaces import surface_for
    result = BatchResult(surface=surface, n_records=len(records))
    n = len(records)
    for k, rec in enumerate(records):
        if progress:
            progress(k, n, rec.label)
        if time.process_time() - cpu0 > budget:
            result.errors += [{"record": r.number, "name": r.label,
                               "error": f"not processed: the batch used its CPU-time limit of {budget:g} s "
                                        "(split the file, or use `python -m mepviz batch` for big libraries)"}
                              for r in records[k:]]
            break
        try:
            mol = parse_record(rec)
            notes = []
            for name in predictors:
                verdict = assess(mol, name)
                verdict.raise_if_refused()
                notes += [n for n in verdict.notes if n not in notes]
            surf = surface_for(mol, surface)
            points, areas = surf.vertices, surf.vertex_areas
            row = {"record": rec.number, "name": mol.name or rec.label, "formula": mol.formula,
                   "n_atoms": mol.n_atoms, "charge": mol.charge, "notes": " ".join(notes)}
            preds, stats = {}, {}
            for name, predictor in predictors.items():
                pred = predictor.predict(mol)
                values = np.asarray(pred.mep(points), float)
                st = surface_statistics(points, values, areas)
                preds[name], stats[name] = pred, st
                for key, val in prediction_numbers(pred).items():
                    row[f"{key}_{name}"] = val
                row[f"Vs_min_kcal_{name}"] = st["v_min"]
                row[f"Vs_max_kcal_{name}"] = st["v_max"]
        except MoleculeInputError as exc:
            result.errors.append({"record": rec.number, "name": rec.label, "error": str(exc)})
            continue
        except Exception as exc:   # a bad record must not kill the batch
            result.errors.append({"record": rec.number, "name": rec.label,
                                  "error": f"could not be processed ({type(exc).__name__}: {exc})"})
            continue
        result.rows.append(row)
        result.molecules.append(mol)
        result.predictions.append(preds)
        result.statistics.append(stats)
    if progress:
        progress(n, n, "done")
    return result


# --------------------------------------------------------------------------- streaming CLI
SMILES_EXTENSIONS = ("smi", "smiles", "txt", "csv")
BASE_COLUMNS = ("record", "name", "formula", "n_atoms", "charge")


def columns(models=PAPER_PAIR) -> list[str]:
    return list(BASE_COLUMNS) + [f"{c}_{m}" for m in models for c in MODEL_COLUMNS] + ["error"]


# --------------------------------------------------------------------------- reading
def _lines(path: Path) -> Iterator[str]:
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for line in fh:
            yield line.rstrip("\r\n").rstrip("\r")


def iter_records(path: str | Path) -> Iterator[Record]:
    """The records of `path`, read lazily (never the whole file at once)."""
    path = Path(path)
    ext = path.suffix.lower().lstrip(".")
    if not path.is_file():
        raise MoleculeInputError(f"{path}: no such file")
    reader = _reader(path.name)
    yield from reader(_lines(path))


def _reader(filename: str):
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in SMILES_EXTENSIONS:
        return _smiles_records
    if ext in ("sdf", "sd", "mol"):
        return _sdf_records
    if ext == "xyz":
        return _xyz_records
    raise MoleculeInputError(f"{filename}: unsupported file type '.{ext}' (use .smi, .sdf or .xyz)")


def records_from_text(text: str, filename: str) -> list[Record]:
    """The records of an uploaded file's text (format from the file name)."""
    return list(_reader(filename)(ln.rstrip("\r") for ln in text.split("\n")))


def smiles_as_sdf(record: Record) -> Record:
    """A SMILES record as an SDF record (3D conformer from mepviz.inputs.from_smiles, formal
    charges kept), for readers that take XYZ/SDF; a bad SMILES becomes an error record."""
    if record.fmt != "smi":
        return record
    from .export import sdf_3d
    try:
        mol = _molecule(record)
    except MoleculeInputError as exc:
        return Record(record.number, record.label, record.text, "sdf", error=str(exc))
    return Record(record.number, record.label, sdf_3d(mol), "sdf")


def _smiles_records(lines) -> Iterator[Record]:
    n = 0
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.replace(",", " ").split(None, 1)
        if parts[0].lower() == "smiles":            # a header line
            continue
        n += 1
        yield Record(n, parts[1].strip() if len(parts) > 1 else parts[0], parts[0], "smi")


def _sdf_records(lines) -> Iterator[Record]:
    n, cur = 0, []
    for line in lines:
        if line.strip() == "$$$$":
            if any(x.strip() for x in cur):
                n += 1
                yield Record(n, cur[0].strip() or f"record {n}", "\n".join(cur) + "\n$$$$\n", "sdf")
            cur = []
        else:
            cur.append(line)
    if any(x.strip() for x in cur):
        n += 1
        yield Record(n, cur[0].strip() or f"record {n}", "\n".join(cur) + "\n$$$$\n", "sdf")


def _xyz_records(lines) -> Iterator[Record]:
    it = iter(lines)
    n = 0
    for line in it:
        if not line.strip():
            continue
        n += 1
        head = line.split()
        if not (len(head) == 1 and head[0].isdigit()):
            yield Record(n, f"record {n}", line, "xyz",
                         error=f"expected the number of atoms, found '{line.strip()[:40]}'")
            continue
        count = int(head[0])
        body = [line]
        for _ in range(count + 1):
            nxt = next(it, None)
            if nxt is None:
                break
            body.append(nxt)
        comment = body[1].strip() if len(body) > 1 else ""
        label = comment.split()[0] if comment and "=" not in comment.split()[0] else f"record {n}"
        if len(body) < count + 2:
            yield Record(n, label, "\n".join(body), "xyz",
                         error=f"truncated: {count} atoms announced, {len(body) - 2} found")
            return
        yield Record(n, label, "\n".join(body) + "\n", "xyz")


# --------------------------------------------------------------------------- one molecule
def _molecule(record: Record):
    if record.fmt != "smi":
        return _assessed(parse_record(record))
    from dataclasses import replace

    from .inputs import from_smiles
    mol = from_smiles(record.text)
    return _assessed(replace(mol, name=record.label))


def _assessed(mol, models=PAPER_PAIR):
    """`mol` if no model of `models` refuses it (mepviz.applicability), else MoleculeInputError."""
    from .applicability import assess
    for m in models:
        assess(mol, m).raise_if_refused()
    return mol


def process(record: Record, surface: str = "isodensity", models=PAPER_PAIR) -> dict:
    """One CSV row for `record` (runs on a dask worker; never raises for a bad molecule)."""
    from .electrostatics import surface_statistics
    from .predict import get_predictor
    from .surfaces import surface_for
    row = {c: "" for c in columns(models)}
    row.update(record=record.number, name=record.label)
    try:
        mol = _molecule(record)
        row.update(name=mol.name or record.label, formula=mol.formula, n_atoms=mol.n_atoms, charge=mol.charge)
        surf = surface_for(mol, surface)
        for m in models:
            pred = get_predictor(m).predict(mol)
            st = surface_statistics(surf.vertices, np.asarray(pred.mep(surf.vertices), float), surf.vertex_areas)
            row.update({f"{k}_{m}": v for k, v in prediction_numbers(pred).items()})
            row[f"Vs_min_kcal_{m}"], row[f"Vs_max_kcal_{m}"] = st["v_min"], st["v_max"]
    except MoleculeInputError as exc:
        row["error"] = str(exc)
    except Exception as exc:    # noqa: BLE001 — one bad record never stops the batch
        row["error"] = f"could not be processed ({type(exc).__name__}: {exc})"
    return row


def _worker_setup() -> None:
    """One thread per worker process (the cluster supplies the parallelism)."""
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:   # pragma: no cover
        pass


# --------------------------------------------------------------------------- driver
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
    from dask.distributed import Client, LocalCluster, as_completed
    path, output = Path(path), Path(output)
    records = iter_records(path)
    first = next(records, None)                 # fail early on an unreadable file
    if first is None:
        raise MoleculeInputError(f"{path.name} holds no molecules")
    if not output.resolve().parent.is_dir():
        raise MoleculeInputError(f"cannot write {output}: its folder does not exist")
    total = _count(path) if progress else None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        n = workers or max(1, (os.cpu_count() or 2) - 1)
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        client = Client(cluster)
    client.run(_worker_setup)
    window = window or 4 * max(1, len(client.scheduler_info().get("workers", {})) or 1)
    bar = Progress(enabled=progress)
    done = errors = 0
    t0 = time.perf_counter()
    try:
        with open(output, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns(models))
            writer.writeheader()
            pending: dict[int, dict] = {}
            next_row = 1
            inflight = as_completed()
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
        client.close()
        if cluster is not None:
            cluster.close()
    return {"records": done, "errors": errors, "seconds": time.perf_counter() - t0}


def add_parser(sub) -> None:
    """The ``batch`` subcommand of ``python -m mepviz``."""
    from .registry import SURFACES
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
