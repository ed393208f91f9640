"""Time model of the DFT reference, calibrated on this machine's own finished runs.

Every finished reference run appends one JSON line to ``timings.jsonl`` in the reference
cache directory: basis functions ``nao``, atoms ``n_atoms``, SCF seconds ``scf_s`` (wall) and
``scf_cpu_s`` (CPU time), SCF cycles, OpenMP threads, and — when the MEP was then evaluated
on a surface — the number of points ``mep_points`` and seconds ``mep_s`` / ``mep_cpu_s``.
The model counts CPU seconds where a record has them (what a job's budget counts: a busy
server slows the wall clock, not the CPU time a job needs), else wall seconds (the shipped
records: one core of an idle machine, where the two agree). :func:`fit` turns the records
into a :class:`TimingModel`:

    scf ≈ a·(nao/100)³ + b·n_atoms + c            (non-negative least squares, seconds)
    mep ≈ k · mep_points · nao²/2                  (median rate over the records)

With fewer than :data:`MIN_RECORDS` SCF records (or all of one size), :func:`fit` returns
None. Until this machine has MIN_OWN_RECORDS records of its own, :func:`estimate_seconds`
fits them together with the records shipped in ``mepviz/data/dft_timings_default.jsonl``
(one core of the development machine, written by ``python bench/dft_estimate.py
--write-default``).
"""
from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from ..core.paths import data_dir

FILENAME = "timings.jsonl"
MIN_RECORDS = 3
#: newest records used for the fit (the machine's load changes over time)
MAX_RECORDS = 200
_LOCK = threading.Lock()


def timings_path(cache_dir: str) -> str:
    return os.path.join(cache_dir, FILENAME)


