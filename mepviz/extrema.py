"""Deprecated location; use mepviz.surface.extrema.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .surface.extrema import (
    area_histogram, DEFAULT_RADIUS, Extremum, local_extrema, politzer_indices,
)
