"""The one labelling core of train/: label files, resumable runs, progress, flat packing.

The four labellers (train/label.py: DFT of QM9 positions, train/label_pool.py: DFT of pool rows,
train/xtb_label.py and train/xtb_pool.py: GFN2-xTB of both) are parameterisations of it:
which tasks, what ``work(payload) → record`` computes, which fields their packed files hold.

A label folder holds, per task (one molecule, or one chunk of molecules for xTB):

    <stem>.npz           the record, written atomically (mepviz.core.paths.atomic_write)
    <stem>.failed.json   the task's `meta` and "error" when `work` raised

and a run skips every task with either file (``retry_failed`` retries the failed ones), so an
interrupted run resumes where it stopped. Tasks run in this process, or on dask.distributed
through the project's one cluster helper (mepviz.cli.cluster.dask_client: a LocalCluster of
single-threaded workers, or an existing scheduler). A packed file is flat: per-molecule arrays
plus per-atom / per-point arrays concatenated in molecule order with their counts
(:class:`Field`, :func:`flatten`, :func:`unflatten`).
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from mepviz.core.paths import atomic_write


# --------------------------------------------------------------------------- label files
@dataclass(frozen=True)
class Task:
    """One unit of resumable work: `payload` goes to `work`; `meta` (JSON-able) is written with
    the error when it fails; `title` names it in progress lines."""
    stem: str
    payload: object
    meta: dict = field(default_factory=dict)
    title: str = ""


def safe_stem(name: str) -> str:
    """`name` as a file stem (characters other than letters, digits, - _ . become _)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))


def label_file(folder: str, stem: str) -> str:
    return os.path.join(folder, stem + ".npz")


def failed_file(folder: str, stem: str) -> str:
    return os.path.join(folder, stem + ".failed.json")


def pending(folder: str, stem: str, retry_failed: bool = False) -> bool:
    """True while a task still has to run: no label file, and no failure file unless retrying."""
    return not (os.path.exists(label_file(folder, stem))
                or (not retry_failed and os.path.exists(failed_file(folder, stem))))


def write_record(path: str, rec: dict, compressed: bool = False) -> None:
    """Write a record (dict of arrays) as .npz atomically, keys in dict order."""
    save = np.savez_compressed if compressed else np.savez
    atomic_write(path, lambda fh: save(fh, **rec))


def read_record(path: str) -> dict:
    """Every array of an .npz (read once: an NpzFile re-reads on each access)."""
    with np.load(path, allow_pickle=False) as d:
        return {k: d[k] for k in d.files}


def write_failure(path: str, meta: dict, error: str) -> None:
    atomic_write(path, lambda fh: fh.write(json.dumps({**meta, "error": error}).encode()))


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def attempt(work: Callable, task: Task, folder: str, compressed: bool = False,
            summary: Callable | None = None) -> dict:
    """Run ``work(task.payload)`` and write its record, or the failure file when it raises
    (any Exception: one molecule never stops a run). Returns a status: stem, ok, seconds,
    error (when not ok), and ``summary(record)`` (small numbers for the progress line, computed
    where the record is; "molecules" counts them for the mol/h rate, default 1)."""
    t0 = time.perf_counter()
    try:
        rec = work(task.payload)
    except Exception as exc:     # noqa: BLE001 - record and move on
        write_failure(failed_file(folder, task.stem), task.meta, error_text(exc))
        return {"stem": task.stem, "ok": False, "error": error_text(exc), "seconds": time.perf_counter() - t0}
    write_record(label_file(folder, task.stem), rec, compressed)
    return {"stem": task.stem, "ok": True, "seconds": time.perf_counter() - t0, **(summary(rec) if summary else {})}


def _attempt_on_worker(*args) -> dict:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return attempt(*args)


def chunk_summary(labelled: int, failed: int) -> dict:
    """Status numbers of a chunk task: molecules tried (for the mol/h rate), labelled, failed."""
    return {"molecules": labelled + failed, "labelled": labelled, "failed_molecules": failed}


