"""Batch predictions: every record of a file through every model, one row per molecule.

:func:`predict_molecule` is the one computation per molecule (each model's prediction,
assessed once by its predictor; μ, |μ|, Θ eigenvalues; V_s,min / V_s,max on one shared
surface); :func:`run_batch` runs it over the records of an upload (the Batch page), and
``mepviz batch`` (:mod:`mepviz.cli.batch`) over a library on dask. A record that fails
(parse error, refusal, surface failure) becomes an error entry and the batch goes on;
applicability notes go into the row's ``notes``. Units: μ in D, Θ in D·Å, potentials
kcal/mol/e.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from ..core import limits
from ..core.molecule import Molecule, MoleculeInputError
from ..core.registry import BATCH_MODELS, DEFAULT_SURFACE
from ..io.records import Record, parse_record
from ..ml.applicability import assess
from ..surface.statistics import surface_statistics
from ..surface.surfaces import surface_for
from .metrics import prediction_numbers

#: columns of the batch table, per model (suffix _<model> is appended)
MODEL_COLUMNS = ("mu_x_D", "mu_y_D", "mu_z_D", "mu_abs_D", "theta_1_DA", "theta_2_DA",
                 "theta_3_DA", "Vs_min_kcal", "Vs_max_kcal")
#: display labels of MODEL_COLUMNS
COLUMN_LABELS = {"mu_x_D": "μx (D)", "mu_y_D": "μy (D)", "mu_z_D": "μz (D)", "mu_abs_D": "|μ| (D)",
                 "theta_1_DA": "Θ₁ (D·Å)", "theta_2_DA": "Θ₂ (D·Å)", "theta_3_DA": "Θ₃ (D·Å)",
                 "Vs_min_kcal": "V_s,min (kcal/mol/e)", "Vs_max_kcal": "V_s,max (kcal/mol/e)"}
COLUMN_HELP = {
    "mu_x_D": "dipole moment x component (D), about the centre of mass",
    "mu_abs_D": "|μ|, dipole magnitude (D), about the centre of mass (an ion's depends on the origin)",
    "theta_1_DA": "smallest (most negative) eigenvalue of the traceless quadrupole Θ about the centre of mass (D·Å)",
    "Vs_min_kcal": "most negative MEP on the surface, V_s,min (kcal/mol/e)",
    "Vs_max_kcal": "most positive MEP on the surface, V_s,max (kcal/mol/e)",
}
BASE_COLUMNS = ("record", "name", "formula", "n_atoms", "charge")


def columns(models=BATCH_MODELS) -> list[str]:
    """Columns of ``mepviz batch``'s CSV (``notes``: the applicability notes of a molecule
    that worked; ``error``: why one did not)."""
    return list(BASE_COLUMNS) + [f"{c}_{m}" for m in models for c in MODEL_COLUMNS] + ["notes", "error"]


def predict_molecule(mol: Molecule, predictors: dict, surface: str = DEFAULT_SURFACE):
    """(row values, {model: prediction}, {model: surface statistics}, notes) of `mol` with
    every predictor of `predictors` (name -> Predictor). Each prediction carries its
    applicability verdict (predictions without one, e.g. from test doubles, are assessed
    here); a refusal raises MoleculeInputError before the surface is built."""
    preds, notes = {}, []
    for name, predictor in predictors.items():
        pred = predictor.predict(mol)
        verdict = getattr(pred, "applicability", None) or assess(mol, name)
        verdict.raise_if_refused()
        notes += [n for n in verdict.notes if n not in notes]
        preds[name] = pred
    surf = surface_for(mol, surface)
    row, stats = {}, {}
    for name, pred in preds.items():
        st = surface_statistics(surf.vertices, np.asarray(pred.mep(surf.vertices), float), surf.vertex_areas)
        stats[name] = st
        row.update({f"{key}_{name}": val for key, val in prediction_numbers(pred).items()})
        row[f"Vs_min_kcal_{name}"], row[f"Vs_max_kcal_{name}"] = st["v_min"], st["v_max"]
    return row, preds, stats, notes


@dataclass
class BatchResult:
    """Rows (one per molecule that worked), errors (one per record that did not)."""

    rows: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    molecules: list[Molecule] = field(default_factory=list)
    predictions: list[dict] = field(default_factory=list)   # model name -> Prediction
    statistics: list[dict] = field(default_factory=list)    # model name -> surface stats
    surface: str = DEFAULT_SURFACE
    n_records: int = 0
    models: tuple[str, ...] = BATCH_MODELS                  # the predictors' names, in column order

    def dataframe(self, with_errors: bool = False):
        """The table of the molecules that worked; `with_errors`: every record in file order,
        the failed ones with their ``error`` (exports: nothing silently absent)."""
        cols = columns(self.models)[:-1]                    # without "error"
        if not with_errors:
            return pd.DataFrame(self.rows, columns=cols)
        rows = sorted(self.rows + self.errors, key=lambda r: int(r["record"]))
        return pd.DataFrame(rows, columns=cols + ["error"])

    def error_dataframe(self):
        return pd.DataFrame(self.errors, columns=["record", "name", "error"])


def run_batch(records: Sequence[Record], predictors: dict, surface: str = "isodensity",
              progress: Callable[[int, int, str], None] | None = None,
              max_cpu_seconds: float | None = None) -> BatchResult:
    """:func:`predict_molecule` for every record with every model in `predictors` (name ->
    Predictor), on one shared surface per molecule (`surface`: a surface name).

    A record that fails becomes an entry in `result.errors` and the batch goes on. Once the
    batch has used `max_cpu_seconds` of CPU (default ``limits.MAX_BATCH_CPU_SECONDS``), the
    records left become errors that say so (checked between records).
    """
    budget = limits.MAX_BATCH_CPU_SECONDS if max_cpu_seconds is None else float(max_cpu_seconds)
    cpu0 = time.process_time()
    result = BatchResult(surface=surface, n_records=len(records), models=tuple(predictors))
    n = len(records)
    for k, rec in enumerate(records):
        if progress:
            progress(k, n, rec.label)
        if time.process_time() - cpu0 > budget:
            result.errors += [{"record": r.number, "name": r.label,
                               "error": f"not processed: the batch used its CPU-time limit of {budget:g} s "
                                        "(split the file, or use `python -m mepviz batch` for big libraries)"}
                              for r in records[k:]]
            break
        try:
            mol = parse_record(rec)
            values, preds, stats, notes = predict_molecule(mol, predictors, surface)
        except MoleculeInputError as exc:
            result.errors.append({"record": rec.number, "name": rec.label, "error": str(exc)})
            continue
        except Exception as exc:   # a bad record must not kill the batch
            result.errors.append({"record": rec.number, "name": rec.label,
                                  "error": f"could not be processed ({type(exc).__name__}: {exc})"})
            continue
        result.rows.append({"record": rec.number, "name": mol.name or rec.label, "formula": mol.formula,
                            "n_atoms": mol.n_atoms, "charge": mol.charge, "notes": " ".join(notes), **values})
        result.molecules.append(mol)
        result.predictions.append(preds)
        result.statistics.append(stats)
    if progress:
        progress(n, n, "done")
    return result
