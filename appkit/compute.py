"""Cached computations for the pages (thin wrappers over mepviz).

Models are loaded once per server process (``mepviz.ml.predict.get_predictor``); surfaces,
predictions and MEP maps are memoised per molecule (``st.cache_data``, keyed by
``Molecule.key()`` and its reading notes), so reruns, page switches and other sessions reuse
them. A molecule is assessed once per model (by the predictor): the verdict travels with the
prediction and the MEP map (``.applicability``); a refusal is cached too and raised as
:class:`mepviz.ml.applicability.Refused`.

    from appkit import compute
    mep = compute.mep_map(mol, "quadrupole", "isodensity")   # mepviz.ml.predict.MEPMap
    mep.values, mep.statistics, mep.prediction.charges, mep.applicability.notes
    ref = compute.reference_result(mol)     # ReferenceResult from the gallery / disk cache, or None
    v_ref = compute.reference_values(mol, "isodensity")   # reference MEP on the same vertices

Errors: ``MoleculeInputError`` (user-facing, e.g. an element the ML models lack) and
``ModelUnavailable`` (weights missing) propagate; show them with ``st.error(str(exc))``.
"""
from __future__ import annotations

import functools
import hashlib
import os

import numpy as np
import streamlit as st

from mepviz import Molecule, MoleculeInputError  # noqa: F401  (re-exported for pages)
from mepviz.core import registry
from mepviz.core.units import POTENTIAL_UNITS  # noqa: F401
from mepviz.ml import cards
from mepviz.ml.applicability import Applicability, Refused, assess
from mepviz.ml.predict import get_predictor as _get_predictor
from mepviz.ml.predict import predict_mep_map
from mepviz.report.metrics import error_metrics  # noqa: F401  (re-exported for pages)
from mepviz.surface import names as surface_names
from mepviz.surface.colors import ColorScale, color_scale, symmetric_range
from mepviz.surface.surfaces import surface_for

#: human labels of the surfaces and models (mepviz.core.registry)
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
    path = cards.weights_path(name)
    try:
        return f"{path.resolve()}:{os.path.getmtime(path)}"
    except OSError:
        return f"{path}:missing"


def _require_weights(name: str) -> None:
    """ModelUnavailable when the weights of model `name` are not installed."""
    if not cards.weights_present(name):
        raise ModelUnavailable(cards.missing_weights_message(name))


def get_predictor(name: str):
    """The :class:`mepviz.ml.predict.Predictor` for model `name` (cached per process; its
    network loads on the first forward pass). Raises :class:`ModelUnavailable` if its weights
    are missing."""
    _require_weights(name)
    return _get_predictor(name)


def model_card(name: str) -> dict:
    """The model card (JSON) of `name`, or {} when absent."""
    try:
        return dict(cards.model_card(name) or {})
    except Exception:
        return {}


def molecule_key(mol: Molecule) -> str:
    """Cache key of a molecule: geometry, charge, multiplicity (``Molecule.key()``) and what
    its verdicts depend on besides (reading notes, SMILES, bonds)."""
    extra = "|".join(mol.notes) + f"|{mol.smiles}|{len(mol.bonds)}"
    return mol.key() + hashlib.sha1(extra.encode()).hexdigest()[:12]


@st.cache_data(max_entries=64, show_spinner=False)
def _surface(key: str, kind: str, _mol: Molecule):
    return surface_for(_mol, kind)


def current_kind() -> str:
    """The surface the pages show: the shared "surface" setting at the shared isodensity value."""
    from . import state
    return surface_names.kind_for(state.get_setting("surface"), state.get_setting("isovalue"))


def surface_label(kind: str) -> str:
    return surface_names.label(kind)


def surface(mol: Molecule, kind: str = registry.DEFAULT_SURFACE):
    """The :class:`mepviz.surface.surfaces.Surface` named `kind` for `mol` (cached)."""
    return _surface(mol.key(), kind, mol)


