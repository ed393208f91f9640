"""Rebuild checks and ablations of the shipped models, written by code from committed cards.

    python -m train.studies                  # weights/studies/*.json → weights/studies.md

Every study is a model card written by :mod:`train.build` (with its test metrics from
:mod:`train.evaluate`), committed with its weights in ``weights/studies/``:

- ``rebuild-<config>.json``: a from-scratch rebuild of a shipped weight file, made in a clean
  checkout with ``python -m train.build <config> --out weights/studies/rebuild-<config>``. It is
  compared with the card of the file it rebuilds (``weights/<config>`` for a shipped variant, or the
  committed base weights another config starts from), against the training noise in the cards.
- ``ablation-<config>.json``: a config that changes one thing about a shipped model, built with
  ``python -m train.build <config> --out weights/studies/ablation-<config>``; compared with the base
  weights it started from (its card's ``build.base``). ``ablation-mep-nopen`` (the mep-v1 config
  without its charge-penetration head) is also compared with ``mep-v1`` on every test set.
- ``mep-v1.json``, ``study-mep-staged.json``, ``mep-v2.json``, ``mep-v3.json``: the mep recipe on
  fewer labels (the first shipped shards; those plus the first staged labels; the second and third
  shipped shards), compared with ``weights/mep`` on every test set; ``mep-v3-seed<N>.json``: the
  third recipe's seed builds; ``study-mep-longer.json``: the mep-v2 weights trained further on the
  same data; ``study-mep-conformers*.json``: the SPICE thermal conformations with more staged labels.
- ``curve-<point>.json``: the learning curve of the mep model (:mod:`train.learning_curve`):
  test-set MEP errors against the MEP-labelled training molecules per chemistry group, the
  marginal value of each group's labels and a projection of the global curve.

Beyond-QM9 test-set metrics come from each card's ``test_sets`` block
(``python -m train.evaluate_sets --card weights/studies/<stem>``).

Metrics: DFT validation split (μ component MAE, |μ| MAE, Θ component MAE; D and D·Å) and the QM9
test split (μ vector, |μ| and Θ MAE; isodensity and 1.4 × Bondi shell MEP MAE in kcal/mol/e).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

from mepviz.core import registry
from mepviz.ml import cards
from train import learning_curve

ROOT = Path(__file__).resolve().parents[1]
STUDIES = ROOT / "weights" / "studies"
OUT = ROOT / "weights" / "studies.md"
CONFIGS = ROOT / "train" / "configs"

#: (label, where in a card, decimals): validation metrics, then test metrics
VALIDATION = (("val μ comp. MAE (D)", "mu_mae_D", 3), ("val \\|μ\\| MAE (D)", "mu_norm_mae_D", 3),
              ("val Θ MAE (D·Å)", "theta_mae_DA", 3))
TEST = (("test μ vector MAE (D)", ("dipole_vector_mae_debye",), 3),
        ("test \\|μ\\| MAE (D)", ("dipole_magnitude_mae_debye",), 3),
        ("test Θ MAE (D·Å)", ("quadrupole_component_mae_debye_angstrom",), 3),
        ("test MEP MAE iso", ("mep_isodensity", "mae"), 2),
        ("test MEP MAE 1.4", ("mep_shells", "1.4", "mae"), 2))


def _read(path: Path) -> dict:
    return cards.read_card(path)


def shipped_stem(config: str) -> Path:
    """The committed weights a config builds: weights/<config> for a shipped variant, else the
    base weights (``init.weights``) of the config that starts from it."""
    if config in registry.MODELS:
        return ROOT / "weights" / config
    for path in sorted(CONFIGS.glob("*.yaml")):
        init = (yaml.safe_load(path.read_text()) or {}).get("init") or {}
        if init.get("config") == config:
            return ROOT / init["weights"]
    raise SystemExit(f"error: no shipped weights are built by config {config!r}")


def validation_metrics(card: dict) -> dict:
    return (card.get("validation_metrics") or {}).get("best_dft_val") or {}


def test_value(card: dict, keys: tuple) -> float | None:
    node = card.get("test_metrics") or {}
    for k in keys:
        node = node.get(k) if isinstance(node, dict) else None
    return node


def test_rows(card: dict) -> list[tuple[str, float | None, int]]:
    """[(label, value, decimals)] of one card's test metrics."""
    return [(label, test_value(card, keys), d) for label, keys, d in TEST]


