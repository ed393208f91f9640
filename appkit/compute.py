"""Cached computations for the pages (thin wrappers over mepviz).

Models are loaded once per server process (``mepviz.predict.get_predictor``); surfaces, predictions
and MEP maps are memoised per molecule geometry (``st.cache_data``, keyed by
``Molecule.key()``), so reruns, page switches and other sessions reuse them.

    from appkit import compute
    mep = compute.mep_map(mol, "quadrupole", "isodensity")   # mepviz.predict.MEPMap
    mep.values, mep.statistics, mep.prediction.charges
    ref = compute.reference_result(mol)     # ReferenceResult from the gallery / disk cache, or None
    v_ref = compute.reference_values(mol, "isodensity")   # reference MEP on the same vertices

Errors: ``MoleculeInputError`` (user-facing, e.g. an element the ML models lack) and
``ModelUnavailable`` (weights missing) propagate; show them with ``st.error(str(exc))``.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

from mepviz import Molecule, MoleculeInputError  # noqa: F401  (re-exported for pages)
from mepviz import registry
from mepviz.metrics import error_metrics  # noqa: F401  (re-exported for pages)
from mepviz.units import POTENTIAL_UNITS  # noqa: F401

#: human labels of the surfaces and models (mepviz.registry)
SURFACE_LABELS = registry.SURFACES
MODEL_LABELS = {name: m.label for name, m in registry.MODELS.items()}


class ModelUnavailable(RuntimeError):
    """The weights of a model are not installed (message is user-facing)."""


def model_names() -> tuple[str, ...]:
    """All model variants the library knows (whether or not weights are present)."""
    return registry.MODEL_NAMES


def surface_kinds() -> tuple[str, ...]:
    return registry.SURFACE_KINDS


def weights_stamp(name: str) -> str:
    """Identifies the weights in use (path + modification time): part of every cache key, so
    new weights (or MEPVIZ_WEIGHTS pointing elsewhere) never reuse stale results."""
    from mepviz.predict import default_weights_dir
    path = Path(default_weights_dir()) / f"{name}.pt"
    try:
        return f"{path.resolve()}:{os.path.getmtime(path)}"
    except OSError:
        return f"{path}:missing"


def get_predictor(name: str):
    """The loaded :class:`mepviz.predict.Predictor` for model `name` (cached per process).

    Raises :class:`ModelUnavailable` if its weights are missing.
    """
    from mepviz.predict import default_weights_dir
    path = Path(default_weights_dir()) / f"{name}.pt"
    if not path.exists():
        raise ModelUnavailable(f"The {name} model's weights are not installed ({path.name} missing "
                               f"in {path.parent}); train them with train/train.py.")
    from mepviz.predict import get_predictor as _get
    return _get(name)


def model_card(name: str) -> dict:
    """The model card (JSON) of `name`, or {} when absent."""
    try:
        return dict(get_predictor(name).card)
    except Exception:
        return {}


@st.cache_data(max_entries=64, show_spinner=False)
def _surface(key: str, kind: str, _mol: Molecule):
    from mepviz.predict import make_surface
    return make_surface(_mol, kind)


def surface(mol: Molecule, kind: str = registry.DEFAULT_SURFACE):
    """The :class:`mepviz.surfaces.Surface` of `kind` for `mol` (cached)."""
    return _surface(mol.key(), kind, mol)


@st.cache_data(max_entries=128, show_spinner=False)
def _prediction(key: str, model: str, stamp: str, _mol: Molecule):
    return get_predictor(model).predict(_mol)


def prediction(mol: Molecule, model: str = registry.DEFAULT_MODEL):
    """:class:`mepviz.predict.Prediction` of `model` for `mol` (cached).

    Raises MoleculeInputError when mepviz.applicability.assess refuses the molecule.
    """
    get_predictor(model).check(mol)
    return _prediction(mol.key(), model, weights_stamp(model), mol)


@st.cache_data(max_entries=64, show_spinner=False)
def _mep_map(key: str, model: str, kind: str, order: int, stamp: str, _mol: Molecule):
    from mepviz.predict import predict_mep_map
    return predict_mep_map(_mol, model, surface(_mol, kind), order=order,
                           prediction=prediction(_mol, model))


def mep_map(mol: Molecule, model: str = registry.DEFAULT_MODEL, kind: str = registry.DEFAULT_SURFACE,
            order: int = 2):
    """:class:`mepviz.predict.MEPMap` (surface, values kcal/mol/e, statistics, prediction)."""
    get_predictor(model).check(mol)
    return _mep_map(mol.key(), model, kind, order, weights_stamp(model), mol)


# -- DFT reference -------------------------------------------------------------------------
def reference_engine():
    """The app's ReferenceEngine (default level, default disk cache)."""
    from mepviz.reference import ReferenceEngine
    return ReferenceEngine()


@st.cache_data(max_entries=256, show_spinner=False)
def _estimate(key: str, _mol: Molecule) -> float:
    return float(reference_engine().estimate_seconds(_mol))


def estimate_reference_seconds(mol: Molecule) -> float:
    """The engine's wall-time estimate (s) for the DFT reference of `mol` (cached).
    Raises MoleculeInputError when the reference cannot be set up (e.g. no basis)."""
    return _estimate(mol.key(), mol)


def reference_result(mol: Molecule):
    """The finished DFT reference for `mol` if one is available without computing
    (shipped with the gallery, or in the engine's disk cache); else None."""
    from . import gallery
    ref = gallery.reference_for(mol)
    if ref is not None:
        return ref
    return reference_engine().cached(mol)      # never computes


@st.cache_data(max_entries=64, show_spinner="Evaluating the DFT potential on the surface…")
def _reference_values(key: str, kind: str, _mol: Molecule):
    from . import gallery
    surf = surface(_mol, kind)
    pre = gallery.precomputed_values(_mol, kind, surf)
    if pre is not None:
        return pre
    ref = reference_result(_mol)
    if ref is None:
        return None
    return np.asarray(ref.mep(surf.vertices), float)


def reference_values(mol: Molecule, kind: str = "isodensity"):
    """DFT reference MEP (kcal/mol/e) on the vertices of ``surface(mol, kind)``, or None
    when no finished reference exists yet."""
    if reference_result(mol) is None:
        return None
    return _reference_values(mol.key(), kind, mol)
