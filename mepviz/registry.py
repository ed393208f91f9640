"""Deprecated location; use mepviz.core.registry.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.registry import (
    BASELINE_NAMES, BASELINES, check_model_name, DEFAULT_MODEL, DEFAULT_POTENTIAL_UNIT,
    DEFAULT_SURFACE, DFT_BASIS, DFT_CHARGES, DFT_HEAVY_BASIS, DFT_HEAVY_ELEMENTS, DFT_METHOD,
    DIPOLE_UNIT, MODEL_CHARGES, MODEL_ELEMENTS, model_label, MODEL_NAMES, MODELS, ModelVariant,
    PAPER_PAIR, POTENTIAL_UNIT_NAMES, QUADRUPOLE_UNIT, short_model_label, SURFACE_KINDS,
    SURFACES,
)
from .surface.names import label as surface_label
