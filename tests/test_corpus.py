"""Issue 21: the hostile corpus through every path, with the expected class of answer for each.

The corpus is tests/bad_inputs (≥ 250 files, written by tests/build_bad_inputs.py, expectations
in expected.json) plus the special files made here at test time (devices, a named pipe, a
socket, a folder, files over the size limits). Every case goes through

- the library (``read_file`` → ``Predictor.predict`` → ``predict_mep_map``),
- the command line (``mepviz predict`` in this process: the same ``main`` as the ``mepviz``
  command; the special files also as a real subprocess),
- both batch paths (the records of ``mepviz batch`` through its worker function ``process``,
  and the Batch page's ``split_records`` + ``run_batch``),

and a representative subset through the app (tests/test_app_hardening.py). Each answer falls in
one class — ``refused`` (MoleculeInputError with a one-line message naming the problem), ``note``
(an answer with its notes) or ``clean`` (an answer, no note) — which must be the case's expected
class; anything else (another exception: a traceback; a case running past ``HANG_S``: a hang) fails.
``MEPVIZ_CORPUS_TABLE=FILE`` writes the table of outcomes by class and path.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from mepviz.cli import batch as cli_batch
from mepviz.cli.main import main as cli_main
from mepviz.core import limits
from mepviz.core.elements import atomic_number
from mepviz.core.molecule import MoleculeInputError
from mepviz.io import read_file
from mepviz.io.records import FILE_FORMATS, BATCH_FORMATS, iter_records, split_records
from mepviz.ml.applicability import Refused, trained_domain
from mepviz.ml.predict import get_predictor, predict_mep_map
from mepviz.report.batch import run_batch
from tests.apptest_support import app_env  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "bad_inputs"
EXPECTED = json.loads((BAD / "expected.json").read_text())
MODEL = "quadrupole"
#: a case running longer than this is a hang
HANG_S = 60
WATER_XYZ = "3\nwater\nO 0 0 0.1173\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n"
MOLECULE_CASES = sorted(k for k in EXPECTED if not k.startswith("points/"))
POINT_CASES = sorted(k for k in EXPECTED if k.startswith("points/"))
OUTCOMES: dict = {}          # (case, path) -> class, for the table


class Hang(Exception):
    pass


@contextlib.contextmanager
def deadline(seconds: float = HANG_S):
    """Raise Hang when the block runs longer than `seconds` (SIGALRM: main thread)."""
    def _alarm(signum, frame):
        raise Hang(f"still running after {seconds} s")
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ----------------------------------------------------------------------------- expectations
def _trained(kind: str):
    """The installed model's usable elements, trained elements or trained charges (its card)."""
    return trained_domain(get_predictor(MODEL).card)[{"usable": 0, "elements": 1, "charges": 2}[kind]]


def expected_class(want, name: str | None = None) -> str:
    """'refused', 'note' or 'clean' for an expected.json entry; the ``weights`` and
    ``charge_note`` cases by the installed weights' card (what they embed and were trained on)."""
    if isinstance(want, str) or "error" in want or "refusal" in want:
        return "refused"
    if "weights" in want:
        z = atomic_number(want["weights"])
        if z not in _trained("usable"):
            return "refused"
        if z not in _trained("elements"):
            return "note"
    if "note" in want or ("charge_note" in want and name and _charge(name) not in _trained("charges")):
        return "note"
    return "clean"


def message_fragment(want) -> str | None:
    if isinstance(want, str):
        return want
    return want.get("error") or want.get("refusal") or (
        f"weights do not support {want['weights']}" if expected_class(want) == "refused" and "weights" in want
        else None)