@st.cache_data(max_entries=128, show_spinner=False)
def _prediction(key: str, model: str, stamp: str, _mol: Molecule):
    """The prediction (assessed once, by the predictor), or the refusal's verdict."""
    from . import gallery
    shipped = gallery.shipped_prediction(_mol, model)     # no PyTorch needed for these
    try:
        return get_predictor(model).predict(_mol, stored=shipped)
    except Refused as exc:
        return exc.applicability


def prediction(mol: Molecule, model: str = registry.DEFAULT_MODEL):
    """:class:`mepviz.ml.predict.Prediction` of `model` for `mol` with its applicability verdict
    (cached; gallery molecules use the predictions shipped for the installed weights).

    Raises :class:`ModelUnavailable` (weights missing) or
    :class:`mepviz.ml.applicability.Refused` (a MoleculeInputError) for a refused molecule.
    """
    _require_weights(model)
    out = _prediction(molecule_key(mol), model, weights_stamp(model), mol)
    if isinstance(out, Applicability):
        raise Refused(out, molecule=mol)
    return out


def model_verdict(mol: Molecule, model: str) -> Applicability | None:
    """The applicability verdict of `model` for `mol`, read from its (cached) prediction or
    refusal; None when the model is not available or the prediction failed otherwise."""
    try:
        return prediction(mol, model).applicability
    except Refused as exc:
        return exc.applicability
    except (MoleculeInputError, ModelUnavailable):
        return None


@st.cache_data(max_entries=128, show_spinner=False)
def _dft_verdict(key: str, _mol: Molecule) -> Applicability:
    return assess(_mol, None)


def dft_verdict(mol: Molecule) -> Applicability:
    """The applicability verdict of the DFT reference for `mol` (assessed once, cached)."""
    return _dft_verdict(molecule_key(mol), mol)


_WARM: set = set()


def warm_up(models=None) -> None:
    """Load `models` (default: the paper's pair and the default model) in a background thread
    (once per server process), so the first molecule a visitor enters does not wait for PyTorch."""
    import threading
    todo = [m for m in (models or scale_models()) if m not in _WARM]
    if not todo:
        return
    _WARM.update(todo)

    def load():
        for m in todo:
            try:
                _get_predictor(m).load()
            except Exception:     # noqa: BLE001 - missing weights are reported when used
                pass
    threading.Thread(target=load, name="mepviz-warm-up", daemon=True).start()


@st.cache_data(max_entries=64, show_spinner=False)
def _mep_map(key: str, model: str, kind: str, order: int, stamp: str, _mol: Molecule):
    return predict_mep_map(_mol, model, surface(_mol, kind), order=order,
                           prediction=prediction(_mol, model))


def mep_map(mol: Molecule, model: str = registry.DEFAULT_MODEL, kind: str = registry.DEFAULT_SURFACE,
            order: int = 2):
    """:class:`mepviz.ml.predict.MEPMap` (surface, values kcal/mol/e, statistics, prediction,
    applicability verdict). Raises ModelUnavailable or Refused like :func:`prediction`."""
    _require_weights(model)
    return _mep_map(molecule_key(mol), model, kind, order, weights_stamp(model), mol)


@st.cache_data(max_entries=32, show_spinner=False)
def _ensemble_spread(key: str, model: str, kind: str, stamp: str, _mol: Molecule):
    from mepviz.ml.ensemble import ensemble_predictions, ensemble_spread
    preds = ensemble_predictions(_mol, model)
    if not preds:
        return None
    return ensemble_spread(preds, surface(_mol, kind).vertices)


def ensemble_spread(mol: Molecule, model: str, kind: str = registry.DEFAULT_SURFACE):
    """(mean, spread) of the MEP (kcal/mol/e) of `model`'s ensemble (registry.ENSEMBLES) on the
    vertices of surface `kind`, or None when the model has no installed ensemble (cached)."""
    from mepviz.ml.ensemble import ensemble_members
    stems = ensemble_members(model)
    if not stems:
        return None
    stamp = "|".join(f"{s}:{os.path.getmtime(str(s) + '.pt')}" for s in stems)
    return _ensemble_spread(molecule_key(mol), model, kind, stamp, mol)


