"""Worker process for one DFT reference job (started by appkit.jobs; no Streamlit work here).

Everything expensive happens here, never in the web server: the SCF (or loading it from the
engine's disk cache / the gallery) AND the evaluation of the reference MEP on the surface
the page shows. Reads a JSON spec on stdin ({numbers, positions, charge, multiplicity,
name, kind, budget_s}); writes JSON lines on stdout: {"progress": f, "message": m} while
running, then one final line {"ok": true, "message": ...} or
{"ok": false, "kind": "timeout"|"input"|"error", "error": ...}.

The time budget (s) is CPU time given to this process (all its threads), not wall time on a
busy server; it covers both stages: the engine checks it every SCF cycle, the MEP is
evaluated in chunks of :data:`CHUNK_POINTS` points with a check after each (and the job
manager kills the process outright a little after the budget, whatever it is doing). Every
progress line carries ``cpu_s``, the CPU seconds used so far.
Results: the engine's cache file and ``values_path(...)`` (MEP on the surface vertices,
kcal/mol/e, with the vertex count and checksum of the surface they belong to).
"""
from __future__ import annotations

import json
import os
import sys
import time
import warnings

import numpy as np

from mepviz.core.paths import HASH_FIELD, atomic_write, content_hash

#: surface points per MEP chunk (a few hundred ms each for a drug-sized molecule)
CHUNK_POINTS = 256
#: share of the progress bar for the SCF stage (the rest: the MEP on the surface)
SCF_SHARE = 0.8


def values_path(cache_dir: str, cache_key: str, kind: str) -> str:
    """Where the reference MEP on surface `kind` of the molecule with `cache_key` is stored."""
    safe = "".join(ch if ch.isalnum() else "_" for ch in kind)
    return os.path.join(cache_dir, f"{cache_key}-{safe}.mep.npz")


def vertex_checksum(vertices) -> float:
    return float(np.abs(np.asarray(vertices, float)).sum())


def save_values(path: str, values, vertices, cache_key: str) -> None:
    """Store the reference MEP on a surface atomically, with the vertex count and checksum of
    the surface, the molecule's cache key and a content hash (written after the arrays)."""
    arrays = {"values": np.asarray(values, float), "nverts": np.int64(len(values)),
              "vsum": np.float64(vertex_checksum(vertices)), "key": np.str_(cache_key)}
    arrays[HASH_FIELD] = np.str_(content_hash(arrays))
    atomic_write(path, lambda fh: np.savez(fh, **arrays))


def load_values(path: str, vertices, cache_key: str | None = None) -> np.ndarray | None:
    """The stored values if they belong to exactly these `vertices` (and the molecule with
    `cache_key`), are finite and match their content hash, else None (a damaged or foreign
    file is then recomputed; the reason is logged as a warning)."""
    try:
        with np.load(path, allow_pickle=False) as d:
            data = {k: d[k] for k in d.files}
        vals = np.asarray(data["values"], float)
        n, s = int(data["nverts"]), float(data["vsum"])
    except FileNotFoundError:
        return None
    except (OSError, KeyError, ValueError, EOFError) as exc:
        return _discard(path, f"unreadable ({type(exc).__name__})")
    verts = np.asarray(vertices, float)
    if HASH_FIELD not in data or str(data[HASH_FIELD]) != content_hash(data):
        return _discard(path, "no content hash, or one that does not match (edited or damaged)")
    if cache_key is not None and str(data.get("key")) != cache_key:
        return _discard(path, "it belongs to another molecule")
    if n != len(verts) or len(vals) != n or not np.all(np.isfinite(vals)):
        return None
    if not np.isclose(s, vertex_checksum(verts), rtol=1e-9, atol=1e-6):
        return None
    return vals


def _discard(path: str, why: str) -> None:
    warnings.warn(f"ignoring the reference MEP file {os.path.basename(path)}: {why}", RuntimeWarning)
    return None


