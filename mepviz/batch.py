"""Batch predictions: every record of an upload through every model, one row per molecule.

A record that fails (parse error, refusal by :func:`mepviz.applicability.assess`, surface
failure) becomes an entry in ``BatchResult.errors`` and the batch goes on; applicability
notes go into the row's ``notes`` column. Units: μ in D, Θ in D·Å, potentials kcal/mol/e.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .inputs import Record, parse_record
from .metrics import prediction_numbers
from .molecule import Molecule, MoleculeInputError
from .registry import DEFAULT_SURFACE, PAPER_PAIR

#: columns of the batch table, per model (suffix _<model> is appended)
MODEL_COLUMNS = ("mu_x_D", "mu_y_D", "mu_z_D", "mu_abs_D", "theta_1_DA", "theta_2_DA",
                 "theta_3_DA", "Vs_min_kcal", "Vs_max_kcal")
COLUMN_HELP = {
    "mu_x_D": "dipole moment x component (D)", "mu_abs_D": "|μ|, dipole magnitude (D)",
    "theta_1_DA": "smallest (most negative) eigenvalue of the traceless quadrupole Θ about the centre of mass (D·Å)",
    "Vs_min_kcal": "most negative MEP on the surface, V_s,min (kcal/mol/e)",
    "Vs_max_kcal": "most positive MEP on the surface, V_s,max (kcal/mol/e)",
}


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

    def dataframe(self):
        import pandas as pd
        cols = ["record", "name", "formula", "n_atoms", "charge"] + [
            f"{c}_{m}" for m in PAPER_PAIR for c in MODEL_COLUMNS] + ["notes"]
        return pd.DataFrame(self.rows, columns=cols)

    def error_dataframe(self):
        import pandas as pd
        return pd.DataFrame(self.errors, columns=["record", "name", "error"])


def run_batch(records: Sequence[Record], predictors: dict, surface: str = "isodensity",
              progress: Callable[[int, int, str], None] | None = None) -> BatchResult:
    """Predict every record with every model in `predictors` (name -> Predictor).

    For each molecule: μ, |μ|, Θ eigenvalues per model, and V_s,min / V_s,max of each
    model's MEP on one shared surface (`surface`: a name of registry.SURFACES). A record
    that fails (parse error, refusal by applicability.assess, surface failure) becomes an
    entry in `result.errors` and the batch goes on; applicability notes go to `notes`.
    """
    from .applicability import assess
    from .electrostatics import surface_statistics
    from .surfaces import surface_for
    result = BatchResult(surface=surface, n_records=len(records))
    n = len(records)
    for k, rec in enumerate(records):
        if progress:
            progress(k, n, rec.label)
        try:
            mol = parse_record(rec)
            notes = []
            for name in predictors:
                verdict = assess(mol, name)
                verdict.raise_if_refused()
                notes += [n for n in verdict.notes if n not in notes]
            surf = surface_for(mol, surface)
            points, areas = surf.vertices, surf.vertex_areas
            row = {"record": rec.number, "name": mol.name or rec.label, "formula": mol.formula,
                   "n_atoms": mol.n_atoms, "charge": mol.charge, "notes": " ".join(notes)}
            preds, stats = {}, {}
            for name, predictor in predictors.items():
                pred = predictor.predict(mol)
                values = np.asarray(pred.mep(points), float)
                st = surface_statistics(points, values, areas)
                preds[name], stats[name] = pred, st
                for key, val in prediction_numbers(pred).items():
                    row[f"{key}_{name}"] = val
                row[f"Vs_min_kcal_{name}"] = st["v_min"]
                row[f"Vs_max_kcal_{name}"] = st["v_max"]
        except MoleculeInputError as exc:
            result.errors.append({"record": rec.number, "name": rec.label, "error": str(exc)})
            continue
        except Exception as exc:   # a bad record must not kill the batch
            result.errors.append({"record": rec.number, "name": rec.label,
                                  "error": f"could not be processed ({type(exc).__name__}: {exc})"})
            continue
        result.rows.append(row)
        result.molecules.append(mol)
        result.predictions.append(preds)
        result.statistics.append(stats)
    if progress:
        progress(n, n, "done")
    return result