# -- analyses shown next to a map (cached by content: reruns and tab switches reuse them) ---
def content_digest(*arrays) -> str:
    """A digest of the arrays' shapes, dtypes and bytes: a cache key for results derived from them."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype.str}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


@st.cache_data(max_entries=64, show_spinner=False)
def _local_extrema(digest: str, _vertices, _values, _positions):
    from mepviz.surface.extrema import local_extrema as extrema
    return extrema(_vertices, _values, positions=_positions)


def local_extrema(surface, values, positions):
    """:func:`mepviz.surface.extrema.local_extrema` of `values` (kcal/mol/e) on `surface`, nearest atoms
    from `positions` (Å); cached."""
    return _local_extrema(content_digest(surface.vertices, values, positions),
                          surface.vertices, values, positions)


@st.cache_data(max_entries=64, show_spinner=False)
def _halogen_caps(digest: str, _numbers, _positions, _vertices):
    from mepviz.surface.extrema import halogen_caps as caps
    return caps(_numbers, _positions, _vertices)


def halogen_caps(mol: Molecule, surface):
    """:func:`mepviz.surface.extrema.halogen_caps` of `mol` on the vertices of `surface` (cached):
    the σ-hole cap of each bonded Cl, Br, I; ``site.value(values)`` reads a map's cap value."""
    return _halogen_caps(content_digest(mol.numbers, mol.positions, surface.vertices),
                         mol.numbers, mol.positions, surface.vertices)


@st.cache_data(max_entries=32, show_spinner=False)
def _mep_slice(digest: str, plane: str, _mol: Molecule, _prediction):
    from mepviz.surface.slices import mep_slice as make_slice
    return make_slice(_mol, functools.partial(_prediction.mep, grid=True), plane)


def mep_slice(mol: Molecule, prediction, plane: str):
    """:func:`mepviz.surface.slices.mep_slice` of the ML MEP (kcal/mol/e) of `prediction` for `mol` in
    `plane`; cached."""
    p = prediction
    digest = content_digest(mol.numbers, mol.positions, p.charges, p.atomic_dipoles, p.atomic_quadrupoles)
    return _mep_slice(digest, plane, mol, prediction)


# -- DFT reference -------------------------------------------------------------------------
def reference_engine():
    """The app's ReferenceEngine (default level, default disk cache)."""
    from mepviz.physics.reference import ReferenceEngine
    return ReferenceEngine()


def estimate_reference_seconds(mol: Molecule, kind: str = "isodensity") -> tuple[float, bool]:
    """Wall-time estimate (s) of the DFT job for `mol` on surface `kind` (SCF unless a
    reference already exists, plus the MEP on the surface vertices), from this machine's
    finished runs when there are enough; returns (seconds, calibrated).
    Raises MoleculeInputError when the reference cannot be set up (e.g. no basis)."""
    from mepviz.physics import timing
    n_points = surface(mol, kind).n_vertices
    return timing.estimate_seconds(reference_engine(), mol, n_points,
                                   scf_needed=reference_result(mol) is None)


def reference_result(mol: Molecule):
    """The finished DFT reference for `mol` if one is available without computing
    (shipped with the gallery, or in the engine's disk cache); else None."""
    from . import gallery
    ref = gallery.reference_for(mol)
    if ref is not None:
        return ref
    return reference_engine().cached(mol)      # never computes


