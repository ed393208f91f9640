"""Deprecated location; use mepviz.ml.model.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.registry import MODEL_ELEMENTS
from .core.elements import masses, symbol
from .ml.model import (
    ChargeReadout, check_elements, convert_state_dict, DEFAULT_CONFIG, DipoleReadout,
    edge_geometry, Edges, Embedding, features_to_irreps, hidden_irreps, Interaction,
    irreps_to_features, load_card, load_model, molecular_moments, MultipoleNet, neighbour_pairs,
    QuadrupoleReadout, save_model, tensor_basis, Update,
)
