"""Deprecated location; use mepviz.ml.predict (weights and cards: mepviz.ml.cards).

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.registry import (
    MODEL_NAMES as AVAILABLE_MODELS, check_model_name, DEFAULT_MODEL, DEFAULT_SURFACE,
)
from .core.units import DEBYE_PER_E_ANGSTROM
from .core.molecule import Molecule
from .core.limits import check_points
from .core.paths import weights_dir as default_weights_dir
from .surface.statistics import surface_statistics
from .physics.electrostatics import (
    molecular_dipole, molecular_quadrupole, multipole_potential, principal_values,
)
from .ml.cards import installed_models, model_card, weights_sha256
from .ml.applicability import assess
from .ml.predict import (
    clear_cache, get_predictor, make_surface, MEPMap, predict_mep_map, Prediction, Predictor,
    UNITS,
)
