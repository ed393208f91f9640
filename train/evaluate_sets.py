"""Evaluation on the test sets beyond QM9 (drug-like, P/S/Cl/Br/I, ions) and the σ-hole table.

    OMP_NUM_THREADS=1 python -m train.evaluate_sets      # → weights/evaluation_beyond_qm9.{json,md}

Test sets are the packed DFT labels of data/pools/test_*.csv and sigma_hole.csv
(`python -m train.label_pool pack`, files data/newchem/<set>.npz; B3LYP/6-31G(2df,p),
def2-TZVP + ECP on Br/I, MEPs on isodensity and MK-shell points). Each method is every
baseline of mepviz.baselines, the per-molecule ESP fits (the floor of point atomic multipoles),
and every shipped model whose card covers the set's elements and charges (a model that does
not is listed as "not trained on this chemistry", never silently evaluated). Metrics are those
of train/evaluate.py (dipoles about the centre of mass, so ions are well defined).

σ-hole table: for each C–X bond (X = Cl, Br, I) of the sigma_hole set, V_s,max at the halogen
cap = the maximum of the MEP over the DFT isodensity vertices within 15° of the C→X axis beyond
X (kcal/mol/e), for DFT and every method, and the angle between the C→X axis and the vertex
where each method's MEP is largest on X's part of the surface (vertices closer to X than to
any other atom): about 0° when the method puts V_s,max on the cap, as DFT does.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from mepviz import registry
from mepviz.ml import cards
from mepviz.electrostatics import multipole_potential
from mepviz.metrics import load_test_set
from mepviz.surface.extrema import CAP_CONE_DEG, HALOGENS, halogen_caps  # noqa: F401  (the cap geometry)
from train import evaluate as ev

ROOT = Path(__file__).resolve().parents[1]
SETS = {"drugs": "test_drugs.npz", "spice": "test_spice.npz", "ions": "test_ions.npz",
        "sigma_hole": "sigma_hole.npz"}
SET_LABELS = {"drugs": "drug-like (MOSES test, 15–35 heavy atoms)",
              "spice": "small molecules with P/S/Cl/Br/I (SPICE monomers)",
              "ions": "ions (SPICE + ionised MOSES test fragments)", "sigma_hole": "σ-hole set (CF3X, PhX)"}


def load_set(path) -> list[ev.TestMolecule]:
    """A packed test set as TestMolecule objects (mepviz.metrics.load_test_set)."""
    return load_test_set(path)


def model_covers(card: dict, test_set) -> str | None:
    """None if the model card's training chemistry (``training_elements``, default H C N O F;
    ``training_charges``, default neutral) covers every molecule, else why not."""
    elements = set(int(z) for z in card.get("training_elements", (1, 6, 7, 8, 9)))
    charges = set(int(q) for q in card.get("training_charges", (0,)))
    for t in test_set:
        if set(map(int, t.mol.numbers)) - elements or t.mol.charge not in charges:
            return "not trained on this chemistry (elements or charges outside its training set)"
    return None


# --------------------------------------------------------------------------- σ-hole
def sigma_hole_rows(t: ev.TestMolecule, values: dict[str, np.ndarray]) -> list[dict]:
    """One row per bonded halogen X (Cl, Br, I; its partner A = the nearest atom, within
    2.6 Å): V at the cap (max within the cone about the A→X axis) and the angle of the maximum
    on X's surface patch, for each method's MEP `values` on t.iso_points (kcal/mol/e). The
    geometry is the library's (mepviz.surface.extrema.halogen_caps), which the app uses too."""
    rows = []
    for site in halogen_caps(t.mol.numbers, t.mol.positions, t.iso_points):
        row = {"molecule": t.mol.name, "halogen": site.symbol, "n_cap_vertices": int(site.cone.sum())}
        for name, val in values.items():
            row[name] = {"v_cap": site.value(val), "max_angle_deg": site.max_angle_deg(val)}
        rows.append(row)
    return rows


