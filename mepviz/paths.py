"""Where MEPviz finds its files, from a repository checkout and from an installed package.

Package data (gallery, examples, element tables) lives inside the package
(``mepviz/data``) and is found through the package itself. The weights, the app's
``static/`` folder and the evaluation results sit at the project root; :func:`project_file`
finds them there: ``$MEPVIZ_HOME/<name>`` when that variable is set, else next to the
package (a checkout), else in the current working directory (an installed package run from
the project folder). ``$MEPVIZ_WEIGHTS`` and ``$MEPVIZ_EVALUATION_JSON`` override single
locations (the tests use them).
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


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
    """``$MEPVIZ_WEIGHTS`` if set, else the project's ``weights/`` folder."""
    env = os.environ.get("MEPVIZ_WEIGHTS")
    return Path(env) if env else project_file("weights")


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
