"""Background DFT reference jobs shared by all sessions of the server.

A job runs ``mepviz.reference.ReferenceEngine().run(mol)`` in a separate, low-priority
worker process (``python -m appkit.dft_worker``), so the Streamlit server (and every
other browser session) stays responsive. Progress arrives as JSON lines on the worker's
stdout; the result lands in the engine's disk cache, from which the page loads it.
At most ``MEPVIZ_DFT_WORKERS`` (default 1) jobs compute at once; others queue.
Identical requests (same geometry + level) share one job.

    from appkit.jobs import job_manager
    jm = job_manager()                          # one per server process (st.cache_resource)
    job_id = jm.submit(mol)                     # returns at once
    s = jm.status(job_id)                       # JobStatus: state, fraction, message, ...
    if s.state == "done": ref = jm.result(job_id)   # ReferenceResult

Pages poll with ``@st.fragment(run_every=1.0)`` (see appkit.widgets.dft_reference_panel).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from mepviz import Molecule

ROOT = Path(__file__).resolve().parent.parent
#: default time budget for one reference calculation (s); MEPVIZ_DFT_BUDGET overrides
DEFAULT_BUDGET_S = float(os.environ.get("MEPVIZ_DFT_BUDGET", "900"))


@dataclass
class JobStatus:
    """state: "queued" | "running" | "done" | "error" | "timeout"."""

    job_id: str
    state: str = "queued"
    fraction: float = 0.0
    message: str = "queued"
    estimate_s: float | None = None
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    error: str | None = None

    @property
    def elapsed_s(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    @property
    def remaining_s(self) -> float | None:
        """Seconds left: from the up-front estimate early on, then extrapolated from the
        progress fraction (a busy machine runs slower than the estimate assumes)."""
        if self.state != "running":
            return None
        el, f = self.elapsed_s, self.fraction
        by_progress = el * (1.0 - f) / f if f >= 0.15 else None
        if self.estimate_s is None:
            return by_progress
        by_estimate = self.estimate_s - el
        if by_progress is not None and (by_estimate <= 0.2 * self.estimate_s or el > 0.5 * self.estimate_s):
            return max(1.0, by_progress)
        return max(1.0, by_estimate)


class DFTJobManager:
    """Runs reference calculations in worker processes; thread-safe."""

    def __init__(self, max_workers: int | None = None, budget_s: float = DEFAULT_BUDGET_S,
                 threads: int | None = None):
        self.max_workers = int(max_workers or os.environ.get("MEPVIZ_DFT_WORKERS", "1"))
        self.budget_s = float(budget_s)
        self.threads = int(threads or os.environ.get("MEPVIZ_DFT_THREADS", "1"))
        self._slots = threading.Semaphore(self.max_workers)
        self._lock = threading.Lock()
        self._jobs: dict[str, JobStatus] = {}
        self._mols: dict[str, Molecule] = {}
        self._procs: dict[str, subprocess.Popen] = {}

    # -- public API ---------------------------------------------------------------------
    def job_id(self, mol: Molecule) -> str:
        from .compute import reference_engine
        return reference_engine().cache_key(mol)

    def submit(self, mol: Molecule) -> str:
        """Start (or join) the reference job for `mol`; returns its id immediately."""
        jid = self.job_id(mol)
        with self._lock:
            old = self._jobs.get(jid)
            if old is not None and old.state in ("queued", "running", "done"):
                return jid
            status = JobStatus(jid)
            self._jobs[jid] = status
            self._mols[jid] = mol
        threading.Thread(target=self._run, args=(jid,), name=f"dft-{jid[:8]}", daemon=True).start()
        return jid

    def status(self, job_id: str) -> JobStatus | None:
        with self._lock:
            s = self._jobs.get(job_id)
            return None if s is None else JobStatus(**s.__dict__)

    def status_for(self, mol: Molecule) -> JobStatus | None:
        return self.status(self.job_id(mol))

    def result(self, job_id: str):
        """The ReferenceResult of a finished job (loaded from the disk cache), else None."""
        s = self.status(job_id)
        if s is None or s.state != "done":
            return None
        from .compute import reference_engine
        return reference_engine().cached(self._mols[job_id])

    def cancel(self, job_id: str) -> None:
        with self._lock:
            p = self._procs.get(job_id)
            s = self._jobs.get(job_id)
            if s is not None and s.active:
                s.state, s.message, s.error = "error", "cancelled", "The calculation was cancelled."
                s.finished = time.time()
        if p is not None and p.poll() is None:
            p.terminate()

    def active_jobs(self) -> list[JobStatus]:
        with self._lock:
            return [JobStatus(**s.__dict__) for s in self._jobs.values() if s.active]

    # -- worker -------------------------------------------------------------------------
    def _update(self, jid: str, **kw):
        with self._lock:
            s = self._jobs[jid]
            if s.state == "error" and s.message == "cancelled":
                return
            for k, v in kw.items():
                setattr(s, k, v)

    def _run(self, jid: str):
        with self._slots:
            with self._lock:
                if self._jobs[jid].state != "queued":
                    return
            mol = self._mols[jid]
            self._update(jid, state="running", started=time.time(), message="starting the DFT worker")
            spec = {"numbers": mol.numbers.tolist(), "positions": mol.positions.tolist(),
                    "charge": int(mol.charge), "multiplicity": int(mol.multiplicity),
                    "name": mol.name, "budget_s": self.budget_s}
            env = dict(os.environ)
            for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYSCF_MAX_MEMORY"):
                env.pop(var, None)
            env.update(OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads),
                       OPENBLAS_NUM_THREADS=str(self.threads))
            env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
            try:
                proc = subprocess.Popen([sys.executable, "-m", "appkit.dft_worker"], cwd=str(ROOT),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)
            except OSError as exc:
                self._update(jid, state="error", error=f"could not start the DFT worker: {exc}",
                             finished=time.time())
                return
            with self._lock:
                self._procs[jid] = proc
            proc.stdin.write(json.dumps(spec))
            proc.stdin.close()
            final = None
            for line in proc.stdout:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if "progress" in msg:
                    self._update(jid, fraction=float(msg["progress"]), message=str(msg.get("message", "")))
                    if msg.get("estimate_s"):
                        self._update(jid, estimate_s=float(msg["estimate_s"]))
                else:
                    final = msg
            rc = proc.wait()
            err_tail = proc.stderr.read()[-2000:] if proc.stderr else ""
            with self._lock:
                self._procs.pop(jid, None)
            if final and final.get("ok"):
                self._update(jid, state="done", fraction=1.0, message=final.get("message", "done"),
                             finished=time.time())
            elif final:
                self._update(jid, state="timeout" if final.get("kind") == "timeout" else "error",
                             error=final.get("error", "the DFT reference failed"), finished=time.time())
            else:
                self._update(jid, state="error", finished=time.time(),
                             error=f"the DFT worker stopped unexpectedly (exit code {rc}). "
                                   f"{err_tail.strip().splitlines()[-1] if err_tail.strip() else ''}")


@st.cache_resource
def job_manager() -> DFTJobManager:
    """The server-wide :class:`DFTJobManager` (shared by every session)."""
    return DFTJobManager()
