"""Deprecated location; use mepviz.surface.slices.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .surface.slices import mep_slice, plane_axes, PLANES, Slice