def metric_rows(card: dict) -> list[tuple[str, float | None, int]]:
    """[(label, value, decimals)] of one card: validation metrics, then test metrics."""
    val = validation_metrics(card)
    return [(label, val.get(key), d) for label, key, d in VALIDATION] + test_rows(card)


def _fmt(x, d: int) -> str:
    return "—" if x is None else f"{x:.{d}f}"


def _delta(a, b, d: int) -> str:
    return "—" if a is None or b is None else f"{a - b:+.{d}f}"


def comparison(study: dict, reference: dict) -> list[dict]:
    """Per metric: study value, reference value and their difference (study − reference)."""
    return [{"metric": label, "study": s, "reference": r, "difference": None if s is None or r is None else s - r,
             "decimals": d}
            for (label, s, d), (_, r, _) in zip(metric_rows(study), metric_rows(reference))]


def rebuild_study(path: Path) -> dict:
    card = _read(path)
    config = Path(card["build"]["config"]).stem
    ref_stem = shipped_stem(config)
    ref = _read(ref_stem.with_suffix(".json"))
    from train.build import load_config
    return {"kind": "rebuild", "file": path.name, "config": config,
            "config_unchanged": card["build"]["config_sha256"] == load_config(config)["_sha256"],
            "reference": str(ref_stem.relative_to(ROOT)) + ".pt",
            "reference_date": (ref.get("training") or {}).get("date"),
            "date": (card.get("training") or {}).get("date"),
            "time_s": (card.get("build") or {}).get("total_time_s"),
            "rows": comparison(card, ref)}


def seed_study(path: Path) -> dict:
    """A build of a shipped config with another seed (``python -m train.build <config> --seed N``)."""
    card = _read(path)
    config = Path(card["build"]["config"]).stem
    return {"kind": "seed", "file": path.name, "config": config, "seed": card["build"]["seeds"]["torch_and_numpy"],
            "reference": str(shipped_stem(config).relative_to(ROOT)) + ".pt",
            "time_s": (card.get("build") or {}).get("total_time_s"),
            "test": test_rows(card)}


def seed_spread(items: list[dict], config: str) -> dict | None:
    """Test metrics of the shipped file and every other-seed build of `config`, with their
    standard deviation (ddof=1) per metric; None without a seed study."""
    seeds = [s for s in items if s["kind"] == "seed" and s["config"] == config]
    if not seeds:
        return None
    ref_card = _read(shipped_stem(config).with_suffix(".json"))
    ref = test_rows(ref_card)
    seed0 = ((ref_card.get("build") or {}).get("seeds") or {}).get("torch_and_numpy")
    runs = [(f"{seed0} (shipped file)" if seed0 is not None else "shipped file (seed not recorded)", ref)] + \
        [(str(s["seed"]), s["test"]) for s in sorted(seeds, key=lambda s: s["seed"])]
    std = {}
    for k, (label, _, d) in enumerate(TEST):
        vals = np.array([r[k][1] for _, r in runs], dtype=float)
        std[label] = float(vals.std(ddof=1))
    return {"config": config, "reference": seeds[0]["reference"], "runs": runs, "std": std}


def ablation_study(path: Path) -> dict:
    card = _read(path)
    base = card["build"]["base"]
    ref = _read((ROOT / base["weights"]).with_suffix(".json"))
    current = cards.file_sha256(ROOT / base["weights"]) if (ROOT / base["weights"]).exists() else None
    return {"kind": "ablation", "file": path.name, "config": Path(card["build"]["config"]).stem,
            "reference": base["weights"], "base_unchanged": current == base["weights_sha256"],
            "change": _describe(card),
            "time_s": (card.get("build") or {}).get("total_time_s"),
            "rows": comparison(card, ref)}