def describe_chunk(task: Task, s: dict) -> str:
    """The progress line of a chunk task (see :func:`chunk_summary`)."""
    return f"{task.title}: {s['labelled']} labelled, {s['failed_molecules']} failed, {s['seconds']:.0f} s"


def label_each(items, label_one: Callable) -> tuple[list, list]:
    """``label_one(item)`` for each item of a chunk: (records, [(item, error text)]) — a
    molecule that fails is listed, never stops the chunk."""
    recs, failed = [], []
    for item in items:
        try:
            recs.append(label_one(item))
        except Exception as exc:     # noqa: BLE001
            failed.append((item, error_text(exc)))
    return recs, failed


# --------------------------------------------------------------------------- running
def duration(seconds: float) -> str:
    """A duration as 1h02m or 3m05s ("?" when unknown)."""
    if not np.isfinite(seconds):
        return "?"
    h, rem = divmod(int(seconds), 3600)
    return f"{h}h{rem // 60:02d}m" if h else f"{rem // 60}m{rem % 60:02d}s"


def _default_describe(task: Task, status: dict) -> str:
    return f"{task.title or task.stem}: {status['seconds']:.1f} s"


def run(tasks: list[Task], work: Callable, folder: str, *, retry_failed: bool = False,
        compressed: bool = False, summary: Callable | None = None, describe: Callable | None = None,
        dask: bool = False, workers: int | None = None, scheduler: str | None = None,
        key: str = "label", log=print) -> dict:
    """Run the pending `tasks` (in list order) into `folder`; one progress line per task
    (``[k/n] describe(task, status) | mol/h, ETA``). In this process, or with `dask` on a
    LocalCluster of `workers` processes / the `scheduler` given (tasks submitted with priority
    by list order, one retry if a worker dies). Returns counts: done, failed, skipped (tasks
    already done or failed), molecules (summed from the statuses), seconds (work time)."""
    describe = describe or _default_describe
    todo = [t for t in tasks if pending(folder, t.stem, retry_failed)]
    counts = {"done": 0, "failed": 0, "skipped": len(tasks) - len(todo), "molecules": 0, "seconds": 0.0}
    if not todo:
        return counts
    os.makedirs(folder, exist_ok=True)
    t0 = time.monotonic()

    def report(k: int, task: Task, status: dict | None, exc: BaseException | None = None) -> None:
        counts["molecules"] += (status or {}).get("molecules", 1)
        if status is not None:
            counts["seconds"] += status["seconds"]
        if status is not None and status["ok"]:
            counts["done"] += 1
            elapsed = time.monotonic() - t0
            log(f"[{k}/{len(todo)}] {describe(task, status)} | {counts['molecules'] / elapsed * 3600:.0f} mol/h, "
                f"ETA {duration((len(todo) - k) / k * elapsed)}")
        else:
            counts["failed"] += 1
            log(f"[{k}/{len(todo)}] {task.title or task.stem} FAILED: {status['error'] if status else exc}")

    if not dask:
        for k, task in enumerate(todo, 1):
            report(k, task, attempt(work, task, folder, compressed, summary))
    else:
        _run_on_dask(todo, work, os.path.abspath(folder), compressed, summary, workers, scheduler, key, report)
    log(f"finished: {counts['done']} labelled, {counts['failed']} failed in {duration(time.monotonic() - t0)}")
    return counts


def _run_on_dask(todo, work, folder, compressed, summary, workers, scheduler, key, report) -> None:
    import dask         # dask and the cluster helper only when a run asks for them (a GPU machine may lack pandas)

    from mepviz.cli.cluster import dask_client, dask_distributed
    # one molecule can keep a worker busy in C code for many minutes on a loaded machine:
    # never restart a worker for missed heartbeats (that throws the SCF away)
    dask.config.set({"distributed.scheduler.worker-ttl": None})
    with dask_client(scheduler, workers, dashboard_address=None, memory_limit=0) as client:
        futures = {client.submit(_attempt_on_worker, work, task, folder, compressed, summary,
                                 key=f"{key}-{task.stem}", priority=-k, pure=False, retries=1): task
                   for k, task in enumerate(todo)}
        for k, fut in enumerate(dask_distributed().as_completed(futures), 1):
            try:
                status = fut.result()
            except Exception as exc:     # noqa: BLE001 - a killed worker (memory) etc.
                report(k, futures[fut], None, exc)
                continue
            report(k, futures[fut], status)


