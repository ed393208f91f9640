"""Issue 21: outputs that never lose input, and bounded memory for the largest inputs.

The scenarios run the real ``mepviz`` command in its own process (a real dask LocalCluster for
``mepviz batch``): an output that is the input (by name, through a symbolic link, a hard link),
SIGTERM in the middle of a batch, a full disk (a small tmpfs where one can be mounted, else a
file-size limit, RLIMIT_FSIZE, on the command: never skipped) — each loses no input and leaves
no corrupt output: the previous output or a complete one, plus a partial file that says it is
partial and from which the same command resumes. Every export of a batch lists its failed
records. The peak memory (RSS) of the largest inputs is measured in a subprocess.
"""
from __future__ import annotations

import csv
import io
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mepviz.cli.batch import PARTIAL_MARK, partial_path
from mepviz.core.paths import atomic_write

ROOT = Path(__file__).resolve().parent.parent
WATER_XYZ = "3\nwater\nO 0 0 0.1173\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n"
#: 1.5 GiB, the most memory one input may take
MAX_RSS_KB = 1.5 * 1024 * 1024
LIBRARY = ["O water", "CCO ethanol", "c1ccncc1 pyridine", "CC(=O)[O-] acetate", "[SiH4] silane", "C#N hcn",
           "not-a-smiles((", "CC(C)O isopropanol", "OCCO glycol", "CN methylamine", "C=O formaldehyde",
           "CC#N acetonitrile", "c1ccoc1 furan", "C1CC1 cyclopropane", "OC=O formic", "CCCl chloroethane",
           "FC(F)F fluoroform", "CS(C)=O dmso", "NC(=O)N urea", "c1ccccc1O phenol"]


def mepviz(*args, cwd, timeout=300, **kw):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "mepviz", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, **kw)


