"""Deprecated location; use mepviz.report.views (colour map: mepviz.surface.colors).

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core import paths
from .core.units import convert_potential, POTENTIAL_UNITS
from .surface.colors import (
    COLOR_STOPS, colors_to_hex_ints, mep_colors, PLOTLY_COLORSCALE, symmetric_range,
)
from .report.views import (
    atom_labels, colorbar_html, format_potential, MARKER_COLORS, marker_labels_for,
    mep_grid_html, mep_view_html, mep_view_spec, readout_data, standalone_html, STATIC_DIR,
    THREEDMOL_APP_URL, THREEDMOL_PATH, TOOLS_APP_URL, TOOLS_PATH, UNIT_DECIMALS,
)