# --------------------------------------------------------------------------- flat packing
class Field(NamedTuple):
    """One array of a packed file. `kind`: "molecule" (one value per molecule: a number, a
    string, a vector…), "count" (len of each molecule's `of` array) or "rows" (each molecule's
    rows concatenated; `of` names the count field that splits them again). `dtype`: what the
    values are cast to (None: as they are); `shape`: the shape of one value or row (for an empty
    file)."""
    key: str
    kind: str = "molecule"
    dtype: object = None
    of: str | None = None
    shape: tuple = ()


def molecule(key, dtype=None, shape=()) -> Field:
    return Field(key, "molecule", dtype, None, shape)


def count(key, of, dtype=np.int32) -> Field:
    return Field(key, "count", dtype, of)


def rows(key, of, dtype=None, shape=()) -> Field:
    return Field(key, "rows", dtype, of, shape)


def flatten(recs: list[dict], fields, sort_by: str | None = None) -> dict:
    """The flat arrays (in `fields` order) of per-molecule records; with `sort_by`, molecules
    sorted by that key, which must be unique (ValueError naming it)."""
    if sort_by is not None:
        recs = sorted(recs, key=lambda r: _plain(r[sort_by]))
        keys = [_plain(r[sort_by]) for r in recs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate {sort_by} among the labels")
    out = {}
    for f in fields:
        if f.kind == "count":
            out[f.key] = np.array([len(r[f.of]) for r in recs], f.dtype)
        elif not recs:
            out[f.key] = np.zeros((0, *f.shape), f.dtype or float)
        elif f.kind == "rows":
            out[f.key] = np.concatenate([np.asarray(r[f.key], f.dtype) for r in recs])
        else:
            out[f.key] = np.array([r[f.key] for r in recs], f.dtype)
    return out


def _plain(value):
    return value.item() if isinstance(value, (np.ndarray, np.generic)) else value


def unflatten(arrays, fields) -> list[dict]:
    """Per-molecule records of flat arrays (an opened .npz or a dict): the inverse of
    :func:`flatten` for every field present."""
    present = [f for f in fields if f.key in arrays]
    arrays = {k: arrays[k] for k in {f.key for f in present} | {f.of for f in present if f.kind == "rows"}}
    n = next(len(arrays[f.key]) for f in present if f.kind != "rows")
    ends = {f.of: np.cumsum(arrays[f.of]) for f in present if f.kind == "rows"}
    out = []
    for k in range(n):
        rec = {}
        for f in present:
            if f.kind == "rows":
                e = ends[f.of][k]
                rec[f.key] = arrays[f.key][e - arrays[f.of][k]:e]
            else:
                rec[f.key] = arrays[f.key][k]
        out.append(rec)
    return out


def concatenate(flats: list[dict], keys) -> dict:
    """Flat files of the same fields joined, molecule order kept (e.g. chunks into one file)."""
    return {k: np.concatenate([f[k] for f in flats]) for k in keys}


#: the flat format of data/qm9 (data/README.md: the keys of train.npz) plus `position`, the
#: permutation position: what both QM9 labellers pack, rows sorted by qm9_index
QM9_FIELDS = (molecule("qm9_index", np.int64), molecule("smiles", str), count("atom_count", "z"),
              rows("z", "atom_count", np.int8), rows("pos", "atom_count", np.float64, (3,)),
              molecule("energy", np.float64), molecule("dipole", np.float64, (3,)),
              molecule("second_moment", np.float64, (3, 3)), molecule("center_of_mass", np.float64, (3,)),
              molecule("quadrupole_com", np.float64, (3, 3)), molecule("qm9_dipole_debye", np.float64),
              molecule("position", np.int64))


def command(action: Callable[[], object]) -> int:
    """Exit status of a command-line action: 0, or 1 with "error: …" on stderr when it raises
    ValueError, OSError or KeyError (a user's mistake, not a bug)."""
    try:
        action()
    except (ValueError, OSError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