def _emit(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


#: CPU time of this process when its job started (its start-up, imports, is not the job's)
_CPU_START = [0.0]


def _progress(fraction: float, message: str) -> None:
    _emit({"progress": fraction, "message": message, "cpu_s": time.process_time() - _CPU_START[0]})


class BudgetExceeded(RuntimeError):
    pass


def evaluate_mep(ref, points, deadline: float, progress) -> tuple[np.ndarray, float]:
    """Reference MEP (kcal/mol/e) at `points` in chunks, checking `deadline` (CPU seconds of
    this process, time.process_time) after each; returns (values, seconds)."""
    pts = np.asarray(points, float)
    out = np.empty(len(pts))
    t0 = time.monotonic()
    for s in range(0, len(pts), CHUNK_POINTS):
        if time.process_time() > deadline:
            raise BudgetExceeded(f"stopped while evaluating the potential on the surface "
                                 f"({s} of {len(pts)} points done)")
        out[s:s + CHUNK_POINTS] = ref.mep(pts[s:s + CHUNK_POINTS])
        progress((s + CHUNK_POINTS) / max(len(pts), 1), f"potential on the surface: "
                 f"{min(s + CHUNK_POINTS, len(pts))} of {len(pts)} points")
    return out, time.monotonic() - t0


def _process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc; None elsewhere): the worker's start-up
    (interpreter, imports) that a job's wall time includes before its SCF."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = float(fh.read().rsplit(")", 1)[1].split()[19])
        return time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError, IndexError):
        return None


def run(spec: dict) -> dict:
    """Do the job described by `spec`; returns the final message (see the module docstring)."""
    from mepviz import Molecule, MoleculeInputError, timing
    from mepviz.physics.reference import ReferenceEngine, ReferenceTimeout

    from . import gallery
    from .surfacekinds import make as make_surface

    t_start = time.monotonic()
    budget = float(spec.get("budget_s") or 900.0)
    _CPU_START[0] = time.process_time()
    deadline = _CPU_START[0] + budget                       # CPU time
    _progress(0.0, "started")
    mol = Molecule(numbers=spec["numbers"], positions=spec["positions"], charge=spec["charge"],
                   multiplicity=spec["multiplicity"], name=spec.get("name", ""))
    kind = spec.get("kind", "isodensity")
    engine = ReferenceEngine()
    try:
        ref = gallery.reference_for(mol)
        startup_s = _process_age_s()
        if ref is None:
            cpu0 = time.process_time()
            ref = engine.run(mol, time_budget_s=budget, cpu_time=True,
                             progress=lambda f, m: _progress(SCF_SHARE * f, m))
            if not ref.from_cache and engine.cache_dir:
                timing.record(engine.cache_dir, nao=int(ref.pyscf_mol.nao_nr()), n_atoms=mol.n_atoms,
                              scf_s=ref.wall_time, scf_cpu_s=time.process_time() - cpu0, scf_cycles=ref.scf_cycles,
                              threads=int(os.environ.get("OMP_NUM_THREADS", "1") or 1),
                              open_shell=mol.multiplicity > 1,
                              **({"startup_s": startup_s} if startup_s is not None else {}))
        _progress(SCF_SHARE, "building the surface")
        surf = make_surface(mol, kind)
        cpu0 = time.process_time()
        vals, mep_s = evaluate_mep(
            ref, surf.vertices, deadline, lambda f, m: _progress(SCF_SHARE + (1 - SCF_SHARE) * min(f, 1.0), m))
        if engine.cache_dir:
            key = engine.cache_key(mol)
            save_values(values_path(engine.cache_dir, key, kind), vals, surf.vertices, key)
            timing.record(engine.cache_dir, nao=int(ref.pyscf_mol.nao_nr()), mep_points=len(vals), mep_s=mep_s,
                          mep_cpu_s=time.process_time() - cpu0)
    except (ReferenceTimeout, BudgetExceeded) as exc:
        return {"ok": False, "kind": "timeout", "error": str(exc)}
    except MoleculeInputError as exc:
        return {"ok": False, "kind": "input", "error": str(exc)}
    except Exception as exc:  # noqa: BLE001  (reported to the user, never crashes the app)
        return {"ok": False, "kind": "error", "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "message": f"done in {time.monotonic() - t_start:.0f} s"}


def lower_priority() -> None:
    """The web server and the other sessions come first: nice 10 and, on Linux with
    scheduler autogroups, nice 19 for this worker's own group (it runs in a session of its
    own, and the kernel shares CPU between groups regardless of per-process nice)."""
    try:
        os.nice(10)
    except (AttributeError, OSError):
        pass
    try:
        with open("/proc/self/autogroup", "w") as fh:
            fh.write("19")
    except OSError:
        pass


def main() -> int:
    lower_priority()
    _emit(run(json.loads(sys.stdin.read())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
