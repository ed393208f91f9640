"""Error metrics, the numbers of a prediction, the QM9 test set and the evaluation results
(plain numbers; the pandas tables built from them are in :mod:`mepviz.report.tables`).

One metric function (:func:`error_metrics`, keys ``mae``, ``rmse``, ``bias``, ``max_abs``,
``r``, ``n_points``) serves the app, the evaluation script and the benchmark. Units: μ in D,
Θ in D·Å (× 4.80320 from e·Å, e·Å²), potentials kcal/mol/e unless converted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.molecule import Molecule
from ..core.paths import evaluation_path, test_set_path
from ..core.registry import BASELINE_NAMES, BASELINES, MODEL_NAMES
from ..core.units import DEBYE_PER_E_ANGSTROM, HARTREE_TO_KCAL_MOL
from ..physics.electrostatics import principal_values

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


#: short display names of the methods in weights/evaluation.json (train/evaluate.py)
#: (chart legends: the registry's model names; abbreviated baseline labels; the ESP-fit bounds)
METHOD_SHORT = {**{m: f"ML {m} model" for m in MODEL_NAMES},
                **{b: BASELINES[b].split(" (")[0] for b in BASELINE_NAMES},
                "xtb-multipoles": "GFN2-xTB multipoles",
                "esp-fit-charges": "ESP-fit charges (point-charge floor)",
                "esp-fit-multipoles": "ESP-fit q+p+θ (point-multipole floor)",
                "esp-fit-multipoles-clouds": "ESP-fit q+p+θ + mep clouds (floor of the mep form)"}
