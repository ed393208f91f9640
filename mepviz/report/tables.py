"""Tables (pandas DataFrames) of the Compare page and train/evaluate.py: errors per method,
predictions side by side, the evaluation results, the model cards. Units: μ in D, Θ in D·Å,
potentials kcal/mol/e unless converted."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.registry import MODEL_NAMES, short_model_label
from ..core.units import DEBYE_PER_E_ANGSTROM, convert_potential
from ..physics.electrostatics import principal_values
from .metrics import METHOD_SHORT, METRIC_LABELS, error_metrics


def error_table(values_by_method: dict, reference):
    """DataFrame: one row per method, columns METRIC_LABELS (same units as the inputs)."""
    rows = {name: {label: error_metrics(v, reference)[key] for key, label in METRIC_LABELS.items()}
            for name, v in values_by_method.items()}
    return pd.DataFrame(rows).T


def comparison_table(predictions: dict, statistics: dict | None = None, reference=None,
                     reference_statistics: dict | None = None, unit: str = "kcal/mol/e"):
    """Quantities × methods (each model, then 'DFT' when `reference` is given) as a DataFrame.

    predictions: model name -> Prediction; statistics: model name -> surface_statistics
    dict (kcal/mol/e); reference: a mepviz.reference.ReferenceResult (moments about its
    centre of mass) and reference_statistics its surface statistics. μ in D, Θ in D·Å,
    potentials converted to `unit`.
    """
    statistics = statistics or {}
    rows = ["μx (D)", "μy (D)", "μz (D)", "|μ| (D)", "Θ₁ (D·Å)", "Θ₂ (D·Å)", "Θ₃ (D·Å)"]
    pot_rows = [("v_min", f"V_s,min ({unit})"), ("v_max", f"V_s,max ({unit})"),
                ("mean", f"mean V_s ({unit})"), ("variance_total", f"σ²_tot ({unit}²)")]

    def column(mu, theta, st):
        mu = np.asarray(mu, float) * DEBYE_PER_E_ANGSTROM
        ev = principal_values(theta) * DEBYE_PER_E_ANGSTROM
        vals = [*mu, float(np.linalg.norm(mu)), *ev]
        for key, _ in pot_rows:
            if st and key in st:
                f = float(convert_potential(1.0, unit))
                vals.append(float(st[key]) * (f * f if key.startswith("variance") else f))
            else:
                vals.append(float("nan"))
        return vals

    index = rows + [label for _, label in pot_rows]
    data = {}
    for name, pred in predictions.items():
        data[short_model_label(name)] = column(pred.dipole, pred.quadrupole,
                                                                   statistics.get(name))
    if reference is not None:
        com = np.asarray(reference.center_of_mass, float)
        data["DFT reference"] = column(reference.dipole_about(com), reference.quadrupole,
                                       reference_statistics)
    return pd.DataFrame(data, index=index)


def _num(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return float("nan")
    return v


def _methods(doc: dict) -> list[tuple[str, str, dict]]:
    """[(name, kind, result)] in the document's method order: models first, then baselines."""
    found = {}
    for section, kind in (("models", "model"), ("baselines", "baseline"), ("methods", None)):
        block = doc.get(section)
        if isinstance(block, dict):
            for name, res in block.items():
                if isinstance(res, dict) and name not in found:
                    found[str(name)] = (res.get("kind") or kind or
                                        ("model" if name in MODEL_NAMES else "baseline"), res)
    order = [n for n in doc.get("method_order", []) if n in found]
    order += [n for n in found if n not in order]
    return [(n, found[n][0], found[n][1]) for n in order]


