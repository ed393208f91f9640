"""Learning curve of the MEP-trained model: where do new DFT labels with surface MEPs pay most?

    python -m train.learning_curve configs          # train/configs/curve/*.yaml from train/configs/mep-v1.yaml
    python -m train.learning_curve build [NAME ...]  # train.build each point (skips finished ones)
    python -m train.studies                          # renders the curve into weights/studies.md

Every point is the ``mep-v1`` config (the mep recipe before the newest label shards) with a share of the MEP labels kept (``mep.keep``: a seeded
random share per chemistry group of :func:`train.dataset.chemistry_groups`; μ and Θ of every
molecule stay) and a shorter final stage (``CURVE_EPOCHS``), so all points are comparable with
each other (the ``all-1.0`` point is the reference at that length, not the shipped file):

- ``all-<share>``: every group thinned to the same share (0, 0.25, 0.5, 1) — the global curve;
- ``without-<group>``: one group's MEP labels removed, the others complete — the marginal value
  of that chemistry's labels.

Each card (weights/studies/curve-<name>.json, written by train.build) gets the QM9 test metrics
(train.evaluate) and, under ``test_sets``, the MEP MAE and halogen-cap results on every
beyond-QM9 test set (train.evaluate_sets.model_set_metrics).
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import yaml

from mepviz.ml import cards
from train import dataset as ds

ROOT = Path(__file__).resolve().parents[1]
CURVE_CONFIGS = ROOT / "train" / "configs" / "curve"
STUDIES = ROOT / "weights" / "studies"
#: epochs of every curve point's final stage (the shipped mep config may train longer)
CURVE_EPOCHS = 10
GLOBAL_SHARES = (0.0, 0.25, 0.5, 1.0)


def points() -> dict[str, dict]:
    """name → ``mep.keep`` of every point of the curve."""
    out = {f"all-{share:g}": ({g: share for g in ds.CHEMISTRY_GROUPS} if share < 1 else {})
           for share in GLOBAL_SHARES}
    out.update({f"without-{g}": {g: 0.0} for g in ds.CHEMISTRY_GROUPS})
    return out


def point_config(base: dict, keep: dict) -> dict:
    """The mep config of one point: `keep` shares, final stage shortened to CURVE_EPOCHS."""
    cfg = copy.deepcopy(base)
    cfg["mep"] = {**cfg.get("mep", {}), **({"keep": keep} if keep else {})}
    cfg["stages"][-1] = {**cfg["stages"][-1], "epochs": CURVE_EPOCHS,
                         "patience": min(cfg["stages"][-1].get("patience", CURVE_EPOCHS), CURVE_EPOCHS)}
    return cfg


def write_configs(base_path: Path = ROOT / "train" / "configs" / "mep-v1.yaml") -> list[Path]:
    """train/configs/curve/<point>.yaml from the mep recipe the curve was measured on (mep-v1: the
    mep config before the newest label shards; the curve decided which labels to add next)."""
    base = yaml.safe_load(base_path.read_text())
    CURVE_CONFIGS.mkdir(parents=True, exist_ok=True)
    written = []
    for name, keep in points().items():
        path = CURVE_CONFIGS / f"{name}.yaml"
        head = (f"# Learning-curve point {name!r}, written by `python -m train.learning_curve configs` from "
                f"{base_path.relative_to(ROOT)}\n# (do not edit): MEP labels kept per chemistry group {keep or 'all'}; "
                f"final stage {CURVE_EPOCHS} epochs.\n")
        path.write_text(head + yaml.safe_dump(point_config(base, keep), sort_keys=False))
        written.append(path)
    return written


def stem(name: str) -> Path:
    return STUDIES / f"curve-{name}"


def build_point(name: str, log=print) -> None:
    """train.build one point into weights/studies/curve-<name> (QM9 test metrics in its card),
    then the beyond-QM9 test-set metrics."""
    from train import build, evaluate_sets
    out = stem(name)
    if not (cards.card_path(out).exists() and "test_sets" in cards.read_card(out)):
        if not cards.stem_has_weights(out):
            build.main([str(CURVE_CONFIGS / f"{name}.yaml"), "--out", str(out),
                        "--runs-dir", str(ROOT / "runs" / f"curve-{name}"), "--resume"])
        evaluate_sets.write_card_set_metrics(out)
    log(f"[curve] {name}: done")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.learning_curve", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("configs")
    b = sub.add_parser("build")
    b.add_argument("names", nargs="*", help="points to build (default: all, in order)")
    a = ap.parse_args(argv)
    if a.cmd == "configs":
        for p in write_configs():
            print(f"wrote {p.relative_to(ROOT)}")
        return 0
    for name in a.names or list(points()):
        if name not in points():
            raise SystemExit(f"error: unknown curve point {name!r}; known: {', '.join(points())}")
        build_point(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
