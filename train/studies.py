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
  weights it started from (its card's ``build.base``).

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
    Path(a.out).write_text(markdown(items))
    print(f"wrote {a.out}")
    for path in write_card_spreads(items):
        print(f"wrote the seed spread into {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
