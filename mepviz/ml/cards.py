"""Model weights and their cards: where they live, whether they are installed, which file is in
use (sha256), and the card itself (JSON), read and written here only.

A model variant ``<name>`` (a registry name) is ``<weights_dir>/<name>.pt`` (a plain state
dict) with its card ``<name>.json`` (training data, level of theory, hyper-parameters, test
metrics, ``config`` to rebuild the network). ``weights_dir`` defaults to
:func:`mepviz.core.paths.weights_dir`. Functions taking a `stem` accept ``path/to/name``,
``name.pt`` or ``name.json``.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..core import paths
from ..core.registry import MODEL_NAMES, check_model_name, short_model_label
from ..io.export import jsonable


def _dir(weights_dir=None) -> Path:
    return Path(weights_dir) if weights_dir is not None else paths.weights_dir()


def stem_of(stem) -> str:
    """`stem` without a .pt / .json suffix."""
    stem = str(stem)
    return os.path.splitext(stem)[0] if stem.endswith((".pt", ".json")) else stem


# --------------------------------------------------------------------------- location, presence
def weights_path(name: str, weights_dir=None) -> Path:
    """``<weights_dir>/<name>.pt`` of a registry variant (ValueError naming the choices if unknown)."""
    return _dir(weights_dir) / f"{check_model_name(name)}.pt"


def weights_present(name: str, weights_dir=None) -> bool:
    """True when the weight file of variant `name` is installed."""
    return weights_path(name, weights_dir).is_file()


def card_path(stem) -> Path:
    """``<stem>.json`` of any weights stem (a stem may hold dots, e.g. ``curve-all-0.25``)."""
    return Path(stem_of(stem) + ".json")


def stem_has_weights(stem) -> bool:
    """True when ``<stem>.pt`` exists (any stem: a study build, an ensemble member)."""
    return Path(stem_of(stem) + ".pt").is_file()


def installed_models(weights_dir=None) -> tuple[str, ...]:
    """The registry's variants whose weights are installed, in registry order."""
    return tuple(m for m in MODEL_NAMES if weights_present(m, weights_dir))


def missing_weights_message(name: str, weights_dir=None) -> str:
    """The one message for a variant without weights."""
    name = check_model_name(name)
    return (f"The {short_model_label(name)} ({name}) has no weights installed: "
            f"{weights_path(name, weights_dir)} is missing.")


def require_weights(name: str, weights_dir=None) -> Path:
    """The weight file of `name`; FileNotFoundError (:func:`missing_weights_message`) if absent."""
    path = weights_path(name, weights_dir)
    if not path.is_file():
        raise FileNotFoundError(missing_weights_message(name, weights_dir))
    return path


# --------------------------------------------------------------------------- identity
def file_sha256(path) -> str:
    """sha256 (hex) of a file, read in 1 MB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


_DIGESTS: dict = {}


def weights_sha256(name: str, weights_dir=None) -> str | None:
    """sha256 of the weight file of `name` in use, or None when it is missing: what a stored
    prediction (e.g. the gallery's) and a card's test metrics are checked against."""
    path = weights_path(name, weights_dir)
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _DIGESTS:
        _DIGESTS[key] = file_sha256(path)
    return _DIGESTS[key]


# --------------------------------------------------------------------------- cards
def read_card(stem) -> dict:
    """The card ``<stem>.json`` (OSError / ValueError when unreadable)."""
    with open(stem_of(stem) + ".json") as fh:
        return json.load(fh)


def write_card(stem, card: dict) -> Path:
    """Write ``<stem>.json`` (2-space indent, NumPy values as plain JSON, non-finite as null),
    atomically."""
    path = Path(stem_of(stem) + ".json")
    text = json.dumps(jsonable(card), indent=2) + "\n"
    paths.atomic_write(str(path), lambda fh: fh.write(text.encode()))
    os.chmod(path, 0o644)
    return path


def update_card(stem, **fields) -> dict:
    """Set `fields` in the card ``<stem>.json`` and write it back; returns the card."""
    card = read_card(stem)
    card.update(fields)
    write_card(stem, card)
    return card


_CARDS: dict = {}


def model_card(name: str, weights_dir=None) -> dict | None:
    """The card of the installed variant `name` (cached until the file changes); None when its
    weights are missing, {} when the weights have no card."""
    if not weights_present(name, weights_dir):
        return None
    path = weights_path(name, weights_dir).with_suffix(".json")
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    key = (str(path), stamp)
    if key not in _CARDS:
        _CARDS[key] = read_card(path)
    return _CARDS[key]
