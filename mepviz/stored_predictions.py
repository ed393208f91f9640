"""Deprecated location; use mepviz.ml.stored.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.molecule import Molecule
from .core.paths import atomic_write
from .ml.cards import weights_sha256
from .ml.predict import Prediction
from .ml.stored import load, write