def check_outcome(name: str, path: str, cls: str, text: str, want=None) -> None:
    """`cls` (the class observed on `path`) with `text` (the message or the notes) must be the
    case's expected class; the message of a refusal is one line that names the problem."""
    want = EXPECTED[name] if want is None else want
    exp = expected_class(want, name if name in EXPECTED else None)
    OUTCOMES[(name, path)] = cls
    assert cls == exp, f"{name} via {path}: expected {exp}, got {cls}: {text}"
    if cls == "refused":
        assert text.strip() and "\n" not in text.strip(), f"{name} via {path}: {text!r}"
        assert "Traceback" not in text and "could not be processed (" not in text, text
        frag = message_fragment(want)
        if frag and path in ("library", "cli"):
            assert " ".join(frag.split()) in " ".join(text.split()), f"{name} via {path}: {frag!r} not in {text!r}"
    if cls != "refused" and isinstance(want, dict):
        if want.get("note"):
            assert want["note"] in text, f"{name} via {path}: note {want['note']!r} not in {text!r}"
        if "charge_note" in want and exp == "note":
            assert "outside what the" in text, text


def _charge(name: str) -> int:
    return read_file(BAD / name)[0].charge


# ----------------------------------------------------------------------------- the library
@pytest.mark.parametrize("name", MOLECULE_CASES)
def test_library(name):
    with deadline():
        try:
            mols = read_file(BAD / name)
            maps = [predict_mep_map(m, MODEL) for m in mols]
        except MoleculeInputError as exc:
            return check_outcome(name, "library", "refused", str(exc))
    for mm in maps:
        assert np.all(np.isfinite(mm.values)) and np.all(np.isfinite(mm.prediction.charges)), name
    notes = [n for mm in maps for n in mm.notes]
    check_outcome(name, "library", "note" if notes else "clean", " | ".join(notes))


