"""Evaluate the shipped models (and cheap charge baselines) against the DFT test split.

    OMP_NUM_THREADS=1 python -m train.evaluate            # every variant in weights/ + baselines
    python -m train.evaluate --models quadrupole --no-baselines --no-update-cards
    python -m train.evaluate --readme                      # README accuracy table from evaluation.json

On data/qm9/test.npz (QM9 permutation positions 100–199, B3LYP/6-31G(2df,p)) for every model
in weights/ and for the baselines of mepviz.baselines (RDKit Gasteiger, RDKit MMFF94,
GFN2-xTB Mulliken charges; and GFN2-xTB charges + atomic dipoles + quadrupoles):

- dipole: vector MAE ⟨|μ − μ_ref|⟩, component MAE ⟨|μ_α − μ_ref,α|⟩ and magnitude MAE
  ⟨| |μ| − |μ_ref| |⟩, all in D;
- quadrupole: component MAE over the nine components of the traceless Θ about the centre
  of mass, D·Å;
- MEP (atomic-multipole potential vs DFT, kcal/mol/e): MAE and RMSE on the isodensity points
  and on every shell scale (1.4, 1.6, 1.8, 2.0 × Bondi radii), per molecule and overall
  (overall = pooled over all points of all molecules; `molecule_mean_mae` = mean of the
  per-molecule MAEs), plus histograms of the signed errors.

Writes weights/evaluation.md (Markdown tables), weights/evaluation.json (overall,
per-shell, per-molecule, histograms, each method's subset metrics, and "figures": the data of
the paper's plots; read by the app's Compare page) and puts the test
metrics into each model card weights/<name>.json under "test_metrics", together with the
metrics on a fixed subset (the first SUBSET_SIZE test molecules) that tests/test_weights.py
recomputes, and the SHA-256 of the weight file they belong to.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mepviz.core import paths, registry  # noqa: E402
from mepviz.core.units import DEBYE_PER_E_ANGSTROM  # noqa: E402
from mepviz.io.export import jsonable  # noqa: E402
from mepviz.ml import cards  # noqa: E402
from mepviz.ml.cards import file_sha256  # noqa: E402,F401  (train.evaluate.file_sha256: the one identity)
from mepviz.physics.electrostatics import (molecular_dipole, molecular_quadrupole, multipole_potential,  # noqa: E402
                                           shift_second_moment, traceless, valence_electrons)
from mepviz.report.metrics import TestMolecule, error_metrics, load_test_set  # noqa: E402,F401

DEFAULT_TEST = paths.test_set_path()
DEFAULT_WEIGHTS = paths.weights_dir()
SHELL_SCALES = (1.4, 1.6, 1.8, 2.0)
SUBSET_SIZE = 10
#: signed MEP error histogram bins (kcal/mol/e); errors outside go to underflow/overflow
HIST_EDGES = np.linspace(-15.0, 15.0, 121)
#: per-molecule MAE histogram bins (kcal/mol/e)
MOL_HIST_EDGES = np.linspace(0.0, 15.0, 61)
BASELINE_NAMES = registry.BASELINE_NAMES
#: baselines with atomic dipoles and quadrupoles: their isodensity error is also split by order
BASELINES_WITH_ORDERS = ("xtb-multipoles",)
#: per-molecule ESP fits to the DFT MEP itself (the floor for point multipoles): name → (order, label)
BOUNDS = {"esp-fit-charges": (0, "ESP-fitted charges (per-molecule fit to the DFT MEP; floor of point charges)"),
          "esp-fit-multipoles": (2, "ESP-fitted q + p + θ (per-molecule fit to the DFT MEP; floor of point multipoles)"),
          "esp-fit-multipoles-clouds": (2, "ESP-fitted q + p + θ with the mep model's valence clouds (per-molecule "
                                           "fit to the DFT MEP; floor of the mep model's form)")}
#: the bound that keeps a model's predicted charge-penetration clouds and fits the rest → that model
CLOUD_BOUNDS = {"esp-fit-multipoles-clouds": "mep"}
ORDER_LABELS = ("charges only", "+ atomic dipoles", "+ atomic quadrupoles")
README = ROOT / "README.md"
README_MARKERS = ("<!-- accuracy-table:start (python -m train.evaluate --readme) -->", "<!-- accuracy-table:end -->")
D = DEBYE_PER_E_ANGSTROM


def method_label(name: str) -> str:
    """Display label of a model variant, baseline or bound (from mepviz.registry)."""
    if name in registry.MODELS:
        return "ML " + registry.MODELS[name].label
    if name in BOUNDS:
        return BOUNDS[name][1]
    return registry.BASELINES.get(name, name)


# ------------------------------------------------------------------------ multipoles
class ModelMultipoles(tuple):
    """One molecule's atomic multipoles from a network: unpacks as (charges, atomic dipoles,
    atomic quadrupoles, penetration or None), the arguments of multipole_potential, and carries
    the network's own molecular moments, `moments` = (μ e·Å, traceless Θ e·Å², the centre of
    mass they are about, Å), float64."""

    def __new__(cls, multipoles, moments):
        self = super().__new__(cls, multipoles)
        self.moments = moments
        return self


def model_multipoles(name: str, test_set, weights_dir=DEFAULT_WEIGHTS, batch_size: int = 16):
    """[ModelMultipoles] of the model weights_dir/<name>.pt for every molecule (float32 network,
    `batch_size` molecules per forward pass as the app's predictor; moments in float64)."""
    import torch

    from mepviz.ml.model import load_model, predict_arrays
    net = load_model(Path(weights_dir) / name, dtype=torch.float32)
    out = []
    for start in range(0, len(test_set), batch_size):
        mols = [t.mol for t in test_set[start:start + batch_size]]
        counts = [m.n_atoms for m in mols]
        r = predict_arrays(net, np.concatenate([m.numbers for m in mols]), np.concatenate([m.positions for m in mols]),
                           counts, [m.charge for m in mols])
        pen = r.get("penetration")
        ends = np.cumsum(counts)
        for k, (a, b) in enumerate(zip(ends - counts, ends)):
            out.append(ModelMultipoles(
                (r["charges"][a:b], r["atomic_dipoles"][a:b], r["atomic_quadrupoles"][a:b],
                 None if pen is None else pen[a:b]),
                (r["dipole"][k], r["quadrupole"][k], r["center_of_mass"][k])))
    return out, [None] * len(out)


def baseline_multipoles(name: str, test_set):
    """[(q, p or None, θ or None) or None], [error message or None] for a baseline."""
    from mepviz.physics import baselines
    out, errors = [], []
    for t in test_set:
        try:
            out.append(baselines.baseline_multipoles(name, t.mol))
            errors.append(None)
        except Exception as exc:   # a baseline that cannot handle a molecule is reported, not fatal
            out.append(None)
            errors.append(f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    return out, errors


def esp_fit_multipoles(t: TestMolecule, order: int = 2, ridge: float = 1e-8, penetration=None):
    """Atomic multipoles fitted to this molecule's own DFT MEP (isodensity + shell points).

    Unweighted least squares with the total charge constrained (Σq = charge), order 0: charges
    only (ESP/RESP-style charges without restraints), order 2: charges, atomic dipoles and
    traceless atomic quadrupoles. It uses the answer, so it is not a predictor: it measures
    how well *any* set of point atomic multipoles of that order can reproduce the DFT MEP,
    i.e. a floor for the ML models' errors (penetration effects near the surface remain).

    `penetration` (N, 2) (Nᵢ e, aᵢ Å), e.g. a model's: the fit is of the `mep` form with those
    cloud widths aᵢ held fixed — atom i a core of its Zᵢ valence electrons plus a Slater cloud of
    Zᵢ − qᵢ electrons (docs/physics.md), so V = k_e Σ [qᵢ (1/s − fᵢ) + Zᵢ fᵢ] + dipole and quadrupole
    terms, fᵢ = (1/s + 1/(2aᵢ)) e^(−s/aᵢ), still linear in qᵢ; the 4th item returned is the
    fitted clouds (Zᵢ − qᵢ, aᵢ). The floor of that model's form with its widths.
    """
    from mepviz.core.units import COULOMB_KCAL_ANGSTROM as K
    pts = np.vstack([t.iso_points, t.shell_points])
    ref = np.concatenate([t.iso_esp, t.shell_esp])
    n = t.mol.n_atoms
    s = pts[:, None, :] - t.mol.positions[None]
    r = np.linalg.norm(s, axis=2)
    cols = [K / r]
    if penetration is not None:
        width, core = np.asarray(penetration, float)[:, 1], valence_electrons(t.mol.numbers).astype(float)
        cloud = np.exp(-r / width) * (1.0 / r + 0.5 / width)
        cols = [K * (1.0 / r - cloud)]
        ref = ref - K * cloud @ core
    basis = []
    if order >= 1:
        cols += [K * s[..., a] / r ** 3 for a in range(3)]
    if order >= 2:
        e = np.eye(3)
        basis = [np.diag([1.0, -1.0, 0.0]), np.diag([-1.0, -1.0, 2.0])]
        basis += [np.outer(e[a], e[b]) + np.outer(e[b], e[a]) for a, b in ((0, 1), (0, 2), (1, 2))]
        r5 = r ** 5
        cols += [K * np.einsum("pna,ab,pnb->pn", s, bk, s) / r5 for bk in basis]
    a_mat = np.concatenate(cols, axis=1)
    m = a_mat.shape[1]
    c = np.zeros(m)
    c[:n] = 1.0
    ata = a_mat.T @ a_mat
    kkt = np.block([[ata + ridge * np.trace(ata) / m * np.eye(m), c[:, None]], [c[None, :], np.zeros((1, 1))]])
    w = np.linalg.solve(kkt, np.concatenate([a_mat.T @ ref, [float(t.mol.charge)]]))[:m]
    q = w[:n]
    p = w[n:4 * n].reshape(3, n).T if order >= 1 else None
    th = np.einsum("kn,kab->nab", w[4 * n:].reshape(5, n), np.array(basis)) if order >= 2 else None
    return (q, p, th) if penetration is None else (q, p, th, np.column_stack([core - q, width]))


def cloud_fits(test_set, model: str = "mep", weights_dir=DEFAULT_WEIGHTS):
    """:func:`esp_fit_multipoles` (order 2) of every molecule with `model`'s predicted valence
    clouds held fixed: how far a perfect fit of that model's form gets (None where the model
    has no clouds for a molecule)."""
    mps, errs = model_multipoles(model, test_set, weights_dir)
    fits = [None if mp is None or mp[3] is None else esp_fit_multipoles(t, 2, penetration=mp[3])
            for t, mp in zip(test_set, mps)]
    return fits, [e or (None if f is not None else f"{model} predicts no valence clouds") for e, f in zip(errs, fits)]


def bounds_for(weights_dir=DEFAULT_WEIGHTS) -> list[str]:
    """The bounds that can be evaluated: every ESP fit, a cloud bound only where its model is installed."""
    return [b for b in BOUNDS if b not in CLOUD_BOUNDS or cards.weights_present(CLOUD_BOUNDS[b], weights_dir)]


# --------------------------------------------------------------------------- metrics
def _mae_rmse(err) -> dict:
    """metrics.error_metrics of signed errors (without the meaningless correlation)."""
    return {k: v for k, v in error_metrics(err).items() if k != "r"}


def molecule_errors(t: TestMolecule, q, p=None, th=None, penetration=None, orders=(2,), moments=None) -> dict:
    """Moment errors and signed MEP errors (arrays) of one molecule's atomic multipoles (and
    charge-penetration term, when the method has one: it enters the order-2 potential). μ and Θ
    are the network's `moments` (see ModelMultipoles) when given, else summed from the multipoles."""
    pos = t.mol.positions
    if moments is not None:
        mu, theta = moments_about(*moments, t.com, t.mol.charge)
    else:
        mu = molecular_dipole(pos, q, p, origin=t.com)
        theta = molecular_quadrupole(pos, q, p, th, origin=t.com)
    res = {
        "dipole_vector_error": float(np.linalg.norm(mu - t.dipole) * D),
        "dipole_component_error": float(np.abs(mu - t.dipole).mean() * D),
        "dipole_magnitude_error": float((np.linalg.norm(mu) - np.linalg.norm(t.dipole)) * D),
        "quadrupole_component_error": float(np.abs(theta - t.quadrupole).mean() * D),
        "dipole_debye": (mu * D).tolist(),
    }
    iso = {}
    for order in orders:
        iso[order] = multipole_potential(t.iso_points, pos, q, p if order >= 1 else None,
                                         th if order >= 2 else None, penetration if order >= 2 else None) - t.iso_esp
    res["iso_error"] = iso[max(orders)]
    res["iso_error_by_order"] = iso
    res["shell_error"] = multipole_potential(t.shell_points, pos, q, p, th, penetration) - t.shell_esp
    return res


def moments_about(mu, theta, old_origin, origin, charge: float = 0.0):
    """μ (e·Å) and traceless Θ (e·Å²) about `origin` from those about `old_origin` (Å): the
    network's centre of mass (isotope-averaged masses) lies ~1e-5 Å from the test file's."""
    shift = shift_second_moment(np.zeros((3, 3)), mu, origin, total_charge=charge, old_origin=old_origin)
    return mu - charge * (np.asarray(origin) - old_origin), theta + traceless(shift)


def _histogram(err, edges) -> dict:
    err = np.asarray(err, float)
    counts, _ = np.histogram(err, bins=edges)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts],
            "underflow": int((err < edges[0]).sum()), "overflow": int((err > edges[-1]).sum())}