def _describe(card: dict) -> str:
    """What an ablation's stages change, in words, from its config values."""
    cfg = card["build"]["config_values"]
    parts = []
    for s in cfg["stages"]:
        mag = s.get("qm9_magnitude", cfg.get("qm9_magnitude")) or {}
        what = f"{s['epochs']} {s['level'].upper()} epoch(s) at lr {s['lr']:g}"
        if mag.get("molecules"):
            n = (card.get("data") or {}).get("qm9_magnitude", {}).get("molecules", mag["molecules"])
            what += f" with QM9's own |μ| of {n} molecules (weight {mag.get('weight', 1.0):g})"
        else:
            what += " on the DFT targets only (no QM9 |μ|)"
        parts.append(what)
    return "; ".join(parts)


def studies(folder: Path = STUDIES) -> list[dict]:
    """Every study in `folder` by kind (seed builds first, then rebuilds with the seed spread of
    their config, then ablations)."""
    paths = sorted(Path(folder).glob("*.json"))
    out = [seed_study(p) for p in paths if p.name.startswith("seed")]
    for p in paths:
        if p.name.startswith("rebuild-"):
            r = rebuild_study(p)
            r["spread"] = seed_spread(out, r["config"])
            out.append(r)
    out += [ablation_study(p) for p in paths if p.name.startswith("ablation-")]
    return out


def _table(rows: list[dict], extra: dict | None = None) -> list[str]:
    lines = ["| Metric | this study | reference | difference |" + (" seed-to-seed std |" if extra else ""),
             "|---|---|---|---|" + ("---|" if extra else "")]
    for r in rows:
        d = r["decimals"]
        line = f"| {r['metric']} | {_fmt(r['study'], d)} | {_fmt(r['reference'], d)} | {_delta(r['study'], r['reference'], d)} |"
        if extra is not None:
            line += f" {_fmt(extra.get(r['metric']), d + 1)} |"
        lines.append(line)
    return lines


def markdown(items: list[dict]) -> str:
    lines = ["# Rebuild checks and ablations", "",
             "Written by `python -m train.studies` from the model cards in `weights/studies/` (each written by "
             "`python -m train.build`, test metrics by `train.evaluate` on the 100-molecule QM9 test split). "
             "Validation = the DFT validation split of the build; difference = study − reference."]
    ablations = [s for s in items if s["kind"] == "ablation"]
    if ablations:
        cols = [r["metric"] for r in ablations[0]["rows"] if r["metric"].startswith("test")]
        lines += ["", "## Ablations at a glance (QM9 test split)", "",
                  "| Model | " + " | ".join(c[len("test "):] for c in cols) + " |", "|---|" + "---|" * len(cols)]
        refs = {s["reference"]: s for s in ablations}
        for ref, s in refs.items():
            rows = {r["metric"]: r for r in s["rows"]}
            lines.append(f"| `{ref}` (reference) | " + " | ".join(_fmt(rows[c]["reference"], rows[c]["decimals"])
                                                                   for c in cols) + " |")
        for s in ablations:
            rows = {r["metric"]: r for r in s["rows"]}
            lines.append(f"| `{s['config']}` | " + " | ".join(_fmt(rows[c]["study"], rows[c]["decimals"])
                                                              for c in cols) + " |")
    for config in sorted({s["config"] for s in items if s["kind"] == "seed"}):
        sp = seed_spread(items, config)
        cols = [label for label, _, _ in TEST]
        lines += ["", f"## Seed-to-seed spread of `{sp['reference']}` (config `{config}`)", "",
                  f"`python -m train.build {config} --seed N`: the same data and stages, another seed for the "
                  "initialisation, batch order and validation split. Test-split metrics:", "",
                  "| seed | " + " | ".join(c[len("test "):] for c in cols) + " |", "|---|" + "---|" * len(cols)]
        for seed, row in sp["runs"]:
            lines.append(f"| {seed} | " + " | ".join(_fmt(v, d) for _, v, d in row) + " |")
        lines.append("| std | " + " | ".join(_fmt(sp["std"][c], d + 1) for c, (_, _, d) in zip(cols, TEST)) + " |")
    for s in items:
        if s["kind"] == "seed":
            continue
        if s["kind"] == "rebuild":
            spread = (s["spread"] or {}).get("std")
            lines += ["", f"## Rebuild of `{s['reference']}` from scratch (config `{s['config']}`)", "",
                      f"`{s['file']}`: `python -m train.build {s['config']}` in a clean checkout "
                      f"({_fmt((s['time_s'] or 0) / 60, 0)} CPU minutes, one thread, built {s['date']}); "
                      f"reference trained {s['reference_date']}. "
                      + ("Last column: seed-to-seed standard deviation of the test metrics (table above)." if spread else
                         "No seed spread measured for this config."), ""]
            lines += _table(s["rows"], spread)
        else:
            lines += ["", f"## Ablation `{s['config']}` (from `{s['reference']}`)", "",
                      f"`{s['file']}`: {s['change']} ({_fmt((s['time_s'] or 0) / 60, 0)} CPU minutes). "
                      + ("" if s["base_unchanged"] else
                         f"**`{s['reference']}` has been retrained since: the reference column is its current card.**"), ""]
            lines += _table(s["rows"])
    return "\n".join(lines) + "\n"