def evaluation_tables(doc: dict) -> dict:
    """Flatten weights/evaluation.json (written by train/evaluate.py) into DataFrames.

    Keys of the result (each present only when the document has the data):
    'overall' — one row per method: method (short name), name, kind, label, MEP MAE / RMSE
    on the isodensity points, molecule-mean MAE, MAE on all shell points, |μ| / μ / Θ MAEs,
    n_molecules, n_failed; 'per_shell' — method, scale, MAE, RMSE; 'per_molecule' — method,
    qm9_index, smiles, MAE; 'histograms' — method, center, fraction (signed isodensity
    errors; the under/overflow counts are included in the normalisation, see 'outside');
    'by_order' — method, order, terms, MAE (models: charges only / + dipoles / +
    quadrupoles); 'unit', 'description', 'test_set' (dict), 'generated'.
    """
    units = doc.get("units") if isinstance(doc.get("units"), dict) else {}
    out: dict = {"unit": units.get("mep", "kcal/mol/e")}
    for key in ("description", "generated"):
        if isinstance(doc.get(key), str):
            out[key] = doc[key]
    if isinstance(doc.get("test_set"), dict):
        out["test_set"] = doc["test_set"]
    overall, shells, permol, hists, orders, outside = [], [], [], [], [], {}
    for name, kind, res in _methods(doc):
        short = METHOD_SHORT.get(name, name)
        mep = res.get("mep") if isinstance(res.get("mep"), dict) else {}
        ov = mep.get("overall") if isinstance(mep.get("overall"), dict) else {}
        mo = res.get("moments") if isinstance(res.get("moments"), dict) else {}
        if "mae" in ov:
            overall.append({
                "method": short, "name": name, "kind": kind, "label": res.get("label", short),
                "MAE": _num(ov.get("mae")), "RMSE": _num(ov.get("rmse")),
                "molecule-mean MAE": _num(ov.get("molecule_mean_mae")),
                "shell MAE": _num((mep.get("all_shells") or {}).get("mae")),
                "|μ| MAE (D)": _num(mo.get("dipole_magnitude_mae_debye")),
                "μ vector MAE (D)": _num(mo.get("dipole_vector_mae_debye")),
                "Θ MAE (D·Å)": _num(mo.get("quadrupole_component_mae_debye_angstrom")),
                "molecules": int(res.get("n_molecules", 0) or 0), "failed": int(res.get("n_failed", 0) or 0)})
        for scale, v in (mep.get("per_shell") or {}).items():
            if isinstance(v, dict) and "mae" in v:
                shells.append({"method": short, "scale": _num(scale), "MAE": _num(v["mae"]),
                               "RMSE": _num(v.get("rmse"))})
        for rec in mep.get("per_molecule") or []:
            if isinstance(rec, dict) and "mae" in rec:
                permol.append({"method": short, "qm9_index": rec.get("qm9_index"),
                               "smiles": rec.get("smiles", ""), "MAE": _num(rec["mae"])})
        h = mep.get("histogram")
        if isinstance(h, dict) and "counts" in h and "edges" in h:
            edges, counts = np.asarray(h["edges"], float), np.asarray(h["counts"], float)
            total = counts.sum() + _num(h.get("underflow", 0)) + _num(h.get("overflow", 0))
            if len(edges) == len(counts) + 1 and total > 0:
                outside[short] = (_num(h.get("underflow", 0)) + _num(h.get("overflow", 0))) / total
                for c, n in zip(0.5 * (edges[1:] + edges[:-1]), counts):
                    hists.append({"method": short, "center": float(c), "fraction": float(n / total)})
        labels = {"0": "charges only", "1": "+ atomic dipoles", "2": "+ atomic quadrupoles"}
        for o, v in (mep.get("isodensity_by_order") or {}).items():
            if isinstance(v, dict) and "mae" in v:
                orders.append({"method": short, "order": int(o), "terms": labels.get(str(o), str(o)),
                               "MAE": _num(v["mae"])})
    if overall:
        out["overall"] = pd.DataFrame(overall)
    if shells:
        out["per_shell"] = pd.DataFrame(shells)
    if permol:
        out["per_molecule"] = pd.DataFrame(permol)
    if hists:
        out["histograms"] = pd.DataFrame(hists)
        out["outside"] = outside
    if orders:
        out["by_order"] = pd.DataFrame(orders)
    return out


def model_card_table(cards: dict):
    """Key facts of the model cards (weights/<name>.json) side by side: model name -> card.

    Rows: what it was fitted to (loss), quadrupole loss weight, training / validation
    molecules, validation |μ| and Θ errors, test-set MEP MAE (when evaluated), epochs, date.
    Missing entries show as empty strings.
    """

    def get(card, *path):
        cur = card
        for p in path:
            if not isinstance(cur, dict) or p not in cur:
                return None
            cur = cur[p]
        return cur

    def fmt(x, d=3):
        if x is None:
            return ""
        if isinstance(x, float):
            return f"{x:.{d}f}"
        return str(x)

    rows = {}
    for name, card in cards.items():
        val = get(card, "validation_metrics", "best_dft_val") or {}
        test = get(card, "test_metrics", "mep_isodensity", "mae")
        epochs = get(card, "training", "epochs")
        rows[short_model_label(name)] = {
            "fitted to (loss)": fmt(card.get("loss")),
            "quadrupole loss weight": fmt(card.get("quadrupole_weight", get(card, "hyperparameters", "quad_weight")), 2),
            "training molecules (DFT)": fmt(get(card, "data", "dft_train", "molecules")),
            "validation molecules": fmt(get(card, "data", "dft_validation", "molecules")),
            "validation μ MAE (D)": fmt(val.get("mu_mae_D")),
            "validation Θ MAE (D·Å)": fmt(val.get("theta_mae_DA")),
            "test-set MEP MAE (kcal/mol/e)": fmt(test, 2),
            "features × layers, cutoff (Å)": (f"{get(card, 'hyperparameters', 'features')} × "
                                              f"{get(card, 'hyperparameters', 'layers')}, "
                                              f"{get(card, 'hyperparameters', 'cutoff')}"
                                              if get(card, "hyperparameters") else ""),
            "epochs": fmt(", ".join(f"{k} {v}" for k, v in epochs.items()) if isinstance(epochs, dict) else epochs),
            "trained": fmt(get(card, "training", "date")),
        }
    return pd.DataFrame(rows)