def evaluate_multipoles(test_set, multipoles, errors=None, orders=(2,), detail: bool = True) -> dict:
    """Aggregate metrics for a method given its per-molecule multipoles (None = failed)."""
    errors = errors or [None] * len(test_set)
    per_mol, iso_all, shell_all, shell_scales = [], [], [], []
    by_order = {o: [] for o in orders}
    moments = {k: [] for k in ("dipole_vector_error", "dipole_component_error", "dipole_magnitude_error",
                               "quadrupole_component_error")}
    failures = []
    for t, mp, err in zip(test_set, multipoles, errors):
        if mp is None:
            failures.append({"qm9_index": t.qm9_index, "smiles": t.smiles, "error": err or "failed"})
            continue
        e = molecule_errors(t, *mp, orders=orders, moments=getattr(mp, "moments", None))
        for k in moments:
            moments[k].append(e[k])
        iso_all.append(e["iso_error"])
        for o in orders:
            by_order[o].append(e["iso_error_by_order"][o])
        shell_all.append(e["shell_error"])
        shell_scales.append(t.shell_scale)
        rec = {"qm9_index": t.qm9_index, "smiles": t.smiles, "n_atoms": t.mol.n_atoms,
               "dipole_vector_error_debye": e["dipole_vector_error"],
               "dipole_magnitude_error_debye": e["dipole_magnitude_error"],
               "quadrupole_component_mae_debye_angstrom": e["quadrupole_component_error"],
               **{k: v for k, v in _mae_rmse(e["iso_error"]).items() if k in ("mae", "rmse")},
               "shells": {f"{s:.1f}": {k: v for k, v in _mae_rmse(e["shell_error"][t.shell_scale == s]).items()
                                      if k in ("mae", "rmse")} for s in SHELL_SCALES}}
        per_mol.append(rec)
    n = len(per_mol)
    out = {
        "n_molecules": n,
        "n_failed": len(failures),
        "moments": {
            "dipole_vector_mae_debye": float(np.mean(moments["dipole_vector_error"])) if n else float("nan"),
            "dipole_component_mae_debye": float(np.mean(moments["dipole_component_error"])) if n else float("nan"),
            "dipole_magnitude_mae_debye": float(np.mean(np.abs(moments["dipole_magnitude_error"]))) if n else float("nan"),
            "quadrupole_component_mae_debye_angstrom": float(np.mean(moments["quadrupole_component_error"])) if n else float("nan"),
        },
    }
    iso = np.concatenate(iso_all) if iso_all else np.zeros(0)
    shell = np.concatenate(shell_all) if shell_all else np.zeros(0)
    scales = np.concatenate(shell_scales) if shell_scales else np.zeros(0)
    overall = _mae_rmse(iso)
    overall["molecule_mean_mae"] = float(np.mean([r["mae"] for r in per_mol])) if n else float("nan")
    overall["surface"] = "isodensity"
    mep = {"overall": overall,
           "per_shell": {f"{s:.1f}": _mae_rmse(shell[scales == s]) for s in SHELL_SCALES},
           "all_shells": _mae_rmse(shell)}
    if len(orders) > 1:
        mep["isodensity_by_order"] = {str(o): _mae_rmse(np.concatenate(by_order[o])) if n else _mae_rmse([])
                                      for o in orders}
    if detail:
        mep["per_molecule"] = per_mol
        mep["histogram"] = _histogram(iso, HIST_EDGES)
        mep["histogram_per_shell"] = {f"{s:.1f}": _histogram(shell[scales == s], HIST_EDGES) for s in SHELL_SCALES}
        mep["per_molecule_mae_histogram"] = _histogram(np.array([r["mae"] for r in per_mol]), MOL_HIST_EDGES)
        out["failures"] = failures
    out["mep"] = mep
    return out


