"""Background DFT reference jobs shared by all sessions of the server: bounded and fair.

A job computes the DFT reference of one molecule AND its MEP on one surface, entirely in a
separate, low-priority worker process (``python -m appkit.dft_worker``): the Streamlit
server never runs PySCF. Rules:

- at most ``max_workers`` jobs run at once (``MEPVIZ_DFT_WORKERS``, default 1), at most
  ``max_queue`` wait (``MEPVIZ_DFT_QUEUE``, default 4);
- each browser owns at most ``per_client`` unfinished jobs (``MEPVIZ_DFT_PER_CLIENT``,
  default 1) and each network address at most ``per_address`` (``MEPVIZ_DFT_PER_ADDRESS``,
  default 4): a browser is known across its tabs (:func:`current_client`: Streamlit's
  browser cookie, else the address), so a new tab does not escape the limit;
- the time budget (``MEPVIZ_DFT_BUDGET`` s, default 900) is CPU time given to the job, not
  wall time on a busy server: a job whose estimate exceeds it is refused before it starts; a
  running one is stopped by the worker when its CPU time reaches the budget, and killed by
  the manager shortly after (``KILL_GRACE_S``, which also covers the worker's start-up)
  whatever it is doing — or when the server is so busy that it has run ``WALL_CAP_FACTOR`` ×
  the budget in wall time;
- identical requests (same geometry, level and surface) share one job; only a session
  that asked for a job can cancel it, and a job is cancelled when no session wants it any
  more (its sessions cancelled it or closed their browser tab);
- every unfinished job is written to a journal (``<cache>/jobs``); after a server restart
  the jobs that were queued or running there are reported as lost (state "lost") to any
  page that shows that molecule, which can start them again;
- results land in the reference cache (appkit.compute reads them).

    from appkit.jobs import job_manager
    jm = job_manager()                               # one per server (st.cache_resource)
    jid = jm.submit(mol, "isodensity", session_id, client=current_client())   # or JobRefused
    s = jm.status(jid)                               # JobStatus: state, fraction, CPU used, ...
    jm.cancel(jid, session_id)
"""
from __future__ import annotations

import hashlib
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
from mepviz.core.paths import atomic_write

