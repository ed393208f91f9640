"""Error metrics, the QM9 test set, and the tables of the Compare page and train/evaluate.py.

One metric function (:func:`error_metrics`, keys ``mae``, ``rmse``, ``bias``, ``max_abs``,
``r``, ``n_points``) serves the app, the evaluation script and the benchmark. Units: μ in D,
Θ in D·Å (× 4.80320 from e·Å, e·Å²), potentials kcal/mol/e unless converted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .electrostatics import principal_values
from .molecule import Molecule
from .paths import evaluation_path, test_set_path
from .registry import BASELINE_NAMES, BASELINES, MODEL_NAMES, short_model_label
from .units import DEBYE_PER_E_ANGSTROM, HARTREE_TO_KCAL_MOL

# --------------------------------------------------------------------------- metrics
#: display labels of the error_metrics keys (tables)
METRIC_LABELS = {"mae": "MAE", "rmse": "RMSE", "max_abs": "max |error|", "bias": "mean error",
                 "r": "Pearson r"}


def error_metrics(values, reference=0.0) -> dict:
    """MAE, RMSE, mean signed error (bias), max |error|, Pearson r and point count of `values`
    against `reference` (same units; reference 0 means `values` are already errors)."""
    p = np.asarray(values, float).ravel()
    r = np.broadcast_to(np.asarray(reference, float), p.shape).ravel() if np.ndim(reference) == 0 \
        else np.asarray(reference, float).ravel()
    if p.size == 0:
        nan = float("nan")
        return {"mae": nan, "rmse": nan, "bias": nan, "max_abs": nan, "r": nan, "n_points": 0}
    d = p - r
    ok = p.size > 1 and np.std(p) > 0 and np.std(r) > 0
    return {"mae": float(np.abs(d).mean()), "rmse": float(np.sqrt((d ** 2).mean())),
            "bias": float(d.mean()), "max_abs": float(np.abs(d).max()),
            "r": float(np.corrcoef(p, r)[0, 1]) if ok else float("nan"), "n_points": int(p.size)}


def error_table(values_by_method: dict, reference):
    """DataFrame: one row per method, columns METRIC_LABELS (same units as the inputs)."""
    import pandas as pd
    rows = {name: {label: error_metrics(v, reference)[key] for key, label in METRIC_LABELS.items()}
            for name, v in values_by_method.items()}
    return pd.DataFrame(rows).T


def prediction_numbers(prediction) -> dict:
    """μ (D), |μ| (D) and Θ eigenvalues (D·Å, ascending) of one prediction, as a flat dict."""
    mu = np.asarray(prediction.dipole, float) * DEBYE_PER_E_ANGSTROM
    ev = principal_values(prediction.quadrupole) * DEBYE_PER_E_ANGSTROM
    return {"mu_x_D": float(mu[0]), "mu_y_D": float(mu[1]), "mu_z_D": float(mu[2]),
            "mu_abs_D": float(np.linalg.norm(mu)),
            "theta_1_DA": float(ev[0]), "theta_2_DA": float(ev[1]), "theta_3_DA": float(ev[2])}


# --------------------------------------------------------------------------- test set
@dataclass
class TestMolecule:
    """One test molecule with its DFT reference (Å, e·Å, e·Å² about `com`, kcal/mol/e)."""

    __test__ = False       # not a pytest class

    position: int          # row in test.npz
    mol: Molecule
    qm9_index: int
    smiles: str
    dipole: np.ndarray
    quadrupole: np.ndarray
    com: np.ndarray
    iso_points: np.ndarray
    iso_esp: np.ndarray
    shell_points: np.ndarray
    shell_esp: np.ndarray
    shell_scale: np.ndarray


def load_test_set(path=None, n: int | None = None) -> list[TestMolecule]:
    """A test set (default the QM9 test split ``paths.test_set_path()``; also the beyond-QM9 sets
    of data/newchem, whose rows carry a total charge and a name) as TestMolecule objects (the
    first `n` molecules when given); the stored MEP in hartree/e is converted to kcal/mol/e.
    Dipoles and quadrupoles are about the centre of mass (origin-independent only if neutral)."""
    d = np.load(path if path is not None else test_set_path(), allow_pickle=False)
    counts = d["atom_count"].astype(int)
    m = len(counts) if n is None else min(int(n), len(counts))
    off = np.concatenate([[0], np.cumsum(counts)])
    ioff = np.concatenate([[0], np.cumsum(d["iso_count"].astype(int))])
    soff = np.concatenate([[0], np.cumsum(d["shell_count"].astype(int))])
    out = []
    charged = "charge" in d.files        # the beyond-QM9 sets (data/newchem): charge and name per row
    for k in range(m):
        idx = int(d["qm9_index"][k]) if "qm9_index" in d.files else k
        smi = str(d["smiles"][k])
        mol = Molecule(d["z"][off[k]:off[k + 1]].astype(int), d["pos"][off[k]:off[k + 1]],
                       charge=int(d["charge"][k]) if charged else 0,
                       name=str(d["name"][k]) if "name" in d.files else f"QM9 {idx}", smiles=smi)
        out.append(TestMolecule(
            position=k, mol=mol, qm9_index=idx, smiles=smi, dipole=d["dipole"][k].astype(float),
            quadrupole=d["quadrupole_com"][k].astype(float), com=d["center_of_mass"][k].astype(float),
            iso_points=d["iso_points"][ioff[k]:ioff[k + 1]].astype(float),
            iso_esp=d["iso_esp"][ioff[k]:ioff[k + 1]].astype(float) * HARTREE_TO_KCAL_MOL,
            shell_points=d["shell_points"][soff[k]:soff[k + 1]].astype(float),
            shell_esp=d["shell_esp"][soff[k]:soff[k + 1]].astype(float) * HARTREE_TO_KCAL_MOL,
            shell_scale=np.round(d["shell_scale"][soff[k]:soff[k + 1]].astype(float), 3)))
    return out


# --------------------------------------------------------------------------- evaluation
def load_evaluation(path: str | Path | None = None) -> dict | None:
    """The evaluation results as a dict, or None when the file does not exist yet.
    Raises ValueError with a readable message when the file is not valid JSON."""
    p = Path(path) if path is not None else evaluation_path()
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p.name} is not valid JSON ({exc})") from None



# --------------------------------------------------------------------------- compare

def comparison_table(predictions: dict, statistics: dict | None = None, reference=None,
                     reference_statistics: dict | None = None, unit: str = "kcal/mol/e"):
    """Quantities × methods (each model, then 'DFT' when `reference` is given) as a DataFrame.

    predictions: model name -> Prediction; statistics: model name -> surface_statistics
    dict (kcal/mol/e); reference: a mepviz.reference.ReferenceResult (moments about its
    centre of mass) and reference_statistics its surface statistics. μ in D, Θ in D·Å,
    potentials converted to `unit`.
    """
    import pandas as pd

    from .units import convert_potential
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


#: short display names of the methods in weights/evaluation.json (train/evaluate.py)
#: (chart legends: the registry's model names; abbreviated baseline labels; the ESP-fit bounds)
METHOD_SHORT = {**{m: f"ML {m} model" for m in MODEL_NAMES},
                **{b: BASELINES[b].split(" (")[0] for b in BASELINE_NAMES},
                "xtb-multipoles": "GFN2-xTB multipoles",
                "esp-fit-charges": "ESP-fit charges (floor)", "esp-fit-multipoles": "ESP-fit q+p+θ (floor)"}


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
    import pandas as pd
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
    import pandas as pd

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


MOMENT_ROWS = ("|μ| (D)", "μx (D)", "μy (D)", "μz (D)", "Θ₁ (D·Å)", "Θ₂ (D·Å)", "Θ₃ (D·Å)")


def moment_row(dipole, quadrupole) -> list[float]:
    """|μ|, μx, μy, μz (D) and the principal values of Θ (D·Å, ascending) of a dipole (e·Å)
    and a traceless quadrupole (e·Å²), in the order of MOMENT_ROWS."""
    d = DEBYE_PER_E_ANGSTROM
    mu = np.asarray(dipole, float)
    return [float(np.linalg.norm(mu) * d), *(mu * d).tolist(), *(principal_values(quadrupole) * d).tolist()]


def largest_principal_value(quadrupole) -> float:
    """The principal value of Θ with the largest magnitude (e·Å²): Θ along the molecule's
    symmetry axis for a linear or symmetric-top molecule (CO₂, benzene)."""
    w = principal_values(quadrupole)
    return float(w[int(np.argmax(np.abs(w)))])