def card_metrics(result: dict) -> dict:
    """The compact metric block stored in a model card."""
    mep = result["mep"]
    return {
        "n_molecules": result["n_molecules"],
        **result["moments"],
        "mep_isodensity": {k: mep["overall"][k] for k in ("mae", "rmse", "molecule_mean_mae", "n_points")},
        "mep_shells": {s: {k: v[k] for k in ("mae", "rmse", "n_points")} for s, v in mep["per_shell"].items()},
        **({"mep_isodensity_by_order": {o: {k: v[k] for k in ("mae", "rmse")}
                                        for o, v in mep["isodensity_by_order"].items()}}
           if "isodensity_by_order" in mep else {}),
    }


def evaluate_model(name: str, test_set, weights_dir=DEFAULT_WEIGHTS, detail: bool = True) -> dict:
    mps, errs = model_multipoles(name, test_set, weights_dir)
    return evaluate_multipoles(test_set, mps, errs, orders=(0, 1, 2), detail=detail)


def subset_metrics(name: str, weights_dir=DEFAULT_WEIGHTS, test_path=DEFAULT_TEST, n: int = SUBSET_SIZE) -> dict:
    """Card metrics of model `name` on the first `n` test molecules (tests/test_weights.py)."""
    return card_metrics(evaluate_model(name, load_test_set(test_path, n), weights_dir, detail=False))