def cap_summary(rows: list[dict], method: str) -> dict | None:
    """How a method does on the halogen caps of `rows`: caps whose V_s,max has DFT's sign,
    caps within 5 kcal/mol/e of DFT, and the MAE of the cap value (kcal/mol/e)."""
    rows = [r for r in rows if method in r]
    if not rows:
        return None
    dft = np.array([r["dft"]["v_cap"] for r in rows])
    val = np.array([r[method]["v_cap"] for r in rows])
    return {"caps": len(rows), "sign_right": int((np.sign(val) == np.sign(dft)).sum()),
            "within_5": int((np.abs(val - dft) <= 5.0).sum()), "mae": float(np.abs(val - dft).mean())}


# --------------------------------------------------------------------------- driver
def methods_for(test_set, weights_dir=ev.DEFAULT_WEIGHTS) -> dict:
    """name → (multipoles per molecule, errors per molecule, label) for every method."""
    out = {}
    for name in ev.BASELINE_NAMES:
        mp, err = ev.baseline_multipoles(name, test_set)
        out[name] = (mp, err, registry.BASELINES[name])
    for order, label in ((0, "ESP-fit charges (floor of point charges)"), (2, "ESP-fit q + p + θ (floor of point multipoles)")):
        out[f"esp-fit-{order}"] = ([ev.esp_fit_multipoles(t, order=order) for t in test_set],
                                   [None] * len(test_set), label)
    for bound, model in ev.CLOUD_BOUNDS.items():
        if bound in ev.bounds_for(weights_dir):
            mp, err = ev.cloud_fits(test_set, model, weights_dir)
            out[bound] = (mp, err, f"ESP-fit q + p + θ with the {model} model's valence clouds (floor of its form)")
    for card_path in sorted(Path(weights_dir).glob("*.json")):
        if not cards.stem_has_weights(card_path):
            continue
        card = cards.read_card(card_path)
        why = model_covers(card, test_set)
        if why:
            out[card_path.stem] = (None, why, card.get("label", card_path.stem))
            continue
        mp, err = ev.model_multipoles(card_path.stem, test_set, weights_dir)
        out[card_path.stem] = (mp, err, card.get("label", card_path.stem))
    return out


def evaluate_sets(data_dir=ROOT / "data" / "newchem", weights_dir=ev.DEFAULT_WEIGHTS, log=print) -> dict:
    doc = {"sets": {}, "sigma_hole": []}
    for key, fname in SETS.items():
        path = Path(data_dir) / fname
        if not path.exists():
            log(f"{key}: {path} not labelled yet")
            continue
        test_set = load_set(path)
        res = {"label": SET_LABELS[key], "n_molecules": len(test_set), "file": path.name,
               "methods": {}}
        methods = methods_for(test_set, weights_dir)
        for name, (mp, err, label) in methods.items():
            if mp is None:
                res["methods"][name] = {"label": label, "skipped": err}
                continue
            r = ev.evaluate_multipoles(test_set, mp, err)
            res["methods"][name] = {"label": label, "n_molecules": r["n_molecules"], "n_failed": r["n_failed"],
                                    "moments": r["moments"], "mep_iso": r["mep"]["overall"],
                                    "mep_shells": r["mep"]["per_shell"]}
            log(f"{key} {name}: MEP iso MAE {r['mep']['overall']['mae']:.2f} kcal/mol/e "
                f"({r['n_molecules']} molecules, {r['n_failed']} failed)")
        doc["sets"][key] = res
        uncertainty = ev.ensemble_calibrations(test_set, weights_dir)
        if uncertainty:
            res["uncertainty"] = uncertainty
        caps = []
        for k, t in enumerate(test_set):
            if not np.isin(t.mol.numbers, list(HALOGENS)).any():
                continue
            values = {"dft": t.iso_esp}
            for name, (mp, _, _) in methods.items():
                if mp is not None and mp[k] is not None:
                    values[name] = multipole_potential(t.iso_points, t.mol.positions, *mp[k])
            caps += sigma_hole_rows(t, values)
        if caps:
            res["halogen_caps"] = {name: summary for name in methods if (summary := cap_summary(caps, name))}
        if key == "sigma_hole":
            doc["sigma_hole"] = caps
    return doc


