"""The command line: ``python -m mepviz`` / ``mepviz`` with the subcommands ``predict``,
``models`` (:mod:`mepviz.cli.main`) and ``batch`` (:mod:`mepviz.cli.batch`, on dask via
:mod:`mepviz.cli.cluster`)."""
from .main import (CSV_COLUMNS, SURFACE_CHOICES, UsageError, build_parser, compute, format_csv,  # noqa: F401
                   format_json, format_table, load_molecules, load_points, main)