def method_multipoles(name: str, test_set, weights_dir=DEFAULT_WEIGHTS):
    """(multipoles, errors, kind, orders) of a model variant, a baseline or an ESP-fit bound."""
    if name in CLOUD_BOUNDS:
        mps, errs = cloud_fits(test_set, CLOUD_BOUNDS[name], weights_dir)
        return mps, errs, "bound", (2,)
    if name in BOUNDS:
        return [esp_fit_multipoles(t, BOUNDS[name][0]) for t in test_set], None, "bound", (2,)
    if name in registry.BASELINES:
        mps, errs = baseline_multipoles(name, test_set)
        return mps, errs, "baseline", (0, 1, 2) if name in BASELINES_WITH_ORDERS else (2,)
    mps, errs = model_multipoles(name, test_set, weights_dir)
    return mps, errs, "model", (0, 1, 2)


def evaluate_method(name: str, test_set, weights_dir=DEFAULT_WEIGHTS, subset: int = SUBSET_SIZE) -> dict:
    """Full result of one method, with "subset": the card metrics of its first `subset`
    molecules (what tests recompute for baselines and bounds)."""
    mps, errs, kind, orders = method_multipoles(name, test_set, weights_dir)
    res = evaluate_multipoles(test_set, mps, errs, orders=orders)
    sub = evaluate_multipoles(test_set[:subset], mps[:subset], (errs or [None] * len(mps))[:subset],
                              orders=orders, detail=False)
    res.update(kind=kind, label=method_label(name), extrema=extrema_errors(test_set, mps),
               subset={"n_molecules": min(subset, len(test_set)), "metrics": card_metrics(sub)})
    return res


def extrema_errors(test_set, multipoles) -> dict:
    """MAE (kcal/mol/e) of V_s,min and V_s,max on the DFT isodensity points, method vs DFT,
    over the molecules the method handled: how far to trust a predicted surface extremum."""
    dmin, dmax = [], []
    for t, mp in zip(test_set, multipoles):
        if mp is None:
            continue
        v = multipole_potential(t.iso_points, t.mol.positions, *mp)
        dmin.append(abs(v.min() - t.iso_esp.min()))
        dmax.append(abs(v.max() - t.iso_esp.max()))
    n = len(dmin)
    return {"v_min_mae": float(np.mean(dmin)) if n else float("nan"),
            "v_max_mae": float(np.mean(dmax)) if n else float("nan"), "n_molecules": n}