def model_set_metrics(stem, data_dir=ROOT / "data" / "newchem", log=print) -> dict:
    """One model's results on every beyond-QM9 test set: MEP MAE on the isodensity points and
    the 1.4 × vdW shell (kcal/mol/e), |μ| MAE (D) and its halogen caps (:func:`cap_summary`)."""
    stem = Path(stem)
    out = {}
    for key, fname in SETS.items():
        path = Path(data_dir) / fname
        if not path.exists():
            continue
        test_set = load_set(path)
        mp, err = ev.model_multipoles(stem.name, test_set, stem.parent)
        r = ev.evaluate_multipoles(test_set, mp, err, detail=False)
        caps = []
        for k, t in enumerate(test_set):
            if mp[k] is not None and np.isin(t.mol.numbers, list(HALOGENS)).any():
                caps += sigma_hole_rows(t, {"dft": t.iso_esp,
                                            "model": multipole_potential(t.iso_points, t.mol.positions, *mp[k])})
        out[key] = {"n_molecules": r["n_molecules"], "mep_iso_mae": r["mep"]["overall"]["mae"],
                    "mep_1.4_mae": r["mep"]["per_shell"]["1.4"]["mae"],
                    "dipole_magnitude_mae_debye": r["moments"]["dipole_magnitude_mae_debye"],
                    "caps": cap_summary(caps, "model")}
        log(f"{stem.name} {key}: MEP iso MAE {out[key]['mep_iso_mae']:.2f}")
    return out


def set_block(res: dict, name: str) -> dict:
    """A model's ``test_sets`` entry for one set of an :func:`evaluate_sets` document (the keys of
    :func:`model_set_metrics`)."""
    m = res["methods"][name]
    return {"n_molecules": m["n_molecules"], "mep_iso_mae": m["mep_iso"]["mae"], "mep_1.4_mae": m["mep_shells"]["1.4"]["mae"],
            "dipole_magnitude_mae_debye": m["moments"]["dipole_magnitude_mae_debye"],
            "caps": (res.get("halogen_caps") or {}).get(name)}


def write_shipped_card_sets(doc: dict, weights_dir=ev.DEFAULT_WEIGHTS) -> list[Path]:
    """Write every evaluated shipped model's per-set results into its card (``test_sets``)."""
    written = []
    for card_path in sorted(Path(weights_dir).glob("*.json")):
        blocks = {key: set_block(res, card_path.stem) for key, res in doc["sets"].items()
                  if "skipped" not in res["methods"].get(card_path.stem, {"skipped": True})}
        if blocks:
            card = cards.read_card(card_path)
            card["test_sets"] = blocks
            cards.write_card(card_path, card)
            written.append(card_path)
    return written


def write_card_set_metrics(stem, data_dir=ROOT / "data" / "newchem") -> dict:
    """Add :func:`model_set_metrics` to the card stem.json under ``test_sets``."""
    metrics = model_set_metrics(stem, data_dir)
    path = Path(str(stem) + ".json")
    card = cards.read_card(path)
    card["test_sets"] = metrics
    cards.write_card(path, card)
    return metrics