ROOT = Path(__file__).resolve().parent.parent
LOG = logging.getLogger("mepviz.jobs")
#: CPU seconds past the budget after which a worker is killed
KILL_GRACE_S = 15.0
#: a running job is stopped after this many times its budget in wall time (a server so
#: busy that the job cannot get its CPU time)
WALL_CAP_FACTOR = 4.0
#: finished jobs are forgotten after this many seconds (their results stay in the cache)
FORGET_AFTER_S = 3600.0
FINISHED_STATES = ("done", "error", "timeout", "cancelled", "lost")


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
    """state: "queued" | "running" | "done" | "error" | "timeout" | "cancelled" | "lost" (the
    server restarted while it was unfinished). `cpu_s`: CPU seconds the worker has used
    (None until it reports), `budget_s`: its CPU-time budget."""

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
    clients: frozenset = frozenset()     # the browsers (and addresses) that asked for it
    cpu_s: float | None = None
    budget_s: float | None = None

    @property
    def elapsed_s(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    @property
    def used_s(self) -> float:
        """The time the job has used against its budget: CPU seconds once the worker reports
        them, else the wall time since it started."""
        return self.elapsed_s if self.cpu_s is None else self.cpu_s

    @property
    def cpu_remaining_s(self) -> float | None:
        """Budget seconds (CPU) still needed, or None when unknown (past the estimate before
        the progress says enough). Early on: the estimate minus the time used, so the ETA
        moves during the setup; once the progress fraction is informative, extrapolated from
        it; never beyond what is left of the budget."""
        if self.state != "running":
            return None
        used, f = self.used_s, self.fraction
        by_progress = used * (1.0 - f) / f if f >= 0.15 else None
        if self.estimate_s is None or used >= self.estimate_s:
            left = by_progress
        else:
            by_estimate = self.estimate_s - used
            left = (by_progress if by_progress is not None and
                    (by_estimate <= 0.2 * self.estimate_s or used > 0.5 * self.estimate_s) else by_estimate)
        if left is not None and self.budget_s is not None:
            left = min(left, max(self.budget_s - used, 0.0))
        return None if left is None else max(1.0, left)

    @property
    def remaining_s(self) -> float | None:
        """Wall seconds left: :attr:`cpu_remaining_s` at the share of a core the job has been
        getting (a busy server gives it less), or None when unknown."""
        left = self.cpu_remaining_s
        if left is None or self.cpu_s is None or self.elapsed_s < 5.0:
            return left
        share = min(max(self.cpu_s / self.elapsed_s, 0.05), 64.0)
        return max(1.0, left / share)


def _spec(mol: Molecule, kind: str, budget_s: float) -> dict:
    return {"numbers": mol.numbers.tolist(), "positions": mol.positions.tolist(),
            "charge": int(mol.charge), "multiplicity": int(mol.multiplicity),
            "name": mol.name, "kind": kind, "budget_s": budget_s}


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system, all threads) of process `pid` (Linux /proc; None elsewhere
    or when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def journal_dir() -> str | None:
    """Where unfinished jobs are written down: ``<reference cache>/jobs``."""
    from mepviz.physics.reference import default_cache_dir
    return os.path.join(default_cache_dir(), "jobs")


class DFTJobManager:
    """Queue + worker processes for DFT reference jobs; thread-safe."""

    def __init__(self, max_workers: int | None = None, max_queue: int | None = None,
                 per_client: int | None = None, per_address: int | None = None, budget_s: float | None = None,
                 threads: int | None = None, session_alive: Callable[[str], bool] | None = None,
                 reap_every_s: float = 3.0, journal: str | None | bool = None, wall_cap_s: float | None = None):
        self.max_workers = int(max_workers or _env_int("MEPVIZ_DFT_WORKERS", 1))
        self.max_queue = int(max_queue or _env_int("MEPVIZ_DFT_QUEUE", 4))
        self.per_client = int(per_client or _env_int("MEPVIZ_DFT_PER_CLIENT", 1))
        self.per_address = int(per_address or _env_int("MEPVIZ_DFT_PER_ADDRESS", 4))
        self.budget_s = float(budget_s or default_budget_s())
        self.wall_cap_s = float(wall_cap_s or WALL_CAP_FACTOR * self.budget_s + KILL_GRACE_S)
        self.threads = int(threads or _env_int("MEPVIZ_DFT_THREADS", 1))
        self.session_alive = session_alive
        self.journal = journal_dir() if journal is None else (journal or None)
        self._lock = threading.RLock()
        self._jobs: dict[str, JobStatus] = {}
        self._mols: dict[str, Molecule] = {}
        self._owners: dict[str, set] = {}
        self._clients: dict[str, set] = {}
        self._queue: deque[str] = deque()
        self._procs: dict[str, subprocess.Popen] = {}
        self._stop = threading.Event()
        self._recover()
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
               estimate_s: float | None = None, client: tuple | str | None = None) -> str:
        """Queue (or join) the job for `mol` on surface `kind` for `session` of `client` (a
        browser id, or (browser id, network address); default: the session alone); returns its
        id at once. Raises :class:`JobRefused` (estimate over the CPU-time budget, the browser
        or address already has its jobs, queue full)."""
        browser, address = client if isinstance(client, tuple) else (client or f"session:{session}", None)
        jid = self.job_id(mol, kind)
        if estimate_s is not None and estimate_s > self.budget_s:
            raise JobRefused(
                f"This DFT reference would take about {_fmt_s(estimate_s)} of CPU time on this server, more "
                f"than the time budget of {_fmt_s(self.budget_s)} of CPU time per job; it was not started.")
        with self._lock:
            old = self._jobs.get(jid)
            if old is not None and old.state in ("queued", "running", "done"):
                if old.active:
                    self._owners[jid].add(session)
                    old.owners = frozenset(self._owners[jid])
                return jid
            active = self._active_ids()
            mine = [j for j in active if browser in self._clients.get(j, ())]
            if len(mine) >= self.per_client:
                raise JobRefused(
                    f"This browser already has {len(mine)} DFT job{'s' * (len(mine) > 1)} in progress "
                    f"(limit {self.per_client} per browser, all its tabs together): wait for it or "
                    f"cancel it first.")
            ours = [j for j in active if address and address in self._clients.get(j, ())]
            if len(ours) >= self.per_address:
                raise JobRefused(
                    f"Your network address already has {len(ours)} DFT jobs in progress (limit "
                    f"{self.per_address}); wait for one of them to finish.")
            if len(self._queue) >= self.max_queue:
                raise JobRefused(
                    f"The DFT queue is full ({len(self._queue)} jobs waiting, limit "
                    f"{self.max_queue}); please try again in a few minutes.")
            self._clients[jid] = {c for c in (browser, address) if c}
            self._jobs[jid] = JobStatus(jid, label=mol.formula, kind=kind, estimate_s=estimate_s,
                                        owners=frozenset({session}), clients=frozenset(self._clients[jid]),
                                        budget_s=self.budget_s)
            self._mols[jid] = mol
            self._owners[jid] = {session}
            self._queue.append(jid)
            self._renumber()
            self._write_journal(jid)
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
        """{"running": n, "queued": n, "max_queue", "max_workers", "per_client", "budget_s"}."""
        with self._lock:
            running = sum(1 for s in self._jobs.values() if s.state == "running")
            return {"running": running, "queued": len(self._queue), "max_queue": self.max_queue,
                    "max_workers": self.max_workers, "per_client": self.per_client,
                    "budget_s": self.budget_s}

    def active_jobs(self) -> list[JobStatus]:
        with self._lock:
            return [JobStatus(**self._jobs[j].__dict__) for j in self._active_ids()]

    def worker_pid(self, job_id: str) -> int | None:
        """The process id of the job's worker while it runs."""
        with self._lock:
            proc = self._procs.get(job_id)
            return None if proc is None else proc.pid

    def shutdown(self) -> None:
        """Stop the reaper and every job (tests)."""
        self._stop.set()
        for j in [s.job_id for s in self.active_jobs()]:
            self._stop_job(j, "cancelled", "server shutting down")

    # -- journal (server restarts) ------------------------------------------------------------
    def _journal_path(self, jid: str) -> str | None:
        return os.path.join(self.journal, f"{jid}.json") if self.journal else None

    def _write_journal(self, jid: str) -> None:
        """Write down an unfinished job (a finished one is struck off); never raises."""
        path = self._journal_path(jid)
        if path is None:
            return
        s = self._jobs[jid]
        try:
            if s.active:
                doc = {"job_id": jid, "label": s.label, "kind": s.kind, "state": s.state,
                       "submitted": s.submitted, "started": s.started, "server_pid": os.getpid()}
                atomic_write(path, lambda fh: fh.write(json.dumps(doc).encode()))
            elif os.path.exists(path):
                os.unlink(path)
        except OSError as exc:
            LOG.warning("DFT job journal %s: %s", path, exc)

    def _recover(self) -> None:
        """Jobs the journal lists for a server process that is gone were unfinished when it
        stopped: report them lost (a running server's own entries are left alone)."""
        if not self.journal or not os.path.isdir(self.journal):
            return
        for name in sorted(os.listdir(self.journal)):
            path = os.path.join(self.journal, name)
            try:
                with open(path, encoding="utf-8") as fh:
                    doc = json.load(fh)
                jid, was = str(doc["job_id"]), str(doc.get("state", "queued"))
                if _alive(int(doc.get("server_pid", 0))):
                    continue
                os.unlink(path)
            except (OSError, ValueError, KeyError, TypeError):
                continue
            self._jobs[jid] = JobStatus(
                jid, label=str(doc.get("label", "")), kind=str(doc.get("kind", "isodensity")), state="lost",
                message="lost in a server restart", submitted=float(doc.get("submitted") or time.time()),
                started=doc.get("started"), finished=time.time(), budget_s=self.budget_s,
                error=f"The server restarted while this DFT job was {was}; it did not finish. Start it again.")
            self._owners[jid], self._clients[jid] = set(), set()
            LOG.warning("DFT job %s was %s when the server stopped: reported lost", jid[:12], was)

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
            self._write_journal(jid)
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
                self._write_journal(jid)
            threading.Thread(target=self._run, args=(jid,), name=f"dft-{jid[:8]}", daemon=True).start()

    def _reap_loop(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self._reap()
            except Exception:   # noqa: BLE001 — the reaper must never die
                LOG.exception("DFT job reaper")

    def _reap(self) -> None:
        """Drop sessions that ended; kill workers past their CPU budget (or the wall-time cap);
        forget old finished jobs."""
        now = time.time()
        with self._lock:
            for j in [j for j, s in self._jobs.items()
                      if not s.active and s.finished and now - s.finished > FORGET_AFTER_S]:
                for table in (self._jobs, self._mols, self._owners, self._clients):
                    table.pop(j, None)
            owners = {s for j in self._active_ids() for s in self._owners.get(j, ())}
            running = {j: (s, self._procs.get(j)) for j, s in self._jobs.items() if s.state == "running"}
        if self.session_alive is not None:
            for sess in owners:
                if not self.session_alive(sess):
                    LOG.info("session %s ended: dropping its DFT jobs", sess[:8])
                    self.drop_session(sess)
        for j, (s, proc) in running.items():
            cpu = process_cpu_seconds(proc.pid) if proc is not None else None    # its start-up too
            if cpu is not None and cpu > self.budget_s + KILL_GRACE_S:
                self._stop_job(j, "timeout", "stopped: CPU-time budget spent",
                               error=f"The DFT reference was stopped after its budget of {_fmt_s(self.budget_s)} "
                                     f"of CPU time.")
            elif s.started and now - s.started > self.wall_cap_s:
                self._stop_job(j, "timeout", "stopped: the server is too busy",
                               error=f"The DFT reference was stopped after {_fmt_s(now - s.started)}: the "
                                     f"server was too busy to give it its budget of {_fmt_s(self.budget_s)} "
                                     f"of CPU time.")

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
                self._update(jid, fraction=float(msg["progress"]), message=str(msg.get("message", "")),
                             **({"cpu_s": float(msg["cpu_s"])} if "cpu_s" in msg else {}))
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
            self._finish(jid, "error", error=f"the DFT worker stopped unexpectedly (exit code {rc}); nothing "
                                             f"was stored. Start it again.")

    def _finish(self, jid: str, state: str, message: str | None = None, error: str | None = None):
        with self._lock:
            s = self._jobs[jid]
            if s.active:
                s.state, s.error, s.finished = state, error, time.time()
                s.fraction = 1.0 if state == "done" else s.fraction
                s.message = message or state
                self._owners[jid] = set()
                self._write_journal(jid)
        self._pump()


def _alive(pid: int) -> bool:
    """Whether process `pid` exists."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _fmt_s(s: float | None) -> str:
    if s is None:
        return "?"
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


def current_session_id() -> str:
    """The id of the browser session running this script ("" outside Streamlit)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


#: Streamlit's per-browser XSRF cookie (shared by every tab of a browser; no cookie of our own)
BROWSER_COOKIE = "_streamlit_xsrf"


def browser_token(cookie: str | None) -> str | None:
    """The browser's XSRF token inside Streamlit's cookie ("2|mask|masked token|time": the mask
    changes with every page load, the token stays), hex; None when there is none."""
    try:
        version, mask, masked, _ = str(cookie).split("|")
        if version != "2":
            return None
        key, data = bytes.fromhex(mask), bytes.fromhex(masked)
        return bytes(b ^ key[i % len(key)] for i, b in enumerate(data)).hex() or None
    except ValueError:
        return None


def client_of(session_id: str, cookies=None, headers=None, ip_address: str | None = None) -> tuple:
    """(browser id, network address id or None) of a request: the browser by the token of
    Streamlit's own XSRF cookie (the same in all its tabs), else by its address, else the
    session alone; the address from ``$MEPVIZ_CLIENT_HEADER`` (e.g. X-Forwarded-For behind a
    proxy: its first address) or the connection. Ids are hashes (no address or token is kept)."""
    header = os.environ.get("MEPVIZ_CLIENT_HEADER")
    if header and headers is not None and headers.get(header):
        ip_address = str(headers.get(header)).split(",")[0].strip() or ip_address
    cookie = browser_token(cookies.get(BROWSER_COOKIE)) if cookies is not None else None

    def digest(kind, value):
        return f"{kind}:{hashlib.sha256(str(value).encode()).hexdigest()[:16]}"
    address = digest("address", ip_address) if ip_address else None
    browser = digest("browser", cookie) if cookie else (address or f"session:{session_id}")
    return browser, address


def current_client() -> tuple:
    """:func:`client_of` the browser running this script (st.context)."""
    ctx = st.context
    try:
        return client_of(current_session_id(), ctx.cookies, ctx.headers, ctx.ip_address)
    except Exception:   # noqa: BLE001 — no request context (e.g. AppTest)
        return client_of(current_session_id())


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