#: beyond-QM9 test sets in table order (keys of a card's ``test_sets``)
SETS = (("drugs", "drugs"), ("spice", "SPICE P/S/Cl/Br/I"), ("ions", "ions"), ("sigma_hole", "σ-hole set"))


def set_columns(card: dict) -> list[tuple[str, float | None]]:
    """(label, MEP iso MAE) for the QM9 test split and every beyond-QM9 set of a card."""
    sets = card.get("test_sets") or {}
    return [("QM9", test_value(card, ("mep_isodensity", "mae")))] + \
        [(label, (sets.get(key) or {}).get("mep_iso_mae")) for key, label in SETS]


def caps(card: dict) -> str:
    """'right/all' halogen caps over the beyond-QM9 sets of a card (right = DFT's sign)."""
    rows = [c for c in ((card.get("test_sets") or {}).get(k, {}).get("caps") for k, _ in SETS) if c]
    return f"{sum(c['sign_right'] for c in rows)}/{sum(c['caps'] for c in rows)}" if rows else "—"


def _mep_table(title: str, intro: str, runs: list[tuple[str, dict]]) -> list[str]:
    """One table of mep-family builds: validation MEP, every test set, halogen caps."""
    head = ["val MEP iso", "val MEP shells"] + [f"test {label} iso" for label, _ in set_columns(runs[0][1])]
    lines = ["", f"## {title}", "", intro, "",
             "| Model | " + " | ".join(head) + " | halogen caps right |", "|---|" + "---|" * (len(head) + 1)]
    for label, card in runs:
        val = validation_metrics(card)
        vals = [val.get("mep_iso_mae"), val.get("mep_shell_mae")] + [v for _, v in set_columns(card)]
        lines.append(f"| {label} | " + " | ".join(_fmt(v, 2) for v in vals) + f" | {caps(card)} |")
    return lines


def added_labels(config: str, base: str = "mep") -> dict[str, int]:
    """Chemistry group → training molecules with surface MEPs that `config` adds to `base`'s data
    (unique molecules after train.dataset.load_files' de-duplication; validation split included)."""
    from train import dataset as ds
    from train.build import load_config
    files = {name: load_config(name)["data"]["dft"] for name in (config, base)}
    extra = [f for f in files[config] if f not in files[base]]
    if not extra:
        return {}
    ms = ds.load_files([str(ROOT / f) for f in extra])
    known = set(ds.load_files([str(ROOT / f) for f in files[base]]).qm9_index.tolist())
    new = np.array([q not in known for q in ms.qm9_index.tolist()]) & ms.has_mep()
    groups = ds.chemistry_groups(ms)
    return {g: int((new & (groups == g)).sum()) for g in ds.CHEMISTRY_GROUPS}


def penetration_section(folder: Path = STUDIES) -> list[str]:
    """The mep recipe with and without its charge-penetration head (the same data: mep-v1),
    on validation and every test set."""
    nopen, with_pen = Path(folder) / "ablation-mep-nopen.json", Path(folder) / "mep-v1.json"
    if not nopen.exists() or not with_pen.exists():
        return []
    return _mep_table(
        "Charge penetration: the mep model with and without its Slater valence clouds",
        "The same config, data, seed and stages (`train/configs/mep-v1.yaml` vs "
        "`train/configs/ablation-mep-nopen.yaml`); MEP MAE in kcal/mol/e on the DFT validation split "
        "(isodensity and shell points of its MEP-labelled molecules) and on every test set (isodensity "
        "points). The term is kept only because it lowers the isodensity error on held-out molecules.",
        [("`mep-v1` (with the term)", _read(with_pen)),
         ("`ablation-mep-nopen` (point multipoles only)", _read(nopen))])