def markdown(doc: dict) -> str:
    lines = ["# Evaluation beyond QM9", "",
             "Written by `python -m train.evaluate_sets` from the packed DFT test sets in data/newchem/ "
             "(never trained or tuned on). MEP MAE on the DFT ρ = 0.001 e/bohr³ isodensity points, "
             "kcal/mol/e; dipoles about the centre of mass, D.", ""]
    for key, res in doc["sets"].items():
        lines += [f"## {res['label']} — {res['n_molecules']} molecules", "",
                  "| Method | MEP MAE iso | 1.4 | 1.6 | 1.8 | 2.0 | \\|μ\\| MAE (D) | Θ MAE (D·Å) | failed |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, m in res["methods"].items():
            if "skipped" in m:
                lines.append(f"| {m['label']} | {m['skipped']} | | | | | | | |")
                continue
            sh = m["mep_shells"]
            lines.append(f"| {m['label']} | {m['mep_iso']['mae']:.2f} | " +
                         " | ".join(f"{sh[s]['mae']:.2f}" for s in ("1.4", "1.6", "1.8", "2.0")) +
                         f" | {m['moments']['dipole_magnitude_mae_debye']:.3f} | "
                         f"{m['moments']['quadrupole_component_mae_debye_angstrom']:.3f} | {m['n_failed']} |")
        lines.append("")
        if res.get("halogen_caps"):
            n = next(iter(res["halogen_caps"].values()))["caps"]
            lines += [f"Halogen caps (V_s,max within {CAP_CONE_DEG:.0f}° of the A→X axis beyond X; {n} caps): "
                      "caps with DFT's sign, caps within 5 kcal/mol/e of DFT, MAE of the cap value (kcal/mol/e)", "",
                      "| Method | right sign | within 5 | cap MAE |", "|---|---|---|---|"]
            for name, c in res["halogen_caps"].items():
                if name != "dft":
                    lines.append(f"| {res['methods'][name]['label']} | {c['sign_right']}/{c['caps']} | "
                                 f"{c['within_5']}/{c['caps']} | {c['mae']:.2f} |")
            lines.append("")
    cal = [(res["label"], name, u) for res in doc["sets"].values() for name, u in (res.get("uncertainty") or {}).items()]
    if cal:
        lines += ["## Uncertainty map: does the ensemble spread mark the error?", "",
                  "Spearman rank correlation between the spread (std of the ensemble members' MEPs) and the "
                  "|error| of the shipped member on the isodensity points (ev.ensemble_calibration).", "",
                  "| Set | ensemble | points | within a molecule (median) | molecules | mean spread | MAE |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {label} | {name} | {u['spearman_points']:.2f} | {u['spearman_points_within_molecule_median']:.2f} "
                  f"| {u['spearman_molecules']:.2f} | {u['mean_spread']:.2f} | {u['mae']:.2f} |" for label, name, u in cal]
        lines.append("")
    if doc["sigma_hole"]:
        names = [k for k in doc["sigma_hole"][0] if isinstance(doc["sigma_hole"][0][k], dict)]
        lines += ["## σ-holes: V_s,max at the halogen cap (kcal/mol/e) and angle of the maximum on the "
                  "halogen's surface from the C→X axis", "",
                  "| Molecule | X | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
        for row in doc["sigma_hole"]:
            lines.append(f"| {row['molecule']} | {row['halogen']} | " + " | ".join(
                f"{row[n]['v_cap']:+.1f} ({row[n]['max_angle_deg']:.0f}°)" for n in names) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.evaluate_sets", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT / "data" / "newchem"))
    ap.add_argument("--weights", default=str(ev.DEFAULT_WEIGHTS))
    ap.add_argument("--out", default=str(ROOT / "weights" / "evaluation_beyond_qm9"))
    ap.add_argument("--card", action="append", default=[], metavar="STEM",
                    help="instead: write the per-set results of one study's weights STEM.pt into STEM.json "
                         "(test_sets), e.g. weights/studies/seed1-mep; repeatable")
    a = ap.parse_args(argv)
    if a.card:
        for stem in (s.removesuffix(".json") for s in a.card):
            write_card_set_metrics(stem, a.data)
            print(f"wrote the per-set results into {stem}.json")
        return 0
    doc = evaluate_sets(a.data, a.weights)
    Path(a.out + ".json").write_text(json.dumps(doc, indent=1, default=float) + "\n")
    Path(a.out + ".md").write_text(markdown(doc))
    print(f"wrote {a.out}.json and .md")
    for path in write_shipped_card_sets(doc, a.weights):
        print(f"wrote the per-set results into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