# ----------------------------------------------------------------------------- the command line
def run_cli(args, capsys) -> tuple[int, str, str]:
    """``mepviz ARGS`` in this process: (exit status, stdout, stderr); a Python warning the
    command would print (on stderr, outside pytest) is counted as a line of stderr."""
    with deadline(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        rc = cli_main([str(a) for a in args])
    out = capsys.readouterr()
    printed = "".join(f"{w.category.__name__}: {w.message}\n" for w in caught)
    return rc, out.out, printed + out.err


def cli_class(rc: int, out: str, err: str) -> tuple[str, str]:
    assert "Traceback" not in err and rc in (0, 2), (rc, err)
    if rc:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and not out, err
        return "refused", lines[0][len("error: "):]
    notes = [ln[len("note: "):] for ln in err.splitlines() if ln.startswith("note: ")]
    assert len(notes) == len(err.strip().splitlines()), err
    doc = json.loads(out)
    for rec in doc if isinstance(doc, list) else [doc]:
        assert all(math.isfinite(v) for v in rec["charges"])
    return ("note" if notes else "clean"), " | ".join(notes)


@pytest.mark.parametrize("name", MOLECULE_CASES)
def test_command_line(name, capsys):
    cls, text = cli_class(*run_cli(["predict", BAD / name, "--model", MODEL, "--format", "json"], capsys))
    check_outcome(name, "cli", cls, text)


@pytest.mark.parametrize("name", POINT_CASES)
def test_command_line_points(name, capsys, tmp_path):
    water = tmp_path / "water.xyz"
    water.write_text(WATER_XYZ)
    cls, text = cli_class(*run_cli(["predict", water, "--model", MODEL, "--format", "json", "--surface", "none",
                                    "--points", BAD / name], capsys))
    check_outcome(name, "cli", cls, text)


# ----------------------------------------------------------------------------- both batch paths
def _batch_outcome(name: str, path: str, rows: list[dict], n_records: int) -> None:
    """Every record has its row, in order (nothing silently absent); the class of the file."""
    assert [int(r["record"]) for r in rows] == list(range(1, n_records + 1)), f"{name} via {path}"
    errors = [r["error"] for r in rows if r.get("error")]
    for e in errors:
        assert "\n" not in e and "could not be processed (" not in e, f"{name} via {path}: {e}"
    want = EXPECTED[name]
    if isinstance(want, dict) and path in want:                      # a per-path expectation
        want = {"clean": True} if want[path] == "clean" else want
    if errors:
        return check_outcome(name, path, "refused", errors[0], want)
    notes = " | ".join(r.get("notes", "") for r in rows if r.get("notes"))
    check_outcome(name, path, "note" if notes else "clean", notes, want)


@pytest.mark.parametrize("name", MOLECULE_CASES)
def test_command_line_batch(name):
    """The records of ``mepviz batch`` through its worker function (the dask cluster itself is
    tested in tests/test_outputs.py)."""
    if os.path.splitext(name.lower())[1] not in FILE_FORMATS:
        with pytest.raises(MoleculeInputError, match="unsupported file type"):
            next(iter_records(BAD / name))
        return check_outcome(name, "cli_batch", "refused", "unsupported file type")
    with deadline():
        try:
            records = list(iter_records(BAD / name))
        except MoleculeInputError as exc:
            return check_outcome(name, "cli_batch", "refused", str(exc))
        if not records:
            return check_outcome(name, "cli_batch", "refused", f"{name} holds no molecules")
    rows = []
    for r in records:                           # a hang is a record running past HANG_S
        with deadline():
            rows.append(cli_batch.process(r, "isodensity", (MODEL,)))
    _batch_outcome(name, "cli_batch", rows, len(records))


@pytest.mark.parametrize("name", MOLECULE_CASES)
def test_web_batch(name):
    """The Batch page's path: the upload's bytes cut into records, each predicted."""
    data = (BAD / name).read_bytes()
    with deadline():
        try:
            records = split_records(data, name)
        except MoleculeInputError as exc:
            return check_outcome(name, "web_batch", "refused", str(exc))
        res = run_batch(records, {MODEL: get_predictor(MODEL)})
    rows = sorted(res.rows + res.errors, key=lambda r: int(r["record"]))
    _batch_outcome(name, "web_batch", rows, len(records))


# ----------------------------------------------------------------------------- special files
def _special_files(tmp: Path) -> dict:
    """name -> (path, fragment of the refusal): devices, a pipe, a socket, a folder, and files
    over the size limits (made here: never committed)."""
    out = {}
    for name, target in (("zero.xyz", "/dev/zero"), ("urandom.sdf", "/dev/urandom"), ("null.smi", "/dev/null")):
        (tmp / name).symlink_to(target)
        out[name] = (tmp / name, "is a device, not a regular file")
    os.mkfifo(tmp / "pipe.xyz")
    out["pipe.xyz"] = (tmp / "pipe.xyz", "named pipe (FIFO)")
    os.mkfifo(tmp / "pipe.smi")
    out["pipe.smi"] = (tmp / "pipe.smi", "named pipe (FIFO)")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp / "socket.xyz"))
    out["socket.xyz"] = (tmp / "socket.xyz", "is a socket")
    (tmp / "folder.xyz").mkdir()
    out["folder.xyz"] = (tmp / "folder.xyz", "is a folder")
    (tmp / "dangling.xyz").symlink_to(tmp / "nowhere.xyz")
    out["dangling.xyz"] = (tmp / "dangling.xyz", "does not exist (no such file)")
    big = tmp / "over_5MB.xyz"
    with open(big, "w") as fh:
        fh.write(WATER_XYZ)
        fh.write(" " * (limits.MAX_FILE_BYTES - len(WATER_XYZ) + 1))
    out["over_5MB.xyz"] = (big, "the limit is 5 MB")
    return out


@pytest.fixture(scope="module")
def special(tmp_path_factory):
    return _special_files(tmp_path_factory.mktemp("special"))


SPECIAL = ["zero.xyz", "urandom.sdf", "null.smi", "pipe.xyz", "pipe.smi", "socket.xyz", "folder.xyz", "dangling.xyz",
           "over_5MB.xyz"]


@pytest.mark.parametrize("name", SPECIAL)
def test_special_files_are_refused_by_type_on_every_path(name, special, capsys):
    path, frag = special[name]
    with deadline(20), pytest.raises(MoleculeInputError) as info:
        read_file(path)
    check_outcome(name, "library", "refused", str(info.value), frag)
    cls, text = cli_class(*run_cli(["predict", path, "--model", MODEL], capsys))
    check_outcome(name, "cli", cls, text, "no such file" if name == "dangling.xyz" else frag)
    if os.path.splitext(name)[1] in BATCH_FORMATS and name != "over_5MB.xyz":   # a big file is fine for batch
        with deadline(20), pytest.raises(MoleculeInputError) as info:
            next(iter_records(path))
        check_outcome(name, "cli_batch", "refused", str(info.value), "no such file" if name == "dangling.xyz" else frag)
    if name != "over_5MB.xyz":                  # (a points file may be larger: limits.MAX_POINTS_FILE_BYTES)
        rc, _, err = run_cli(["predict", BAD / "note_water_in_bohr.xyz", "--surface", "none", "--points", path], capsys)
        assert rc == 2 and err.startswith("error: points file") and "Traceback" not in err, err