def ensemble_calibration(test_set, stems) -> dict:
    """Does the spread of an ensemble mark where its first member (the shipped map) is wrong?

    `stems`: the member weight files (mepviz.core.registry.ENSEMBLES, shipped file first). On
    each molecule's DFT isodensity points: spread = standard deviation of the members' MEPs,
    error = |first member − DFT| (kcal/mol/e). Spearman rank correlations: over all points of
    the set pooled, within each molecule (median over molecules), and over molecules (mean
    spread vs MAE)."""
    from scipy.stats import spearmanr
    mps = [model_multipoles(Path(s).name, test_set, Path(s).parent)[0] for s in stems]
    spread, error, per_mol, mol_spread, mol_mae = [], [], [], [], []
    for k, t in enumerate(test_set):
        v = np.stack([multipole_potential(t.iso_points, t.mol.positions, *mp[k]) for mp in mps])
        sd, err = v.std(0), np.abs(v[0] - t.iso_esp)
        spread.append(sd)
        error.append(err)
        per_mol.append(spearmanr(sd, err)[0])
        mol_spread.append(sd.mean())
        mol_mae.append(err.mean())
    sp, er = np.concatenate(spread), np.concatenate(error)
    return {"members": [str(Path(s).name if Path(s).parent.name != "studies" else f"studies/{Path(s).name}")
                        for s in stems],
            "n_molecules": len(test_set), "n_points": int(sp.size),
            "spearman_points": float(spearmanr(sp, er)[0]),
            "spearman_points_within_molecule_median": float(np.nanmedian(per_mol)),
            "spearman_molecules": float(spearmanr(mol_spread, mol_mae)[0]) if len(test_set) > 2 else float("nan"),
            "mean_spread": float(sp.mean()), "mae": float(er.mean())}


def ensemble_calibrations(test_set, weights_dir=DEFAULT_WEIGHTS) -> dict:
    """:func:`ensemble_calibration` of every ensemble of the registry whose members are all installed."""
    from mepviz.ml.ensemble import ensemble_members
    return {name: ensemble_calibration(test_set, stems) for name in registry.ENSEMBLES
            if (stems := ensemble_members(name, weights_dir))}


def figures(methods: dict, test_set) -> dict:
    """Data of the paper's figures for the Compare page and evaluation.md (kcal/mol/e):

    - per_molecule_mep_mae: isodensity MAE per test molecule and method (null = failed);
    - mep_mae_vs_shell: MAE and RMSE on the isodensity surface and each shell scale;
    - mep_mae_by_order: isodensity MAE with charges only / + atomic dipoles / + quadrupoles;
    - paper_pair: the dipole / quadrupole MEP MAE ratio and how many molecules each wins."""
    index = [t.qm9_index for t in test_set]
    per_mol = {}
    for name, res in methods.items():
        got = {r["qm9_index"]: r["mae"] for r in res["mep"].get("per_molecule", [])}
        per_mol[name] = [got.get(q) for q in index]
    surfaces = ["isodensity", *(f"{s:.1f}" for s in SHELL_SCALES)]
    shell = {name: {k: [res["mep"]["overall"][k], *(res["mep"]["per_shell"][f"{s:.1f}"][k] for s in SHELL_SCALES)]
                    for k in ("mae", "rmse")} for name, res in methods.items()}
    by_order = {name: [res["mep"]["isodensity_by_order"][str(o)]["mae"] for o in (0, 1, 2)]
                for name, res in methods.items() if "isodensity_by_order" in res["mep"]}
    out = {"per_molecule_mep_mae": {"qm9_index": index, "smiles": [t.smiles for t in test_set], "mae": per_mol},
           "mep_mae_vs_shell": {"surfaces": surfaces, **{k: {n: v[k] for n, v in shell.items()} for k in ("mae", "rmse")}},
           "mep_mae_by_order": {"orders": list(ORDER_LABELS), "mae": by_order}}
    dip, quad = registry.PAPER_PAIR
    if dip in methods and quad in methods:
        a, b = np.array(per_mol[dip], dtype=float), np.array(per_mol[quad], dtype=float)
        ok = np.isfinite(a) & np.isfinite(b)
        out["paper_pair"] = {
            "dipole": dip, "quadrupole": quad,
            "mep_mae_ratio": methods[dip]["mep"]["overall"]["mae"] / methods[quad]["mep"]["overall"]["mae"],
            "molecules_quadrupole_better": int((b[ok] < a[ok]).sum()), "molecules_compared": int(ok.sum())}
    return out


# ---------------------------------------------------------------------------- output
def _fmt(x, d=3):
    return "—" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{d}f}"