def rows_of(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def partial_rows(path: Path) -> list[dict]:
    """The rows of a partial file: its two comment lines, then CSV; a torn last line ignored."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[0] == PARTIAL_MARK and lines[1].startswith("# input=")
    body = "\n".join(lines[2:-1]) + "\n"                   # complete lines only
    return list(csv.DictReader(io.StringIO(body)))


# ----------------------------------------------------------------------------- output = input
def test_an_output_that_is_the_input_is_refused(tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("O water\nCCO ethanol\n")
    before = lib.read_bytes()
    (tmp_path / "link.smi").symlink_to(lib)
    os.link(lib, tmp_path / "hard.smi")
    (tmp_path / "sub").mkdir()
    for out in ("lib.smi", str(lib), "link.smi", "hard.smi", "sub/../lib.smi"):
        r = mepviz("batch", "lib.smi", "-o", out, "--workers", "1", cwd=tmp_path, timeout=60)
        assert r.returncode == 2 and "is the input file" in r.stderr and "Traceback" not in r.stderr, r.stderr
    water = tmp_path / "w.xyz"
    water.write_text(WATER_XYZ)
    for args in (["-o", "w.xyz"], ["--cube", "w.xyz"], ["--points", "lib.smi", "-o", "lib.smi"],
                 ["--points", "lib.smi", "-o", "hard.smi"]):
        r = mepviz("predict", "w.xyz", *args, cwd=tmp_path, timeout=60)
        assert r.returncode == 2 and "would destroy the input" in r.stderr, (args, r.stderr)
    r = mepviz("predict", "w.xyz", "-o", "/dev/null", cwd=tmp_path, timeout=60)
    assert r.returncode == 2 and "not a regular file" in r.stderr, r.stderr
    assert lib.read_bytes() == before and water.read_text() == WATER_XYZ
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.smi", "lib.smi", "link.smi", "sub", "w.xyz"]


def test_workers_out_of_range_are_refused_at_once(tmp_path):
    (tmp_path / "lib.smi").write_text("O\n")
    for n in ("-3", "0", str(10 * (os.cpu_count() or 1))):
        t0 = time.monotonic()
        r = mepviz("batch", "lib.smi", "-o", "out.csv", "--workers", n, cwd=tmp_path, timeout=60)
        assert r.returncode == 2 and "number of worker processes must be between 1 and" in r.stderr, r.stderr
        assert time.monotonic() - t0 < 30 and not (tmp_path / "out.csv").exists()


# ----------------------------------------------------------------------------- SIGTERM mid-batch
@pytest.mark.slow
def test_sigterm_mid_batch_keeps_the_previous_output_and_resumes(tmp_path):
    lib = tmp_path / "lib.smi"
    lib.write_text("\n".join(LIBRARY * 2) + "\n")
    before = lib.read_bytes()
    out = tmp_path / "out.csv"
    out.write_text("previous results\n")
    partial = partial_path(out)
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "mepviz", "batch", "lib.smi", "-o", "out.csv", "--workers", "1",
                             "--no-progress"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 240:
        if partial.exists() and partial.read_text().count("\n") >= 2 + 1 + 4:    # 4 rows written
            break
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated (SIGTERM)" in err and "run the same command again to resume" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err                     # one line says what happened
    assert out.read_text() == "previous results\n"                      # the previous file, untouched
    assert lib.read_bytes() == before                                     # the input, untouched
    done = partial_rows(partial)
    assert 4 <= len(done) < 2 * len(LIBRARY)
    assert [int(r["record"]) for r in done] == list(range(1, len(done) + 1))
    # the same command resumes after the last complete row and completes the file
    r = mepviz("batch", "lib.smi", "-o", "out.csv", "--workers", "1", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0 and f"resumed after {len(done)}" in r.stderr, r.stderr
    rows = rows_of(out)
    assert [int(x["record"]) for x in rows] == list(range(1, 2 * len(LIBRARY) + 1))
    assert [x["name"] for x in rows] == [ln.split()[-1] for ln in LIBRARY * 2]
    assert {x["error"] != "" for x in rows if x["name"] in ("silane", "not-a-smiles((")} == {True}
    assert not partial.exists() and lib.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


# ----------------------------------------------------------------------------- a full disk
class FullDisk:
    """Where an output cannot grow: a 64 KiB tmpfs filled up (``kind`` "tmpfs", where this
    process may mount one: root), else a file-size limit on the command (``kind`` "file size
    limit": RLIMIT_FSIZE; Python ignores SIGXFSZ, so a write past the limit raises EFBIG) —
    the same scenario everywhere, never skipped. :meth:`fill` leaves about `leave` bytes;
    :meth:`empty` gives the room back; ``preexec`` goes to the command; ``error`` is the
    system's words for it."""

    def __init__(self, tmp_path: Path, mount: bool = True):
        self.dir = tmp_path / "disk"
        self.dir.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(self.dir)], capture_output=True,
                           text=True) if mount and os.geteuid() == 0 else None
        self.kind = "tmpfs" if r is not None and r.returncode == 0 else "file size limit"
        self.error = "No space left on device" if self.kind == "tmpfs" else "File too large"
        self.preexec = None

    def fill(self, leave: int) -> None:
        if self.kind == "tmpfs":
            st = os.statvfs(self.dir)
            with open(self.dir / "filler", "wb") as fh:
                fh.write(b"x" * max(0, st.f_bavail * st.f_frsize - leave))
        else:
            def limit(n=max(leave, 100)):
                resource.setrlimit(resource.RLIMIT_FSIZE, (n, n))
            self.preexec = limit

    def empty(self) -> None:
        self.preexec = None
        (self.dir / "filler").unlink(missing_ok=True)

    def files(self) -> list[str]:
        return sorted(p.name for p in self.dir.iterdir() if p.name != "filler")

    def close(self) -> None:
        if self.kind == "tmpfs":
            subprocess.run(["umount", "-l", str(self.dir)], capture_output=True)


@pytest.fixture
def full_disk(tmp_path):
    disk = FullDisk(tmp_path)
    yield disk
    disk.close()