def record(cache_dir: str, **fields) -> None:
    """Append one record (JSON line) to the timings file of `cache_dir`; never raises."""
    try:
        os.makedirs(cache_dir, exist_ok=True)
        line = json.dumps({k: (float(v) if isinstance(v, (int, float, np.number)) else v)
                           for k, v in fields.items()})
        with _LOCK, open(timings_path(cache_dir), "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    except (OSError, TypeError, ValueError):
        pass


def load(cache_dir: str) -> list[dict]:
    """The records of `cache_dir` (unreadable lines skipped), newest last."""
    try:
        with open(timings_path(cache_dir), encoding="utf-8") as fh:
            lines = fh.readlines()[-10 * MAX_RECORDS:]
    except OSError:
        return []
    out = []
    for ln in lines:
        try:
            d = json.loads(ln)
        except ValueError:
            continue
        if isinstance(d, dict):
            out.append(d)
    return out[-MAX_RECORDS:]


def _finite_pos(*xs) -> bool:
    return all(isinstance(x, (int, float)) and np.isfinite(x) and x > 0 for x in xs)


#: seconds for the worker process to start (interpreter, imports) when no record says
DEFAULT_STARTUP_S = 1.0


@dataclass(frozen=True)
class TimingModel:
    """Fitted wall-time model (seconds); see the module docstring."""

    a: float
    b: float
    c: float
    mep_rate: float | None      # s per (point × basis-function pair)
    n_records: int
    startup_s: float = DEFAULT_STARTUP_S    # worker process start-up before the SCF

    def scf_seconds(self, nao: int, n_atoms: int) -> float:
        return float(self.a * (nao / 100.0) ** 3 + self.b * n_atoms + self.c)

    def mep_seconds(self, nao: int, n_points: int) -> float | None:
        if self.mep_rate is None:
            return None
        return float(self.mep_rate * n_points * nao * (nao + 1) / 2)


def _seconds(record: dict, stage: str):
    """CPU seconds of `stage` ("scf" or "mep") when the record has them, else wall seconds."""
    cpu = record.get(f"{stage}_cpu_s")
    return cpu if _finite_pos(cpu) else record.get(f"{stage}_s")


def fit(records: list[dict]) -> TimingModel | None:
    """Least-squares fit of the SCF model (coefficients ≥ 0) and the median MEP rate."""
    scf = [r for r in records if _finite_pos(r.get("nao"), r.get("n_atoms"), _seconds(r, "scf"))]
    if len(scf) < MIN_RECORDS or len({int(r["nao"]) for r in scf}) < 2:
        return None
    nao = np.array([r["nao"] for r in scf], float)
    nat = np.array([r["n_atoms"] for r in scf], float)
    t = np.array([_seconds(r, "scf") for r in scf], float)
    A = np.stack([(nao / 100.0) ** 3, nat, np.ones_like(nat)], axis=1)
    # relative errors matter (1 s vs 10 min): weight each row by 1/t
    w = 1.0 / np.maximum(t, 0.5)
    coef, _ = nnls(A * w[:, None], t * w)
    mep = [_seconds(r, "mep") / (r["mep_points"] * r["nao"] * (r["nao"] + 1) / 2) for r in records
           if _finite_pos(_seconds(r, "mep"), r.get("mep_points"), r.get("nao"))]
    starts = [r["startup_s"] for r in scf if _finite_pos(r.get("startup_s"))]
    return TimingModel(float(coef[0]), float(coef[1]), float(coef[2]),
                       float(np.median(mep)) if mep else None, len(scf),
                       float(np.median(starts)) if starts else DEFAULT_STARTUP_S)


def load_model(cache_dir: str | None) -> TimingModel | None:
    """:func:`fit` of the records in `cache_dir` (None without a cache or enough records)."""
    if not cache_dir:
        return None
    return fit(load(cache_dir))


#: s per (surface point × basis-function pair) before this machine has finished a run
#: (benzene, 186 basis functions, about 4,000 points: ≈ 5 s on one core)
DEFAULT_MEP_RATE = 7e-8


DEFAULT_RECORDS = str(data_dir() / "dft_timings_default.jsonl")
#: with fewer SCF records of its own, this machine's records are fitted together with the
#: shipped ones (a few small jobs alone extrapolate badly to larger molecules)
MIN_OWN_RECORDS = 8


def default_records() -> list[dict]:
    """The shipped development-machine records (one core; [] when absent)."""
    try:
        with open(DEFAULT_RECORDS, encoding="utf-8") as fh:
            return [json.loads(ln) for ln in fh if ln.strip()]
    except (OSError, ValueError):
        return []


def default_model() -> TimingModel | None:
    """:func:`fit` of the shipped records alone (None when absent)."""
    return fit(default_records())


def estimate_seconds(engine, mol, n_points: int = 0, scf_needed: bool = True) -> tuple[float, bool]:
    """Time (s) of a reference job, in CPU seconds where the records have them (see the module
    docstring: what a job's budget counts): SCF (when `scf_needed`) plus the MEP on
    `n_points`, plus the worker process's start-up (median of the records' ``startup_s``,
    else 1 s).

    The model is fitted to this machine's finished runs in ``engine.cache_dir``, together with
    the shipped development-machine records while it has fewer than MIN_OWN_RECORDS of its
    own; without any records, the engine's built-in estimate. Returns (seconds, calibrated),
    calibrated meaning that at least MIN_RECORDS of this machine's runs went into it.
    Raises MoleculeInputError when the basis cannot be built.
    """
    nao = engine.basis_size(mol)
    own = load(engine.cache_dir) if engine.cache_dir else []
    n_own = sum(1 for r in own if _finite_pos(r.get("nao"), r.get("n_atoms"), _seconds(r, "scf")))
    model = fit(own) if n_own >= MIN_OWN_RECORDS else fit(default_records() + own)
    if scf_needed:
        scf = model.scf_seconds(nao, mol.n_atoms) if model else engine.estimate_seconds(mol)
        if model and mol.multiplicity > 1:
            scf *= 1.6
    else:
        scf = 0.0
    mep = model.mep_seconds(nao, n_points) if model else None
    if mep is None:
        mep = DEFAULT_MEP_RATE * n_points * nao * (nao + 1) / 2
    startup = model.startup_s if model else DEFAULT_STARTUP_S
    return float(scf + mep + startup), n_own >= MIN_RECORDS