def markdown(doc: dict) -> str:
    ts = doc["test_set"]
    lines = [
        "# Evaluation on the QM9 test split",
        "",
        f"Test set: `{ts['file']}` — {ts['n_molecules']} molecules (QM9 permutation positions "
        f"{ts['positions'][0]}–{ts['positions'][1]}), reference {ts['level_of_theory']}. "
        f"Generated {doc['generated']} by `python -m train.evaluate`.",
        "",
        "MEP errors are atomic-multipole potential − DFT potential in kcal/mol/e, pooled over all "
        "points (isodensity: ρ = 0.001 e/bohr³ surface vertices; shells: Merz–Kollman points on "
        "1.4–2.0 × Bondi radii). μ vector MAE = ⟨|μ − μ_ref|⟩, |μ| MAE = ⟨||μ| − |μ_ref||⟩ (D); "
        "Θ MAE over the nine components of the traceless quadrupole about the centre of mass (D·Å). "
        "Baselines have no atomic dipoles/quadrupoles unless stated. The two *ESP-fitted* rows are not "
        "predictors: their charges (and atomic dipoles and quadrupoles) are least-squares fitted to each test "
        "molecule's own DFT MEP (isodensity + shell points, Σq fixed), so they show the smallest error any point "
        "atomic multipoles of that order can reach — the floor for the point-multipole ML models (the MEP-trained "
        "model's charge-penetration term goes beyond point multipoles, so it can pass below it on the isodensity surface).",
        "",
        "| Method | μ vector MAE (D) | \\|μ\\| MAE (D) | Θ MAE (D·Å) | MEP MAE iso | MEP RMSE iso "
        "| MAE 1.4 | MAE 1.6 | MAE 1.8 | MAE 2.0 | failed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, res in doc["methods"].items():
        mo, mep = res["moments"], res["mep"]
        ps = mep["per_shell"]
        lines.append(
            f"| {res['label']} | {_fmt(mo['dipole_vector_mae_debye'])} | {_fmt(mo['dipole_magnitude_mae_debye'])} "
            f"| {_fmt(mo['quadrupole_component_mae_debye_angstrom'])} | **{_fmt(mep['overall']['mae'], 2)}** "
            f"| {_fmt(mep['overall']['rmse'], 2)} | "
            + " | ".join(_fmt(ps[f"{s:.1f}"]["mae"], 2) for s in SHELL_SCALES)
            + f" | {res['n_failed']} |")
    lines += ["", "## MEP RMSE per shell (kcal/mol/e)", "",
              "| Method | iso | 1.4 | 1.6 | 1.8 | 2.0 | all shells |", "|---|---|---|---|---|---|---|"]
    for name, res in doc["methods"].items():
        mep = res["mep"]
        lines.append(f"| {res['label']} | {_fmt(mep['overall']['rmse'], 2)} | "
                     + " | ".join(_fmt(mep["per_shell"][f"{s:.1f}"]["rmse"], 2) for s in SHELL_SCALES)
                     + f" | {_fmt(mep['all_shells']['rmse'], 2)} |")
    lines += ["", "## Surface extrema: MAE of V_s,min and V_s,max against DFT (kcal/mol/e)", "",
              "On the DFT isodensity points of each test molecule; the app shows these next to predicted extrema.",
              "", "| Method | V_s,min MAE | V_s,max MAE |", "|---|---|---|"]
    for name, res in doc["methods"].items():
        ex = res.get("extrema") or {}
        lines.append(f"| {res['label']} | {_fmt(ex.get('v_min_mae', float('nan')), 2)} | "
                     f"{_fmt(ex.get('v_max_mae', float('nan')), 2)} |")
    ml = [(n, r) for n, r in doc["methods"].items() if r["kind"] == "model"]
    for name, u in (doc.get("uncertainty") or {}).items():
        lines += ["", f"## Uncertainty map of the {name} ensemble ({', '.join(u['members'])})", "",
                  f"Spearman rank correlation of the spread with the shipped member's |error|: points "
                  f"{u['spearman_points']:.2f}, within a molecule (median) {u['spearman_points_within_molecule_median']:.2f}, "
                  f"molecules {u['spearman_molecules']:.2f}; mean spread {u['mean_spread']:.2f}, MAE {u['mae']:.2f} kcal/mol/e."]
    lines += figures_markdown(doc)
    for name, res in ml:
        pm = sorted(res["mep"].get("per_molecule", []), key=lambda r: -r["mae"])
        if pm:
            maes = np.array([r["mae"] for r in pm])
            lines += ["", f"## {res['label']}: per-molecule isodensity MEP MAE (kcal/mol/e)", "",
                      f"median {np.median(maes):.2f}, 90th percentile {np.percentile(maes, 90):.2f}, "
                      f"max {maes.max():.2f}. Largest errors:", "",
                      "| QM9 index | SMILES | atoms | MEP MAE | \\|μ\\| error (D) |", "|---|---|---|---|---|"]
            for r in pm[:5]:
                lines.append(f"| {r['qm9_index']} | `{r['smiles']}` | {r['n_atoms']} | {r['mae']:.2f} "
                             f"| {r['dipole_magnitude_error_debye']:+.3f} |")
    for name, res in doc["methods"].items():
        for f in res.get("failures", []):
            lines.append(f"\n- {res['label']} failed on QM9 {f['qm9_index']} ({f['smiles']}): {f['error']}")
    return "\n".join(lines) + "\n"


def figures_markdown(doc: dict) -> list[str]:
    """The paper's figures as tables: error by multipole order, error vs shell distance, and
    per-molecule MEP MAE of the paper's dipole and quadrupole models (evaluation.json "figures")."""
    fig, labels = doc["figures"], {n: r["label"] for n, r in doc["methods"].items()}
    lines = ["", "## Isodensity MEP MAE by multipole order (kcal/mol/e)", "",
             "Each row's own atomic multipoles, truncated: charges only, then + atomic dipoles, then + atomic "
             "quadrupoles.", "", "| Method | " + " | ".join(fig["mep_mae_by_order"]["orders"]) + " |",
             "|---|---|---|---|"]
    for name, maes in fig["mep_mae_by_order"]["mae"].items():
        lines.append(f"| {labels[name]} | " + " | ".join(_fmt(v, 2) for v in maes) + " |")
    sh = fig["mep_mae_vs_shell"]
    lines += ["", "## MEP MAE against distance from the molecule (kcal/mol/e)", "",
              "Isodensity surface, then Merz–Kollman shells at 1.4–2.0 × Bondi radii.", "",
              "| Method | " + " | ".join(sh["surfaces"]) + " |", "|---|" + "---|" * len(sh["surfaces"])]
    for name, maes in sh["mae"].items():
        lines.append(f"| {labels[name]} | " + " | ".join(_fmt(v, 2) for v in maes) + " |")
    pair = fig.get("paper_pair")
    if pair:
        d, q = pair["dipole"], pair["quadrupole"]
        pm = fig["per_molecule_mep_mae"]
        cols = [n for n in doc["methods"] if doc["methods"][n]["kind"] == "model"]
        lines += ["", f"## Per-molecule isodensity MEP MAE: {labels[d]} vs {labels[q]} (kcal/mol/e)", "",
                  f"MEP MAE ratio {d} / {q}: **{pair['mep_mae_ratio']:.2f}**; the {q} model is better on "
                  f"{pair['molecules_quadrupole_better']} of {pair['molecules_compared']} molecules "
                  "(the scatter plot's points below and above the diagonal).", "",
                  "| QM9 index | SMILES | " + " | ".join(cols) + " |", "|---|---|" + "---|" * len(cols)]
        for k, (idx, smi) in enumerate(zip(pm["qm9_index"], pm["smiles"])):
            lines.append(f"| {idx} | `{smi}` | " + " | ".join(_fmt(pm["mae"][c][k], 2) for c in cols) + " |")
    return lines


def readme_table(doc: dict) -> str:
    """The README's accuracy table (every model variant, baseline and floor in evaluation.json)."""
    ts = doc["test_set"]
    methods = {n: doc["models"].get(n) or doc["baselines"][n] for n in doc["method_order"]}
    lines = [README_MARKERS[0],
             f"On the {ts['n_molecules']}-molecule QM9 test split (MEP against {ts['level_of_theory']} on the "
             "ρ = 0.001 e/bohr³ isodensity surface and the 1.4 × Bondi shell; generated "
             f"{doc['generated']} from `weights/evaluation.json`; full tables and the paper's figures in "
             "`weights/evaluation.md`):", "",
             "| Method | MEP MAE iso (kcal/mol/e) | MEP MAE 1.4 shell | \\|μ\\| MAE (D) | μ vector MAE (D) "
             "| Θ MAE (D·Å) | training molecules (DFT) |", "|---|---|---|---|---|---|---|"]
    for name, res in methods.items():
        mo, mep = res["moments"], res["mep"]
        lines.append(f"| {res['label']} | {_fmt(mep['overall']['mae'], 2)} | {_fmt(mep['per_shell']['1.4']['mae'], 2)} "
                     f"| {_fmt(mo['dipole_magnitude_mae_debye'])} | {_fmt(mo['dipole_vector_mae_debye'])} "
                     f"| {_fmt(mo['quadrupole_component_mae_debye_angstrom'])} "
                     f"| {res.get('training_molecules') or '—'} |")
    pair = (doc.get("figures") or {}).get("paper_pair")
    if pair:
        lines += ["", f"MEP MAE ratio of the paper's pair, {pair['dipole']} / {pair['quadrupole']}: "
                      f"{pair['mep_mae_ratio']:.2f}."]
    lines.append(README_MARKERS[1])
    return "\n".join(lines)


def write_readme(evaluation_json=DEFAULT_WEIGHTS / "evaluation.json", readme=README) -> None:
    """Replace the text between README_MARKERS in `readme` with :func:`readme_table`."""
    doc = json.loads(Path(evaluation_json).read_text())
    text = Path(readme).read_text()
    start, end = text.find(README_MARKERS[0]), text.find(README_MARKERS[1])
    if start < 0 or end < 0:
        raise SystemExit(f"error: {readme} lacks the markers {README_MARKERS[0]!r} … {README_MARKERS[1]!r}")
    Path(readme).write_text(text[:start] + readme_table(doc) + text[end + len(README_MARKERS[1]):])


def _clean(x):
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (float, np.floating)):
        x = float(x)
        return x if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    return x