def labels_section(folder: Path = STUDIES) -> list[str]:
    """The mep recipe as the labels grew: mep-v1 (first shipped), study-mep-staged (+ the first
    staged labels), mep-v2 (second shipped), mep-v3 (third shipped: + the sp³ halide scaffolds and
    the labels packed with them), the shipped mep (+ the SPICE thermal conformations)."""
    runs = [("`mep-v1` (first shipped recipe)", "mep-v1", Path(folder) / "mep-v1.json"),
            ("`study-mep-staged`", "study-mep-staged", Path(folder) / "study-mep-staged.json"),
            ("`mep-v2` (second shipped recipe)", "mep-v2", Path(folder) / "mep-v2.json"),
            ("`mep-v3` (third shipped recipe)", "mep-v3", Path(folder) / "mep-v3.json"),
            ("`weights/mep.pt` (shipped)", "mep", ROOT / "weights" / "mep.json")]
    runs = [(label, config, _read(path)) for label, config, path in runs if path.exists()]
    if len(runs) < 2 or runs[0][1] != "mep-v1" or not all(c.get("test_sets") for _, _, c in runs):
        return []
    added = "; ".join(
        f"{config} adds " + ", ".join(f"{n} {g}" for g, n in added_labels(config, "mep-v1").items())
        for _, config, _ in runs[1:])
    return _mep_table(
        "More labels: the mep recipe as the DFT labels with surface MEPs grew",
        "The same seed, stages and sampling; only the beyond-QM9 shards differ (`train/configs/mep-v1.yaml`, "
        "`study-mep-staged.yaml`, `mep-v2.yaml`, `mep-v3.yaml`, `mep.yaml`; rows already in an earlier file are dropped). Molecules with "
        f"surface MEPs beyond mep-v1's (before the validation split): {added}. MEP MAE in kcal/mol/e; the "
        "validation columns are each build's own split, so they differ in molecules.",
        [(label, card) for label, _, card in runs])


def longer_section(folder: Path = STUDIES) -> list[str]:
    """The mep-v2 weights trained further on the same data (study-mep-longer): does more
    training close the gap to the floor of the mep form (weights/evaluation*.md)?"""
    longer, base = Path(folder) / "study-mep-longer.json", Path(folder) / "mep-v2.json"
    if not longer.exists() or not base.exists() or not _read(longer).get("test_sets"):
        return []
    card = _read(longer)
    stage = card["build"]["config_values"]["stages"][-1]
    return _mep_table(
        "More training: the mep weights trained further on the same data",
        f"`train/configs/study-mep-longer.yaml`: `weights/studies/mep-v2.pt` (the mep recipe as shipped "
        f"second) trained {stage['epochs']} epochs more (a second cosine cycle from lr {stage['lr']:g}), "
        "same data, seed and sampling. MEP MAE in kcal/mol/e.",
        [("`mep-v2`", _read(base)), ("`study-mep-longer`", card)])


def mep_seed_cards(folder: Path = STUDIES) -> list[tuple[int, Path]]:
    """(seed, card path) of the shipped mep file (seed 0) and its seed builds (seedN-mep.json)."""
    return [(0, ROOT / "weights" / "mep.json")] + \
        [(int(p.stem[len("seed"):].split("-")[0]), p) for p in sorted(Path(folder).glob("seed*-mep.json"))]


def mep_v3_seed_cards(folder: Path = STUDIES) -> list[tuple[int, Path]]:
    """(seed, card path) of the recipe shipped third (mep-v3.json) and its seed builds."""
    return [(0, Path(folder) / "mep-v3.json")] + [(k, Path(folder) / f"mep-v3-seed{k}.json") for k in (1, 2)]


