"""Deprecated location; use mepviz.core.paths.

A thin re-export kept for one release, so that older imports keep working."""
# ruff: noqa: F401
from .core.paths import (
    data_dir, evaluation_path, examples_dir, gallery_dir, PACKAGE_DIR, project_file, static_dir,
    test_set_path, weights_dir,
)