def model_test_metrics(name: str, wdir, test_path=DEFAULT_TEST, test_set=None, result=None,
                       generated: str | None = None) -> dict:
    """The "test_metrics" block of model card wdir/<name>.json: metrics on the whole test
    split, its file and hash, the weights' hash, and the subset tests/test_weights.py recomputes."""
    wdir, test_path = Path(wdir), Path(test_path)
    test_set = test_set if test_set is not None else load_test_set(test_path)
    result = result if result is not None else evaluate_model(name, test_set, wdir)
    try:
        test_file = str(test_path.resolve().relative_to(ROOT))
    except ValueError:
        test_file = str(test_path)
    metrics = card_metrics(result)
    metrics.update(
        test_set=test_file, test_set_sha256=file_sha256(test_path),
        evaluated=generated or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        weights_sha256=file_sha256(wdir / f"{name}.pt"),
        subset={"description": f"first {SUBSET_SIZE} molecules of the test split "
                               "(recomputed by tests/test_weights.py, tolerance 1e-4)",
                "n_molecules": SUBSET_SIZE,
                "qm9_index": [t.qm9_index for t in test_set[:SUBSET_SIZE]],
                "metrics": subset_metrics(name, wdir, test_path)})
    return metrics


def write_card_metrics(stem, test_path=DEFAULT_TEST) -> dict:
    """Evaluate the model stem.pt on the test split and write the metrics into stem.json."""
    stem = Path(stem)
    metrics = model_test_metrics(stem.name, stem.parent, test_path)
    update_card(cards.card_path(stem), metrics)
    return metrics