def conformers_section(folder: Path = STUDIES) -> list[str]:
    """The mep recipe shipped third (mep-v3) with the SPICE thermal conformations (the shipped
    mep) and with them plus two more staged shards (study-mep-conformers), three seeds each: MEP
    MAE on every set, then the halogen caps per set."""
    base = [(f"`mep-v3` seed {k}", p) for k, p in mep_v3_seed_cards(folder)]
    study = [("`study-mep-conformers` seed 0", Path(folder) / "study-mep-conformers.json")] + \
        [(f"`study-mep-conformers` seed {k}", Path(folder) / f"study-mep-conformers-seed{k}.json") for k in (1, 2)] + \
        [(f"`study-mep-conformers-{r}` seed 0", Path(folder) / f"study-mep-conformers-{r}.json") for r in ("r1", "r0")]
    shipped = [(f"`mep` seed {k}" + (" (shipped)" if k == 0 else ""), p) for k, p in mep_seed_cards(folder)]
    runs = [(label, _read(p)) for label, p in base + study + shipped if p.exists()]
    if len(runs) < 2 or not all(c.get("test_sets") for _, c in runs) \
            or not any(label.startswith("`study") for label, _ in runs):
        return []
    added = lambda name: ", ".join(f"{n} {g}" for g, n in added_labels(name, "mep-v3").items() if n)  # noqa: E731
    lines = _mep_table(
        "Thermal conformations: the mep recipe plus SPICE conformations of the sp³ halides",
        "`train/configs/mep-v3.yaml` is the recipe as shipped third; the shipped `mep.yaml` is it plus "
        "`data/newchem/train_spice_conformers.npz` (SPICE thermal conformations 1–24 of the 13 SPICE training "
        f"monomers with an sp³ C–Cl/Br/I bond; {added('mep')}), nothing else changed. "
        "`study-mep-conformers.yaml` adds to those the two shards staged with them in `data/newchem_staged/`, "
        f"`halogen_3` and `ions_3` ({added('study-mep-conformers')} beyond mep-v3); `-r1` counts the "
        "conformations once per epoch instead of twice, `-r0` leaves them out (the other two staged files "
        "stay). Seeds 1 and 2 of each recipe by `--seed N`. MEP MAE in kcal/mol/e.",
        runs)
    return lines + caps_table(runs)


