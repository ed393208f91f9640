"""Deprecated location; use mepviz.physics.timing.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .physics.timing import (
    DEFAULT_MEP_RATE, default_model, DEFAULT_RECORDS, default_records, DEFAULT_STARTUP_S,
    estimate_seconds, FILENAME, fit, load, load_model, MAX_RECORDS, MIN_OWN_RECORDS,
    MIN_RECORDS, record, TimingModel, timings_path,
)