def test_a_full_disk_loses_no_input_and_leaves_no_corrupt_output(tmp_path, full_disk):
    """``mepviz predict -o OUT`` with no room for OUT: one line says so and that OUT is
    unchanged; the previous OUT and the input stand, no temporary file is left; with room
    again the same command writes OUT."""
    water = tmp_path / "w.xyz"
    water.write_text(WATER_XYZ)
    old = full_disk.dir / "out.json"
    old.write_text('{"previous": true}\n')
    full_disk.fill(leave=0)
    r = mepviz("predict", water, "--format", "json", "-o", old, cwd=tmp_path, timeout=120,
               preexec_fn=full_disk.preexec)
    assert r.returncode == 2 and full_disk.error in r.stderr and "is unchanged" in r.stderr, (full_disk.kind, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert old.read_text() == '{"previous": true}\n' and water.read_text() == WATER_XYZ
    assert full_disk.files() == ["out.json"]                               # no temporary file left
    full_disk.empty()
    r = mepviz("predict", water, "--format", "json", "-o", old, cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and '"dipole"' in old.read_text()


@pytest.mark.slow
def test_a_batch_on_a_full_disk_stops_cleanly_and_resumes(tmp_path, full_disk):
    """``mepviz batch`` with room for a few rows: exit 2, one line naming the problem and how to
    resume; the previous output and the input untouched; the partial file says it is partial
    and holds complete rows in input order (a torn last row is not counted); with room again
    the same command resumes after those rows and completes the output."""
    lib = tmp_path / "lib.smi"
    lib.write_text("\n".join(LIBRARY) + "\n")
    out = full_disk.dir / "out.csv"
    out.write_text("previous results\n")
    full_disk.fill(leave=4096)
    r = mepviz("batch", lib, "-o", out, "--workers", "1", "--no-progress", cwd=tmp_path, preexec_fn=full_disk.preexec)
    assert r.returncode == 2 and full_disk.error in r.stderr and "to resume" in r.stderr, (full_disk.kind, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert out.read_text() == "previous results\n" and lib.read_text() == "\n".join(LIBRARY) + "\n"
    done = partial_rows(partial_path(out))                 # complete rows; a torn last line is left out
    assert 1 <= len(done) < len(LIBRARY) and [int(x["record"]) for x in done] == list(range(1, len(done) + 1))
    full_disk.empty()                                      # room again: the same command resumes
    r = mepviz("batch", lib, "-o", out, "--workers", "1", "--no-progress", cwd=tmp_path)
    assert r.returncode == 0 and f"resumed after {len(done)}" in r.stderr, r.stderr
    rows = rows_of(out)
    assert [int(x["record"]) for x in rows] == list(range(1, len(LIBRARY) + 1))
    assert [x["name"] for x in rows] == [ln.split()[-1] for ln in LIBRARY]
    assert not partial_path(out).exists() and full_disk.files() == ["out.csv"]


def test_the_full_disk_without_mounting(tmp_path):
    """Where a tmpfs can be mounted the scenarios above use it; the file-size limit that stands
    in for it elsewhere is checked here too, so both ways are known to work."""
    disk = FullDisk(tmp_path, mount=False)
    assert disk.kind == "file size limit"
    test_a_full_disk_loses_no_input_and_leaves_no_corrupt_output(tmp_path, disk)


# ----------------------------------------------------------------------------- atomic writes
def test_an_interrupted_write_leaves_the_previous_file_and_no_trace(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("previous\n")
    os.chmod(target, 0o640)

    def writer(fh):
        fh.write(b"half of the new ")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(str(target), writer)
    assert target.read_text() == "previous\n" and os.listdir(tmp_path) == ["out.csv"]
    atomic_write(str(target), lambda fh: fh.write(b"new\n"))
    assert target.read_text() == "new\n" and (os.stat(target).st_mode & 0o777) == 0o640   # permissions kept


def test_every_batch_export_lists_the_failed_records():
    """CSV, JSON, SDF and PQR of a batch: a failed record appears with its error, in file order."""
    from rdkit import Chem

    from mepviz.io import export
    from mepviz.io.records import split_records
    from mepviz.ml.predict import get_predictor
    from mepviz.report.batch import run_batch
    text = "O water\n[SiH4] silane\nCCO ethanol\n"
    res = run_batch(split_records(text.encode(), "lib.smi"), {m: get_predictor(m) for m in ("dipole", "quadrupole")})
    assert [r["record"] for r in res.rows] == [1, 3] and res.errors[0]["record"] == 2
    df = __import__("pandas").read_csv(io.StringIO(export.batch_csv(res)))
    assert list(df["record"]) == [1, 2, 3] and "Si" in df["error"][1]
    doc = __import__("json").loads(export.batch_json(res))
    assert doc["errors"][0]["record"] == 2 and "Si" in doc["errors"][0]["error"]
    failed = {"records": [r["record"] for r in res.rows], "errors": res.errors}
    sdf = export.charges_sdf(res.molecules, res.predictions, "quadrupole", **failed)
    mols = list(Chem.ForwardSDMolSupplier(io.BytesIO(sdf.encode()), removeHs=False, sanitize=False))
    assert [m.GetProp("MEPVIZ_RECORD") for m in mols] == ["1", "2", "3"]
    assert mols[1].GetNumAtoms() == 0 and "Si" in mols[1].GetProp("MEPVIZ_ERROR")
    pqr = export.charges_pqr(res.molecules, res.predictions, "quadrupole", **failed)
    assert "REMARK   7 record 2 (silane) not processed:" in pqr and len(export.read_pqr(pqr)) == 2


# ----------------------------------------------------------------------------- peak memory
def _peak_rss_kb(args, cwd, timeout=300):
    """Run ``python -m mepviz ARGS`` and return (result, peak RSS in kB of it and its workers)."""
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(r.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
            "sys.stderr.write(r.stderr)")
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "mepviz", *map(str, args)], cwd=cwd,
                         env=env, capture_output=True, text=True, timeout=timeout)
    rc, rss = res.stdout.split()[-2:]
    return int(rc), res.stderr, int(rss)


@pytest.mark.slow
def test_peak_memory_of_the_largest_inputs(tmp_path):
    """Each under 1.5 GiB: the largest points file accepted (1 M points, as a table), a 10 MB
    single-line SMILES file through ``mepviz batch``, /dev/zero as the points file."""
    (tmp_path / "w.xyz").write_text(WATER_XYZ)
    rng = np.random.default_rng(0)
    pts = rng.uniform(-8, 8, (1_000_000, 3))
    pts[np.linalg.norm(pts - [0, 0, 0.1173], axis=1) < 1.0] = [5.0, 5.0, 5.0]
    with open(tmp_path / "points.csv", "w") as fh:
        fh.write("x,y,z\n")
        np.savetxt(fh, pts, delimiter=",", fmt="%.4f")
    (tmp_path / "long.smi").write_text("C" * 10_000_000 + "\nO water\n")
    measured = {}
    for label, args, ok in (
            ("1 M points, table", ["predict", "w.xyz", "--points", "points.csv", "--surface", "none", "-o", "t.txt"], 0),
            ("10 MB line, batch", ["batch", "long.smi", "-o", "b.csv", "--workers", "1", "--no-progress"], 0),
            ("/dev/zero as points", ["predict", "w.xyz", "--points", "/dev/zero"], 2)):
        rc, err, rss = _peak_rss_kb(args, tmp_path)
        assert rc == ok and "Traceback" not in err, (label, err)
        measured[label] = rss
        assert rss < MAX_RSS_KB, (label, rss)
    rows = rows_of(tmp_path / "b.csv")
    assert "10,000,000 characters long" in rows[0]["error"] and rows[1]["name"] == "water" and not rows[1]["error"]
    print("peak RSS (MiB):", {k: round(v / 1024) for k, v in measured.items()})
