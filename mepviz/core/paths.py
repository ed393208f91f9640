"""Where MEPviz finds its files (a checkout or an installed package), and how it writes them.

Package data (gallery, examples, element tables) lives inside the package (``mepviz/data``).
The shipped weights, their cards and the evaluation results sit in the project's ``weights/``
folder; an installed package carries them as package data (``mepviz/weights``, mapped from
``weights/`` by pyproject.toml). :func:`weights_dir` looks in ``$MEPVIZ_WEIGHTS``, then
``$MEPVIZ_HOME/weights``, then the checkout, then the installed package data, then the
current folder. The app's ``static/`` folder and ``data/`` are found by :func:`project_file`
(``$MEPVIZ_HOME``, the checkout, the current folder). ``$MEPVIZ_EVALUATION_JSON`` overrides
the evaluation file (the tests use these variables).

Every output is written through :func:`atomic_write` (a temporary file, then a rename), never
over an input (:func:`check_output`).
"""
from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

import numpy as np

#: the ``mepviz`` package folder
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The package's own data folder (``mepviz/data``)."""
    return PACKAGE_DIR / "data"


def project_file(name: str) -> Path:
    """A file or folder at the project root (``weights``, ``static``, ``data``, …)."""
    home = os.environ.get("MEPVIZ_HOME")
    if home:
        return Path(home).expanduser() / name
    for base in (PACKAGE_DIR.parent, Path.cwd()):
        if (base / name).exists():
            return base / name
    return PACKAGE_DIR.parent / name


def weights_dir() -> Path:
    """``$MEPVIZ_WEIGHTS`` if set, else ``$MEPVIZ_HOME/weights``, else the checkout's
    ``weights/``, else the installed package's ``mepviz/weights``, else ``./weights``."""
    env = os.environ.get("MEPVIZ_WEIGHTS")
    if env:
        return Path(env)
    if os.environ.get("MEPVIZ_HOME"):
        return project_file("weights")
    for folder in (PACKAGE_DIR.parent / "weights", PACKAGE_DIR / "weights", Path.cwd() / "weights"):
        if folder.is_dir():
            return folder
    return PACKAGE_DIR.parent / "weights"


def evaluation_path() -> Path:
    """``$MEPVIZ_EVALUATION_JSON`` if set, else ``weights/evaluation.json`` (train/evaluate.py)."""
    env = os.environ.get("MEPVIZ_EVALUATION_JSON")
    return Path(env) if env else weights_dir() / "evaluation.json"


def static_dir() -> Path:
    """The app's ``static/`` folder (served by Streamlit)."""
    return project_file("static")


def gallery_dir() -> Path:
    """The example gallery written by train/make_gallery.py."""
    return data_dir() / "gallery"


def examples_dir() -> Path:
    """Example input files (batch example, …)."""
    return data_dir() / "examples"


def test_set_path() -> Path:
    """The QM9 test split with its DFT reference (``data/qm9/test.npz``)."""
    return project_file("data") / "qm9" / "test.npz"


def atomic_write(path: str, writer) -> None:
    """Write a file atomically: `writer(fh)` fills a temporary file next to `path` (binary),
    which then replaces `path` (readers never see a partial file; a failure — a full disk, an
    interruption — leaves the previous file as it was and no temporary file behind). The new
    file gets the permissions of the one it replaces (else the usual ones: 0o666 less umask)."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
            os.fchmod(fh.fileno(), _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _mode_for(path: str) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


#: the saved field holding :func:`content_hash` of all the other arrays of a file (written last)
HASH_FIELD = "content_sha256"


def content_hash(arrays: dict) -> str:
    """SHA-256 of every array of `arrays` but :data:`HASH_FIELD` (names, dtypes, shapes and
    bytes, in name order): what a saved file's content must hash to (cache files)."""
    h = hashlib.sha256()
    for name in sorted(k for k in arrays if k != HASH_FIELD):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class UnsafeOutput(ValueError):
    """An output path that would destroy data (see :func:`check_output`); the message says why."""


def check_output(output, *inputs) -> None:
    """Refuse an output path that would destroy data: one that is, or resolves to (symbolic
    links, ``..``, hard links), one of the `inputs` that exist as files, or an existing path
    that is not a regular file (a device, a pipe, a folder). :class:`UnsafeOutput` naming both."""
    out = os.fspath(output)
    if os.path.exists(out) and not os.path.isfile(out):
        raise UnsafeOutput(f"cannot write {out}: it is not a regular file (a folder, device or "
                                 f"pipe). Give the path of a file to write.")
    for src in inputs:
        src = os.fspath(src)
        if not os.path.isfile(src):
            continue
        same = os.path.realpath(out) == os.path.realpath(src)
        if not same and os.path.exists(out):
            same = os.path.samefile(out, src)
        if same:
            raise UnsafeOutput(f"the output {out} is the input file {src}: writing it would destroy "
                                     f"the input. Choose another output name.")