def caps_table(runs: list[tuple[str, dict]]) -> list[str]:
    """Halogen caps per test set of each (label, card): right sign / within 5 kcal/mol/e of DFT."""
    lines = ["", "Halogen caps per set (right sign / within 5 kcal/mol/e of DFT, of all caps):", "",
             "| Model | " + " | ".join(label for _, label in SETS) + " |", "|---|" + "---|" * len(SETS)]
    for label, card in runs:
        cells = []
        for key, _ in SETS:
            c = (card["test_sets"].get(key) or {}).get("caps")
            cells.append(f"{c['sign_right']}/{c['caps']}, {c['within_5']}/{c['caps']}" if c else "—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def thermal_section(folder: Path = STUDIES) -> list[str]:
    """The shipped mep recipe with and without MMFF94 thermal snapshots of its sp³ halide
    scaffolds (study-mep-thermal), each seed it was built with: MEP MAE on every set, then caps."""
    shipped = [(f"`mep` seed {k}" + (" (shipped)" if k == 0 else ""), p) for k, p in mep_seed_cards(folder)]
    study = [("`study-mep-thermal` seed 0", Path(folder) / "study-mep-thermal.json")] + \
        [(f"`study-mep-thermal` seed {k}", Path(folder) / f"study-mep-thermal-seed{k}.json") for k in (1, 2)]
    runs = [(label, _read(p)) for label, p in shipped + study if p.exists()]
    if not all(c.get("test_sets") for _, c in runs) or not any(label.startswith("`study") for label, _ in runs):
        return []
    added = ", ".join(f"{n} {g}" for g, n in added_labels("study-mep-thermal", "mep").items() if n)
    lines = _mep_table(
        "Thermal snapshots: the mep recipe plus MMFF94 thermal geometries of its sp³ halide scaffolds",
        "`train/configs/study-mep-thermal.yaml` = `mep.yaml` (same seed, stages and sampling) plus "
        "`data/newchem_staged/halide_thermal.npz`: snapshots of a 500 K MMFF94 Langevin trajectory "
        "(`train/thermal.py`) of each `train_halides` scaffold, DFT-labelled like every label; molecules with "
        f"surface MEPs beyond mep's: {added}. Seeds 1 and 2 by `--seed N`. MEP MAE in kcal/mol/e.",
        runs)
    return lines + caps_table(runs)


def curve_points(folder: Path = STUDIES) -> dict[str, dict]:
    """name → card of every learning-curve point that has its test-set metrics."""
    out = {}
    for path in Path(folder).glob("curve-*.json"):
        card = _read(path)
        if card.get("test_sets"):
            out[path.stem[len("curve-"):]] = card
    # the global points by share (all-0, all-0.25, …, all-1), then the without-<group> points
    order = {name: k for k, name in enumerate(learning_curve.points())}
    return dict(sorted(out.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


def curve_projection(points: dict[str, dict]) -> dict[str, dict] | None:
    """Per test set, the fit MAE(N) = a + b / √N over the global points (every group thinned alike,
    N = MEP-labelled training molecules) and its value at 2N and 4N of the full set; None with
    fewer than three global points."""
    glob_pts = sorted(((c["data"]["mep_labels"]["training_molecules"], c) for n, c in points.items()
                       if n.startswith("all-") and c["data"]["mep_labels"]["training_molecules"] > 0),
                      key=lambda x: x[0])
    if len(glob_pts) < 3:
        return None
    n = np.array([p[0] for p in glob_pts], float)
    out = {}
    for k, (label, _) in enumerate(set_columns(glob_pts[0][1])):
        y = np.array([set_columns(c)[k][1] for _, c in glob_pts], float)
        a, b = np.linalg.lstsq(np.c_[np.ones_like(n), 1 / np.sqrt(n)], y, rcond=None)[0]
        out[label] = {"now": float(y[-1]), "fit_now": float(a + b / np.sqrt(n[-1])),
                      "x2": float(a + b / np.sqrt(2 * n[-1])), "x4": float(a + b / np.sqrt(4 * n[-1])),
                      "asymptote": float(a)}
    return {"n": int(n[-1]), "sets": out}


def curve_section(folder: Path = STUDIES) -> list[str]:
    """The learning-curve tables: every point, each group's marginal value, the projection."""
    from train.dataset import CHEMISTRY_GROUPS
    from train.learning_curve import CURVE_EPOCHS
    points = curve_points(folder)
    if not points:
        return []
    first = next(iter(points.values()))
    sets = [label for label, _ in set_columns(first)]
    lines = ["", "## Learning curve of the mep model: where do new MEP labels pay most?", "",
             f"`python -m train.learning_curve build` (configs `train/configs/curve/`): the mep-v1 config with a share of "
             f"the MEP-labelled training molecules kept per chemistry group (μ and Θ of every molecule stay), final "
             f"stage {CURVE_EPOCHS} epochs for every point, so the points compare with each other (`all-1` is the "
             "reference at that length, not the shipped file). MEP MAE on the isodensity points of each test set, "
             "kcal/mol/e.", "",
             "| Point | " + " | ".join(f"MEP labels {g}" for g in CHEMISTRY_GROUPS) + " | " +
             " | ".join(sets) + " | caps right |", "|---|" + "---|" * (len(CHEMISTRY_GROUPS) + len(sets) + 1)]
    for name, card in points.items():
        by = card["data"]["mep_labels"]["by_chemistry"]
        lines.append(f"| `{name}` | " + " | ".join(str(by.get(g, 0)) for g in CHEMISTRY_GROUPS) + " | " +
                     " | ".join(_fmt(v, 2) for _, v in set_columns(card)) + f" | {caps(card)} |")
    ref = points.get("all-1")
    if ref:
        lines += ["", "Marginal value of each group's labels: (MAE without the group − MAE with all) per 100 "
                  "labels of the group, kcal/mol/e — the larger, the more a new label of that chemistry "
                  "pays on that test set.", "",
                  "| Group (labels) | " + " | ".join(sets) + " |", "|---|" + "---|" * len(sets)]
        ref_vals = [v for _, v in set_columns(ref)]
        for g in CHEMISTRY_GROUPS:
            card = points.get(f"without-{g}")
            n_g = ref["data"]["mep_labels"]["by_chemistry"].get(g, 0)
            if not card or not n_g:
                continue
            vals = [v for _, v in set_columns(card)]
            lines.append(f"| {g} ({n_g}) | " + " | ".join(
                "—" if a is None or b is None else f"{100 * (a - b) / n_g:+.2f}" for a, b in zip(vals, ref_vals)) + " |")
    proj = curve_projection(points)
    if proj:
        lines += ["", f"Projection of the global curve (fit MAE = a + b/√N over the `all-*` points with labels; "
                  f"N = {proj['n']} MEP-labelled molecules now):", "",
                  "| Test set | MAE now | fit at N | at 2N | at 4N | a (N → ∞) |", "|---|---|---|---|---|---|"]
        for label, p in proj["sets"].items():
            lines.append(f"| {label} | {p['now']:.2f} | {p['fit_now']:.2f} | {p['x2']:.2f} | {p['x4']:.2f} | "
                         f"{p['asymptote']:.2f} |")
    return lines


def mep_seed_section(folder: Path = STUDIES) -> list[str]:
    """Seed spread of the mep model on every test set (the uncertainty ensemble's members)."""
    members = [("0 (shipped file)" if k == 0 else str(k), p) for k, p in mep_seed_cards(folder)]
    cards_ = [(label, _read(p)) for label, p in members if p.exists()]
    if len(cards_) < 2 or not all(c.get("test_sets") for _, c in cards_):
        return []
    sets = [label for label, _ in set_columns(cards_[0][1])]
    lines = ["", "## Seed-to-seed spread of `weights/mep.pt` on every test set", "",
             "`python -m train.build mep --seed N --out weights/studies/seedN-mep` (these builds are also the "
             "members of the app's uncertainty ensemble). MEP MAE on the isodensity points, kcal/mol/e:", "",
             "| seed | " + " | ".join(sets) + " | caps right |", "|---|" + "---|" * (len(sets) + 1)]
    table = []
    for label, card in cards_:
        vals = [v for _, v in set_columns(card)]
        table.append(vals)
        lines.append(f"| {label} | " + " | ".join(_fmt(v, 2) for v in vals) + f" | {caps(card)} |")
    arr = np.array([[np.nan if v is None else v for v in row] for row in table], float)
    lines.append("| std | " + " | ".join(_fmt(float(x), 3) for x in np.nanstd(arr, axis=0, ddof=1)) + " | |")
    return lines


def page(items: list[dict], folder: Path = STUDIES) -> str:
    """The whole of weights/studies.md: the rebuild/seed/ablation tables, then the mep model's
    penetration ablation, label and training-length studies, seed spread on every test set and
    learning curve."""
    extra = (penetration_section(folder) + labels_section(folder) + longer_section(folder)
             + conformers_section(folder) + thermal_section(folder) + mep_seed_section(folder) + curve_section(folder))
    return markdown(items) + ("\n".join(extra) + "\n" if extra else "")


def card_seed_spread(spread: dict) -> dict:
    """The ``seed_spread`` block written into a shipped card: the training noise of its test
    metrics as measured by rebuilding with other seeds."""
    return {"description": "standard deviation (ddof=1) of the QM9 test-split metrics over builds of the same "
                           "config with different seeds (python -m train.studies; weights/studies.md)",
            "seeds": [seed for seed, _ in spread["runs"]],
            "std": {"_".join(keys): spread["std"][label] for label, keys, _ in TEST}}


def write_card_spreads(items: list[dict]) -> list[Path]:
    """Write each measured seed spread into the card of the shipped file it belongs to."""
    written = []
    for config in sorted({s["config"] for s in items if s["kind"] == "seed"}):
        path = shipped_stem(config).with_suffix(".json")
        card = _read(path)
        card["seed_spread"] = card_seed_spread(seed_spread(items, config))
        cards.write_card(path, card)
        written.append(path)
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.studies", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args(argv)
    items = studies()
    Path(a.out).write_text(page(items))
    print(f"wrote {a.out}")
    for path in write_card_spreads(items):
        print(f"wrote the seed spread into {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
