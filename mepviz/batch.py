"""Deprecated location; use mepviz.report.batch (the batch table) and mepviz.cli.batch (``mepviz
batch``); records: mepviz.io.records.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.registry import BATCH_MODELS, DEFAULT_SURFACE, PAPER_PAIR
from .core.molecule import Molecule, MoleculeInputError
from .io.records import (
    iter_records, parse_record, Record, records_from_text, smiles_as_sdf, SMILES_EXTENSIONS,
)
from .report.metrics import prediction_numbers
from .report.batch import BASE_COLUMNS, BatchResult, COLUMN_HELP, columns, MODEL_COLUMNS, run_batch
from .cli.batch import add_parser, main, process, Progress, run