def update_card(card_path: Path, metrics: dict) -> None:
    cards.update_card(card_path, test_metrics=metrics)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.evaluate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--test", default=str(DEFAULT_TEST), help="test split (.npz with MEPs)")
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="folder with <model>.pt/.json")
    ap.add_argument("--models", nargs="*", default=None, help="models to evaluate (default: all in --weights)")
    ap.add_argument("--baselines", nargs="*", default=list(BASELINE_NAMES), choices=BASELINE_NAMES)
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--no-bounds", action="store_true",
                    help="skip the per-molecule ESP fits (the floor of point-multipole MEP errors)")
    ap.add_argument("-n", "--limit", type=int, default=None, help="only the first N test molecules (quick check)")
    ap.add_argument("--out", default=None, help="output stem (default <weights>/evaluation → .md and .json)")
    ap.add_argument("--no-update-cards", action="store_true", help="do not write test_metrics into the model cards")
    ap.add_argument("--readme", action="store_true",
                    help="only regenerate README.md's accuracy table from <weights>/evaluation.json")
    args = ap.parse_args(argv)
    if args.readme:
        write_readme(Path(args.weights) / "evaluation.json")
        print(f"updated the accuracy table in {README}")
        return 0

    wdir = Path(args.weights)
    models = args.models if args.models is not None else list(cards.installed_models(wdir))
    test_set = load_test_set(args.test, args.limit)
    t0 = time.perf_counter()
    names = [*models, *([] if args.no_baselines else args.baselines), *([] if args.no_bounds else bounds_for(wdir))]
    methods = {}
    for name in names:
        t = time.perf_counter()
        res = methods[name] = evaluate_method(name, test_set, wdir)
        if res["kind"] == "model":
            card = cards.read_card(wdir / name)
            res.update(weights_sha256=file_sha256(wdir / f"{name}.pt"),
                       training_molecules=(card.get("data", {}).get("dft_train", {}) or {}).get("molecules"))
        print(f"{name:>18}: MEP MAE iso {res['mep']['overall']['mae']:.3f} kcal/mol/e, "
              f"|μ| MAE {res['moments']['dipole_magnitude_mae_debye']:.3f} D ({res['n_failed']} failed, "
              f"{time.perf_counter() - t:.1f} s)", flush=True)

    test_path = Path(args.test)
    try:
        test_file = str(test_path.resolve().relative_to(ROOT))
    except ValueError:
        test_file = str(test_path)
    test_info = {"file": test_file, "sha256": file_sha256(test_path), "n_molecules": len(test_set),
                 "positions": [100, 100 + len(test_set) - 1],
                 "level_of_theory": "B3LYP/6-31G(2df,p) (PySCF 2.14, density fitting)",
                 "n_isodensity_points": int(sum(len(t.iso_esp) for t in test_set)),
                 "n_shell_points": int(sum(len(t.shell_esp) for t in test_set))}
    generated = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    uncertainty = ensemble_calibrations(test_set, wdir)
    doc = {
        "description": ("MEP errors (kcal/mol/e) of each method's atomic multipoles against the DFT "
                        f"MEP on the {len(test_set)} QM9 test molecules; overall = isodensity points."),
        "generated": generated,
        "test_set": test_info,
        "units": {"mep": "kcal/mol/e", "dipole": "D", "quadrupole": "D·Å"},
        "definitions": {
            "kind": "model = ML model; baseline = cheap charge model; bound = ESP fit to the DFT MEP of each "
                    "test molecule itself (not a predictor; the floor for point atomic multipoles, or with a model's "
                    "predicted valence clouds held fixed the floor of that model's form)",
            "mep_error": "atomic-multipole MEP minus DFT MEP at the same points",
            "overall": "pooled over all isodensity points of all molecules",
            "molecule_mean_mae": "mean over molecules of the per-molecule MAE",
            "dipole_vector_mae_debye": "mean |mu - mu_ref|",
            "dipole_magnitude_mae_debye": "mean ||mu| - |mu_ref||",
            "quadrupole_component_mae_debye_angstrom": "mean over molecules and 9 components of |Theta - Theta_ref| "
                                                       "(traceless, about the centre of mass)",
            "histogram": "signed isodensity MEP errors; values beyond the edges are counted in underflow/overflow",
            "subset": f"card metrics of the first {SUBSET_SIZE} test molecules (tests recompute them)",
            "figures": figures.__doc__.split("\n\n", 1)[1].strip(),
        },
        "methods": methods,
        "figures": figures(methods, test_set),
        "models": {k: v for k, v in methods.items() if v["kind"] == "model"},
        "baselines": {k: v for k, v in methods.items() if v["kind"] in ("baseline", "bound")},
        **({"uncertainty": uncertainty} if uncertainty else {}),
    }
    # "methods" holds everything; "models"/"baselines" are the same objects split by kind
    out_stem = Path(args.out) if args.out else wdir / "evaluation"
    out_stem.with_suffix(".md").write_text(markdown(doc))
    slim = {k: v for k, v in doc.items() if k != "methods"}
    slim["method_order"] = list(methods)
    out_stem.with_suffix(".json").write_text(json.dumps(jsonable(slim), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out_stem.with_suffix('.md')} and {out_stem.with_suffix('.json')} "
          f"({time.perf_counter() - t0:.0f} s)")

    if not args.no_update_cards and args.limit is None:
        floors = {b: methods[b]["mep"]["overall"]["mae"] for b in methods if methods[b]["kind"] in ("baseline", "bound")}
        for name in models:
            metrics = model_test_metrics(name, wdir, args.test, test_set, methods[name], generated)
            metrics["baselines_mep_isodensity_mae"] = floors
            update_card(wdir / f"{name}.json", metrics)
            print(f"updated {wdir / (name + '.json')} test_metrics")
    print(markdown(doc).split("\n\n## ")[0].split("\n\n", 3)[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
