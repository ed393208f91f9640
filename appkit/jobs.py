"""Background DFT reference jobs shared by all sessions of the server: bounded and fair.

A job computes the DFT reference of one molecule AND its MEP on one surface, entirely in a
separate, low-priority worker process (``python -m appkit.dft_worker``): the Streamlit
server never runs PySCF. Rules:

- at most ``max_workers`` jobs run at once (``MEPVIZ_DFT_WORKERS``, default 1), at most
  ``max_queue`` wait (``MEPVIZ_DFT_QUEUE``, default 4), each browser session owns at most
  ``per_session`` unfinished jobs (``MEPVIZ_DFT_PER_SESSION``, default 1);
- a job whose estimate exceeds the time budget (``MEPVIZ_DFT_BUDGET`` s, default 900) is
  refused before it starts; a running one is stopped by the worker at the budget and
  killed by the manager shortly after (``KILL_GRACE_S``) whatever it is doing;
- identical requests (same geometry, level and surface) share one job; only a session
  that asked for a job can cancel it, and a job is cancelled when no session wants it any
  more (its sessions cancelled it or closed their browser tab);
- results land in the reference cache (appkit.compute reads them).

    from appkit.jobs import job_manager
    jm = job_manager()                               # one per server (st.cache_resource)
    jid = jm.submit(mol, "isodensity", session_id)   # raises JobRefused with the reason
    s = jm.status(jid)                               # JobStatus: state, fraction, position, ...
    jm.cancel(jid, session_id)
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import streamlit as st

from mepviz import Molecule

ROOT = Path(__file__).resolve().parent.parent
LOG = logging.getLogger("mepviz.jobs")
#: seconds past the budget after which a worker is killed
KILL_GRACE_S = 15.0
#: finished jobs are forgotten after this many seconds (their results stay in the cache)
FORGET_AFTER_S = 3600.0
FINISHED_STATES = ("done", "error", "timeout", "cancelled")


def _env_int(name: str, default: int) -> int:
    try:
        return max(1, int(os.environ.get(name, default)))
    except ValueError:
        return default


def default_budget_s() -> float:
    try:
        return max(1.0, float(os.environ.get("MEPVIZ_DFT_BUDGET", "900")))
    except ValueError:
        return 900.0


class JobRefused(RuntimeError):
    """A job that will not be started; the message says why (user-facing)."""


@dataclass
class JobStatus:
    """state: "queued" | "running" | "done" | "error" | "timeout" | "cancelled"."""

    job_id: str
    label: str = ""
    kind: str = "isodensity"
    state: str = "queued"
    fraction: float = 0.0
    message: str = "waiting in the queue"
    estimate_s: float | None = None
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    position: int | None = None          # 1-based place in the queue while queued
    owners: frozenset = frozenset()

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
        """Seconds left, or None when unknown (past the estimate before the progress says
        enough). Early on: the estimate minus the time spent, so the ETA moves during the
        setup; once the progress fraction is informative, extrapolated from it (a busy
        machine runs slower than the estimate assumes)."""
        if self.state != "running":
            return None
        el, f = self.elapsed_s, self.fraction
        by_progress = el * (1.0 - f) / f if f >= 0.15 else None
        if self.estimate_s is None or el >= self.estimate_s:
            return None if by_progress is None else max(1.0, by_progress)
        by_estimate = self.estimate_s - el
        if by_progress is not None and (by_estimate <= 0.2 * self.estimate_s or el > 0.5 * self.estimate_s):
            return max(1.0, by_progress)
        return max(1.0, by_estimate)


def _spec(mol: Molecule, kind: str, budget_s: float) -> dict:
    return {"numbers": mol.numbers.tolist(), "positions": mol.positions.tolist(),
            "charge": int(mol.charge), "multiplicity": int(mol.multiplicity),
            "name": mol.name, "kind": kind, "budget_s": budget_s}


class DFTJobManager:
    """Queue + worker processes for DFT reference jobs; thread-safe."""

    def __init__(self, max_workers: int | None = None, max_queue: int | None = None,
                 per_session: int | None = None, budget_s: float | None = None,
                 threads: int | None = None,
                 session_alive: Callable[[str], bool] | None = None, reap_every_s: float = 3.0):
        self.max_workers = int(max_workers or _env_int("MEPVIZ_DFT_WORKERS", 1))
        self.max_queue = int(max_queue or _env_int("MEPVIZ_DFT_QUEUE", 4))
        self.per_session = int(per_session or _env_int("MEPVIZ_DFT_PER_SESSION", 1))
        self.budget_s = float(budget_s or default_budget_s())
        self.threads = int(threads or _env_int("MEPVIZ_DFT_THREADS", 1))
        self.session_alive = session_alive
        self._lock = threading.RLock()
        self._jobs: dict[str, JobStatus] = {}
        self._mols: dict[str, Molecule] = {}
        self._owners: dict[str, set] = {}
        self._queue: deque[str] = deque()
        self._procs: dict[str, subprocess.Popen] = {}
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap_loop, args=(reap_every_s,),
                                        name="dft-reaper", daemon=True)
        self._reaper.start()

    # -- ids --------------------------------------------------------------------------------
    @staticmethod
    def job_id(mol: Molecule, kind: str = "isodensity") -> str:
        from .compute import reference_engine
        return f"{reference_engine().cache_key(mol)}-{kind}"

    # -- public API ---------------------------------------------------------------------------
    def submit(self, mol: Molecule, kind: str = "isodensity", session: str = "",
               estimate_s: float | None = None) -> str:
        """Queue (or join) the job for `mol` on surface `kind` for `session`; returns its id
        at once. Raises :class:`JobRefused` (estimate over the budget, session already
        has `per_session` jobs, queue full)."""
        jid = self.job_id(mol, kind)
        if estimate_s is not None and estimate_s > self.budget_s:
            raise JobRefused(
                f"This DFT reference would take about {_fmt_s(estimate_s)} on this server, more "
                f"than the time budget of {_fmt_s(self.budget_s)}; it was not started.")
        with self._lock:
            old = self._jobs.get(jid)
            if old is not None and old.state in ("queued", "running", "done"):
                if old.active:
                    self._owners[jid].add(session)
                    old.owners = frozenset(self._owners[jid])
                return jid
            mine = [j for j in self._active_ids() if session in self._owners.get(j, ())]
            if len(mine) >= self.per_session:
                raise JobRefused(
                    f"You already have {len(mine)} DFT job{'s' * (len(mine) > 1)} in progress "
                    f"(limit {self.per_session} per session): wait for it or cancel it first.")
            if len(self._queue) >= self.max_queue:
                raise JobRefused(
                    f"The DFT queue is full ({len(self._queue)} jobs waiting, limit "
                    f"{self.max_queue}); please try again in a few minutes.")
            self._jobs[jid] = JobStatus(jid, label=mol.formula, kind=kind, estimate_s=estimate_s,
                                        owners=frozenset({session}))
            self._mols[jid] = mol
            self._owners[jid] = {session}
            self._queue.append(jid)
            self._renumber()
        LOG.info("DFT job %s (%s, %s) queued for session %s", jid[:12], mol.formula, kind, session[:8])
        self._pump()
        return jid

    def status(self, job_id: str) -> JobStatus | None:
        with self._lock:
            s = self._jobs.get(job_id)
            return None if s is None else JobStatus(**s.__dict__)

    def status_for(self, mol: Molecule, kind: str = "isodensity") -> JobStatus | None:
        return self.status(self.job_id(mol, kind))

    def cancel(self, job_id: str, session: str) -> bool:
        """`session` withdraws from the job; the job stops when no session wants it.
        Returns False when `session` never asked for it (nothing changes)."""
        with self._lock:
            owners = self._owners.get(job_id)
            s = self._jobs.get(job_id)
            if s is None or owners is None or session not in owners or not s.active:
                return False
            owners.discard(session)
            s.owners = frozenset(owners)
            if owners:
                return True
        self._stop_job(job_id, "cancelled", "cancelled: nobody is waiting for it any more")
        return True

    def drop_session(self, session: str) -> None:
        """Forget `session` (its browser tab closed): its jobs stop unless others want them."""
        with self._lock:
            ids = [j for j in self._active_ids() if session in self._owners.get(j, ())]
        for j in ids:
            self.cancel(j, session)

    def queue_state(self) -> dict:
        """{"running": n, "queued": n, "max_queue", "max_workers", "per_session", "budget_s"}."""
        with self._lock:
            running = sum(1 for s in self._jobs.values() if s.state == "running")
            return {"running": running, "queued": len(self._queue), "max_queue": self.max_queue,
                    "max_workers": self.max_workers, "per_session": self.per_session,
                    "budget_s": self.budget_s}

    def active_jobs(self) -> list[JobStatus]:
        with self._lock:
            return [JobStatus(**self._jobs[j].__dict__) for j in self._active_ids()]

    def shutdown(self) -> None:
        """Stop the reaper and every job (tests)."""
        self._stop.set()
        for j in [s.job_id for s in self.active_jobs()]:
            self._stop_job(j, "cancelled", "server shutting down")

    # -- internals ----------------------------------------------------------------------------
    def _active_ids(self) -> list[str]:
        return [j for j, s in self._jobs.items() if s.active]

    def _renumber(self) -> None:
        for i, j in enumerate(self._queue):
            self._jobs[j].position = i + 1

    def _update(self, jid: str, **kw) -> None:
        with self._lock:
            s = self._jobs[jid]
            if s.state in FINISHED_STATES:
                return
            for k, v in kw.items():
                setattr(s, k, v)

    def _stop_job(self, jid: str, state: str, message: str, error: str | None = None) -> None:
        with self._lock:
            s = self._jobs.get(jid)
            if s is None or not s.active:
                return
            if jid in self._queue:
                self._queue.remove(jid)
                self._renumber()
            s.state, s.message, s.error, s.position = state, message, error, None
            s.finished = time.time()
            proc = self._procs.get(jid)
        LOG.info("DFT job %s %s: %s", jid[:12], state, message)
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                proc.kill()
        self._pump()

    def _pump(self) -> None:
        """Start queued jobs while workers are free."""
        while True:
            with self._lock:
                running = sum(1 for s in self._jobs.values() if s.state == "running")
                if running >= self.max_workers or not self._queue:
                    return
                jid = self._queue.popleft()
                self._renumber()
                self._jobs[jid].state = "running"
                self._jobs[jid].position = None
                self._jobs[jid].started = time.time()
                self._jobs[jid].message = "starting the DFT worker"
            threading.Thread(target=self._run, args=(jid,), name=f"dft-{jid[:8]}", daemon=True).start()

    def _reap_loop(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self._reap()
            except Exception:   # noqa: BLE001 — the reaper must never die
                LOG.exception("DFT job reaper")

    def _reap(self) -> None:
        """Drop sessions that ended; kill workers past their budget; forget old finished jobs."""
        now = time.time()
        with self._lock:
            for j in [j for j, s in self._jobs.items()
                      if not s.active and s.finished and now - s.finished > FORGET_AFTER_S]:
                self._jobs.pop(j, None)
                self._mols.pop(j, None)
                self._owners.pop(j, None)
            owners = {s for j in self._active_ids() for s in self._owners.get(j, ())}
            overdue = [j for j, s in self._jobs.items() if s.state == "running" and s.started
                       and now - s.started > self.budget_s + KILL_GRACE_S]
        if self.session_alive is not None:
            for sess in owners:
                if not self.session_alive(sess):
                    LOG.info("session %s ended: dropping its DFT jobs", sess[:8])
                    self.drop_session(sess)
        for j in overdue:
            self._stop_job(j, "timeout", "stopped: time budget spent",
                           error=f"The DFT reference was stopped after the time budget of "
                                 f"{_fmt_s(self.budget_s)}.")

    def _run(self, jid: str) -> None:
        with self._lock:
            mol, kind = self._mols[jid], self._jobs[jid].kind
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(self.threads)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        try:
            proc = subprocess.Popen([sys.executable, "-m", "appkit.dft_worker"], cwd=str(ROOT),
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=env,
                                    start_new_session=True)
        except OSError as exc:
            self._finish(jid, "error", error=f"could not start the DFT worker: {exc}")
            return
        with self._lock:
            self._procs[jid] = proc
            stopped = not self._jobs[jid].active
        if stopped:                      # cancelled while the process was starting
            proc.kill()
        try:
            proc.stdin.write(json.dumps(_spec(mol, kind, self.budget_s)))
            proc.stdin.close()
        except OSError:
            pass
        final = None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if "progress" in msg:
                self._update(jid, fraction=float(msg["progress"]), message=str(msg.get("message", "")))
            else:
                final = msg
        rc = proc.wait()
        err_tail = (proc.stderr.read() or "")[-2000:] if proc.stderr else ""
        with self._lock:
            self._procs.pop(jid, None)
        if final and final.get("ok"):
            self._finish(jid, "done", message=final.get("message", "done"))
        elif final:
            if final.get("kind") == "error":
                LOG.error("DFT job %s failed: %s", jid[:12], final.get("error"))
            self._finish(jid, "timeout" if final.get("kind") == "timeout" else "error",
                         error=final.get("error", "the DFT reference failed"))
        else:
            LOG.error("DFT worker for %s stopped (exit code %s): %s", jid[:12], rc, err_tail)
            self._finish(jid, "error", error=f"the DFT worker stopped unexpectedly (exit code {rc}).")

    def _finish(self, jid: str, state: str, message: str | None = None, error: str | None = None):
        with self._lock:
            s = self._jobs[jid]
            if s.active:
                s.state, s.error, s.finished = state, error, time.time()
                s.fraction = 1.0 if state == "done" else s.fraction
                s.message = message or state
                self._owners[jid] = set()
        self._pump()


def _fmt_s(s: float | None) -> str:
    if s is None:
        return "?"
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


def current_session_id() -> str:
    """The id of the browser session running this script ("" outside Streamlit)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


def session_alive(session_id: str) -> bool:
    """Whether the Streamlit session `session_id` is still connected (True when unknown,
    e.g. under AppTest, which has no runtime)."""
    from streamlit import runtime
    if not runtime.exists():
        return True
    try:
        return bool(runtime.get_instance().is_active_session(session_id))
    except Exception:   # noqa: BLE001
        return True


@st.cache_resource
def job_manager() -> DFTJobManager:
    """The server-wide :class:`DFTJobManager` (shared by every session)."""
    return DFTJobManager(session_alive=session_alive)