def test_special_files_as_a_real_command(special):
    """The ``mepviz`` command in its own process: a named pipe and /dev/zero are refused at
    once, with exit status 2 and one line."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for name in ("pipe.xyz", "zero.xyz"):
        res = subprocess.run([sys.executable, "-m", "mepviz", "predict", str(special[name][0])], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=HANG_S)
        assert res.returncode == 2 and res.stderr.count("\n") == 1 and special[name][1] in res.stderr, res.stderr


# ----------------------------------------------------------------------------- the app (a subset)
#: uploaded in the sidebar of Explore: refused while reading, refused by the gate, a note, clean
APP_CASES = ["sdf_query_bond_any_water.sdf", "sdf_hydroxide_charge_minus_6.sdf", "binary_png.xyz",
             "xyz_long_comment_line.xyz", "smiles_2001_characters.smi", "nan_coordinates.xyz",
             "gate_water_plus_9_doublet.xyz", "gate_bare_carbon_atom.xyz", "gate_oxygen_atom_minus_6.xyz",
             "sdf_3d_benzene_no_hydrogens.sdf", "note_water_in_bohr.xyz", "gate_fluoride_ion.xyz",
             "xyz_utf16le_bom.xyz", "xyz_crlf.xyz", "sdf_v3000_water.sdf", "refusal_uranium.xyz"]


@pytest.mark.parametrize("name", APP_CASES)
def test_app(name, app_env):
    """Explore with the file uploaded: a refusal is an error naming the problem (the molecule
    is not replaced, or it gets no map), a note a warning next to the map, a clean answer neither."""
    from tests.apptest_support import EXPLORE, new_app, no_exceptions, upload
    with deadline(120):
        at = upload(new_app(EXPLORE), name, (BAD / name).read_bytes())
    no_exceptions(at)
    errors = [e.value for e in at.error]
    warnings = [w.value for w in at.warning]
    views = [el for el in at.get("component_instance") if el.proto.component_name.endswith("mepviz_viewer")]
    if errors:
        assert all(e.startswith(("Input problem:", "Not computed with", "No DFT reference")) for e in errors), errors
        assert not views or at.session_state["mepviz_molecule"] is None, "a refused molecule got a map"
        return check_outcome(name, "app", "refused", " ".join(errors[0].split()))
    assert views, "no map for an accepted molecule"
    check_outcome(name, "app", "note" if warnings else "clean", " | ".join(warnings))


def test_app_batch_lists_every_failed_record(app_env):
    """The Batch page: a file with a query bond in its second record predicts the first and
    lists the second with its error; a line too long to read refuses the file with the reason."""
    from tests.apptest_support import new_app, no_exceptions
    at = new_app("pages/3_Batch.py")
    name = "sdf_two_records_second_query_bond.sdf"
    at.file_uploader(key="batch_upload").set_value((name, (BAD / name).read_bytes(), "text/plain")).run()
    no_exceptions(at)
    res = at.session_state["batch_page"]["result"]
    assert [r["record"] for r in res.rows] == [1] and "bond type 8 ('any')" in res.errors[0]["error"]
    assert any("1 of 2 records could not be processed" in w.value for w in at.warning)
    OUTCOMES[(name, "app")] = "refused"
    name = "smiles_150k_line.smi"
    at.file_uploader(key="batch_upload").set_value((name, (BAD / name).read_bytes(), "text/plain")).run()
    no_exceptions(at)
    assert any("Cannot process this file" in e.value and "150,000 characters long" in e.value for e in at.error)
    OUTCOMES[(name, "app")] = "refused"


def test_app_link_with_an_overlong_smiles_or_bad_settings_says_so(app_env):
    """A link's SMILES over the limit is not cut into another molecule; settings that are not
    valid are named in a visible notice and the defaults kept."""
    from streamlit.testing.v1 import AppTest

    from mepviz.core import registry
    from tests.apptest_support import APP, no_exceptions
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"smiles": "C" * 60 + "O" * 0 + "C" * (limits.MAX_SMILES_CHARS - 59),
                            "model": "octupole", "surface": "vdw9", "isovalue": "banana", "unit": "furlong"})
    at.run()
    no_exceptions(at)
    assert at.session_state["mepviz_molecule"] is None                       # nothing shortened was loaded
    notice = " ".join(e.value for e in at.error)
    for part in (f"SMILES is {limits.MAX_SMILES_CHARS + 1:,} characters long", "it was not loaded",
                 "model='octupole' is not one of", "surface='vdw9'", "isovalue='banana'", "unit='furlong'"):
        assert part in notice, (part, notice)
    assert at.session_state["mepviz_setting_model"] == registry.DEFAULT_MODEL
    ok = AppTest.from_file(APP, default_timeout=120)
    ok.query_params.update({"smiles": "CCO", "model": "dipole"})
    ok.run()
    assert not ok.error and ok.session_state["mepviz_molecule"].formula == "C2H6O"


# ----------------------------------------------------------------------------- the table
def corpus_table() -> str:
    paths = ("library", "cli", "cli_batch", "web_batch", "app")
    by_class: dict = {}
    for (name, path), cls in OUTCOMES.items():
        group = "special" if name in SPECIAL else ("points" if name.startswith("points/") else
                                                   expected_class(EXPECTED[name], name))
        by_class.setdefault(group, {}).setdefault(path, Counter())[cls] += 1
    lines = ["| expected class | cases | path | refused (clear) | note + answer | clean answer |",
             "|---|---|---|---|---|---|"]
    for group, per_path in sorted(by_class.items()):
        n = len({name for (name, _path) in OUTCOMES if (name in SPECIAL and group == "special") or
                 (name.startswith("points/") and group == "points") or
                 (name in EXPECTED and not name.startswith("points/") and expected_class(EXPECTED[name], name) == group)})
        for path in paths:
            c = per_path.get(path)
            if c:
                lines.append(f"| {group} | {n} | {path} | {c['refused']} | {c['note']} | {c['clean']} |")
    return "\n".join(lines) + "\n"


def test_the_corpus_report_is_current():
    """tests/bad_inputs/REPORT.md is written by ``python -m tests.corpus_report`` (every case
    through the library, ``mepviz predict``, the real ``mepviz batch``, the Batch page's path and
    Explore, one process per input) from this very corpus, and shows no traceback, no silent
    wrong answer, no hang and no input over 1.5 GiB."""
    import re

    from tests.corpus_report import CATEGORIES, MARK, MAX_RSS_KB, REPORT, corpus_fingerprint
    text = REPORT.read_text(encoding="utf-8")
    assert text.startswith(MARK.format(corpus_fingerprint())), (
        "tests/bad_inputs/REPORT.md belongs to another corpus: run python -m tests.corpus_report")
    totals = dict((k, int(n)) for n, k in re.findall(r"(\d+) ([a-z >0-9-]+?)(?:,|\.$)",
                                                    re.search(r"\*\*Totals over \d+ runs:\*\* (.*)", text)[1]))
    assert set(totals) == set(CATEGORIES), totals
    assert totals["traceback"] == totals["silent wrong answer"] == totals["hang"] == 0, totals
    assert int(re.search(r"\*\*(\d+) hostile inputs\*\*", text)[1]) >= 250
    rss = [float(row.split("|")[-2].replace(",", "")) for row in text.splitlines()
           if row.startswith("| ") and row.split("|")[-2].strip().replace(",", "").isdigit()]
    assert rss and max(rss) * 1024 < MAX_RSS_KB, rss


def test_zz_write_the_table():
    """Runs last in this module: the outcome table (``MEPVIZ_CORPUS_TABLE``)."""
    target = os.environ.get("MEPVIZ_CORPUS_TABLE")
    if target:
        Path(target).write_text(corpus_table())
    assert len(MOLECULE_CASES) + len(POINT_CASES) + len(SPECIAL) >= 250
