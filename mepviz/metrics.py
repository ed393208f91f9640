"""Deprecated location; use mepviz.report.metrics (tables: mepviz.report.tables).

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.registry import BASELINE_NAMES, BASELINES, MODEL_NAMES, short_model_label
from .core.units import DEBYE_PER_E_ANGSTROM, HARTREE_TO_KCAL_MOL
from .core.molecule import Molecule
from .core.paths import evaluation_path, test_set_path
from .physics.electrostatics import principal_values
from .report.metrics import (
    error_metrics, largest_principal_value, load_evaluation, load_test_set, METHOD_SHORT,
    METRIC_LABELS, moment_row, MOMENT_ROWS, prediction_numbers, TestMolecule,
)
from .report.tables import comparison_table, error_table, evaluation_tables, model_card_table