def reference_values(mol: Molecule, kind: str = "isodensity"):
    """DFT reference MEP (kcal/mol/e) on the vertices of ``surface(mol, kind)`` when it has
    been evaluated (shipped with the gallery, or written by a DFT job's worker process),
    else None. Never evaluates the potential in the web process."""
    from . import gallery
    from .dft_worker import load_values, values_path
    surf = surface(mol, kind)
    pre = gallery.precomputed_values(mol, kind, surf)
    if pre is not None:
        return pre
    engine = reference_engine()
    if engine.cache_dir is None:
        return None
    key = engine.cache_key(mol)
    return load_values(values_path(engine.cache_dir, key, kind), surf.vertices, key)


def compare_models() -> tuple[str, ...]:
    """The models of the Compare page: the paper's pair first, then the default map model when
    it is another one and its weights are installed (e.g. the MEP-trained model)."""
    return registry.PAPER_PAIR + tuple(m for m in (registry.DEFAULT_MODEL,)
                                       if m not in registry.PAPER_PAIR and cards.weights_present(m))


def scale_models(model: str | None = None) -> tuple[str, ...]:
    """The models whose maps set a molecule's colour scale: the paper's pair, the default model
    and `model` (the one shown), in that order, without repeats."""
    return tuple(dict.fromkeys((*registry.PAPER_PAIR, registry.DEFAULT_MODEL, *((model,) if model else ()))))


def map_scale(mol: Molecule, kind: str, mode: str = "auto", fixed: float = 40.0, rule: str | None = None,
              model: str | None = None, extra=()) -> ColorScale:
    """THE colour scale of every MEP panel of the app (Explore, Compare, Learn): a
    :class:`mepviz.surface.colors.ColorScale` (centre, half-width, kcal/mol/e) over the MEPs of
    :func:`scale_models` (those whose weights load), the DFT reference when it has been
    evaluated, and any `extra` arrays, on surface `kind`, so one molecule gets the same scale on
    every page. `rule`: "auto" (symmetric about 0 for neutral molecules, min–max for ions),
    "symmetric", "minmax", "mean" (default: the shared "scale" setting); `mode` sets the width:
    max ("auto"), 98th percentile ("p98") or `fixed` (half-width, kcal/mol/e)."""
    from . import state
    rule = rule or state.get_setting("scale")
    arrays = []
    for m in scale_models(model):
        try:
            arrays.append(mep_map(mol, m, kind).values)
        except (MoleculeInputError, ModelUnavailable):
            pass
    ref = reference_values(mol, kind)
    if ref is not None:
        arrays.append(ref)
    arrays += [a for a in extra if a is not None]
    sc = color_scale(*arrays, rule=rule, charge=mol.charge, percentile=98.0 if mode == "p98" else 100.0)
    if mode == "fixed":
        sc = ColorScale(sc.center if sc.rule != "symmetric" else 0.0, float(fixed), sc.rule)
    return sc


def scale_caption(sc: ColorScale, unit: str) -> str:
    """The colour scale in words, e.g. 'colour range ±35.2 kcal/mol/e' or
    'min–max colour range −162.0 … −81.0 kcal/mol/e (white at −121.5; 0 beyond the blue end)'."""
    from mepviz.report.views import format_potential
    if sc.rule == "symmetric":
        return f"colour range ±{format_potential(sc.half_width, unit, signed=False)} (white = 0)"
    word = {"minmax": "min–max", "mean": "centred on the mean"}.get(sc.rule, sc.rule)
    f = sc.zero_fraction
    zero = ("0 beyond the blue end: every value is negative" if f > 1 else
            "0 beyond the red end: every value is positive" if f < 0 else "0 marked on the bar")
    return (f"{word} colour range {format_potential(sc.lo, unit).split(' ')[0]} … "
            f"{format_potential(sc.hi, unit)} (white at {format_potential(sc.center, unit)}; {zero})")


def difference_range(*diffs, mode: str = "auto") -> float:
    """Symmetric half-width (kcal/mol/e) for difference maps: their own scale, never the MEP's."""
    return symmetric_range(*diffs, percentile=98.0 if mode == "p98" else 100.0)
