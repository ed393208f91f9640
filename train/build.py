"""Rebuild a shipped weight file from its committed config, every stage in order.

    OMP_NUM_THREADS=1 python -m train.build dipole          # → weights/dipole.pt + weights/dipole.json
    python -m train.build quadrupole-qm9mu --out runs/q9/quadrupole   # an ablation config
    python -m train.build dipole --resume                    # continue an interrupted build
    python -m train.build quadrupole --rebuild-base          # also rebuild the config's base weights
    python -m train.build quadrupole --seed 1 --out weights/studies/seed1-quadrupole   # seed spread

A config may start from a base: ``init: {config: quadrupole-qm9, weights: train/base_weights/
quadrupole-qm9}`` initialises its first stage from those committed weights, which are the
output of ``python -m train.build quadrupole-qm9 --out train/base_weights/quadrupole-qm9``
(``--rebuild-base`` runs that first, so one command rebuilds everything from xTB pre-training).

Reads ``train/configs/<name>.yaml`` (model size, seed, data files, and the stages from GFN2-xTB
pre-training to DFT fine-tuning with their loss weights) and runs each stage with
:mod:`train.train`, each initialised from the best weights of the one before. Stage runs live
in ``runs/build-<name>/<stage>/`` (checkpoints, log.csv). The card is written by code:
config hash, SHA-256 of every data file, seeds, per-stage epochs/timings/validation metrics,
and a training-noise estimate; then the test metrics of :mod:`train.evaluate` are added.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

from mepviz.core import registry  # noqa: E402
from mepviz.ml import cards  # noqa: E402
from mepviz.ml.model import save_model  # noqa: E402
from train import dataset as ds  # noqa: E402
from train import train as tr  # noqa: E402

CONFIG_DIR = os.path.join(ds.ROOT, "train", "configs")
STAGE_KEYS = {"name", "level", "epochs", "lr", "patience", "min_lr", "xtb", "charge_weight",
              "atomic_dipole_weight", "max_xtb", "max_molecules", "qm9_magnitude"}
TOP_KEYS = {"variant", "loss_protocol", "model", "seed", "val_fraction", "batch_size", "quadrupole_weight",
            "mep", "data", "qm9_magnitude", "stages", "init"}
MEP_KEYS = {"weight", "points", "iso_share", "keep"}
DATA_KEYS = {"dft", "xtb", "dft_repeat"}
#: card fields of the pre-build weights that were typed by hand (the config replaces them)
HAND_WRITTEN = ("recipe", "ablation_test", "training.stage_times_s", "training.total_time_all_stages_s")
#: last N fine-tuning epochs whose validation spread is the card's training-noise estimate
NOISE_EPOCHS = 5


def config_path(name: str) -> str:
    return name if name.endswith((".yaml", ".yml")) else os.path.join(CONFIG_DIR, f"{name}.yaml")


def load_config(name: str) -> dict:
    """The parsed config with its name (file stem) and SHA-256 of the canonical JSON form."""
    path = config_path(name)
    if not os.path.exists(path):
        known = sorted(f[:-5] for f in os.listdir(CONFIG_DIR) if f.endswith(".yaml"))
        raise SystemExit(f"error: no config {path}; known: {', '.join(known)}")
    with open(path) as fh:
        cfg = yaml.safe_load(fh)
    bad = set(cfg) - TOP_KEYS
    bad |= {f"stages.{k}" for s in cfg["stages"] for k in set(s) - STAGE_KEYS}
    bad |= {f"data.{k}" for k in set(cfg["data"]) - DATA_KEYS}
    bad |= {f"mep.{k}" for k in set(cfg.get("mep") or {}) - MEP_KEYS}
    bad |= {f"data.dft_repeat.{f}" for f in set(cfg["data"].get("dft_repeat") or {}) - set(cfg["data"]["dft"])}
    if bad:
        raise SystemExit(f"error: unknown config keys in {path}: {sorted(bad)}")
    for s in cfg["stages"]:
        if s["level"] not in ("xtb", "dft"):
            raise SystemExit(f"error: stage {s['name']}: level must be xtb or dft, not {s['level']!r}")
    return {**cfg, "_name": os.path.splitext(os.path.basename(path))[0], "_path": path,
            "_sha256": config_sha256(cfg)}


def config_sha256(cfg: dict) -> str:
    """SHA-256 of a config's values (keys starting with "_" excluded) in canonical JSON form."""
    canon = json.dumps({k: v for k, v in cfg.items() if not k.startswith("_")}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def with_seed(cfg: dict, seed: int) -> dict:
    """The config with another seed; its hash is that of the changed values (the card's
    ``build.config_sha256`` then names the config actually run)."""
    out = {**cfg, "seed": seed}
    return {**out, "_sha256": config_sha256(out)}


def stage_settings(cfg: dict, stage: dict, runs_dir: str, init_from: str | None) -> tr.Settings:
    """The training settings of one stage, read from the config (no command-line round trip)."""
    m, data = cfg["model"], cfg["data"]
    mag = stage.get("qm9_magnitude", cfg.get("qm9_magnitude")) or {}       # a stage may override it
    mep = cfg.get("mep") or {}
    files = lambda names: [os.path.join(ds.ROOT, f) for f in names]       # noqa: E731
    s = dict(variant=cfg["loss_protocol"], name=stage["name"], runs_dir=runs_dir, seed=cfg["seed"],
             val_fraction=cfg["val_fraction"], batch_size=cfg["batch_size"], features=m["features"],
             layers=m["layers"], rbf=m["rbf"], cutoff=m["cutoff"], max_order=m["max_order"],
             penetration=bool(m.get("penetration", False)), quad_weight=cfg.get("quadrupole_weight", 0.0),
             mep_weight=mep.get("weight", 0.0), mep_points=mep.get("points", 256),
             mep_iso_share=mep.get("iso_share", 0.5), mep_keep=mep.get("keep"), lr=stage["lr"], min_lr=stage.get("min_lr", 1e-5),
             patience=stage.get("patience", 60), quiet=True, data=files(data["dft"]),
             max_molecules=stage.get("max_molecules"), init_from=init_from,
             repeat=[f"{os.path.join(ds.ROOT, f)}={k}" for f, k in (data.get("dft_repeat") or {}).items()])
    if stage["level"] == "xtb":
        s.update(pretrain_xtb=True, pretrain_only=True, pretrain_epochs=stage["epochs"],
                 xtb=files(stage.get("xtb", data["xtb"])), max_xtb=stage.get("max_xtb"),
                 pretrain_charge_weight=stage.get("charge_weight", 0.0),
                 pretrain_atomic_dipole_weight=stage.get("atomic_dipole_weight", 0.0))
    else:
        s["epochs"] = stage["epochs"]
        if mag.get("molecules"):
            s.update(qm9_magnitude=mag["molecules"], magnitude_weight=mag.get("weight", 1.0))
    return tr.Settings(**s)


def _log_rows(run_dir: str) -> list[dict]:
    with open(os.path.join(run_dir, "log.csv")) as fh:
        return list(csv.DictReader(fh))


def training_noise(rows: list[dict], n: int = NOISE_EPOCHS) -> dict:
    """Spread (standard deviation) of the validation metrics over the last `n` epochs of the
    final stage: the size of the epoch-to-epoch fluctuation a rebuild's card metrics can differ by."""
    tail = rows[-n:]
    out = {"method": f"standard deviation of DFT-validation metrics over the last {len(tail)} epochs "
                     "of the final stage (optimisation noise; seed-to-seed spread not measured)",
           "epochs": len(tail)}
    for key, name in (("val_mu_mae_D", "dipole_vector_component_mae_debye"),
                      ("val_mu_norm_mae_D", "dipole_magnitude_mae_debye"),
                      ("val_theta_mae_DA", "quadrupole_component_mae_debye_angstrom")):
        vals = np.array([float(r[key]) for r in tail])
        out[name] = float(vals.std(ddof=1)) if len(vals) > 1 else None
    return out


def base_weights(cfg: dict) -> str | None:
    """Absolute stem of the config's committed base weights (``init.weights``), or None."""
    init = cfg.get("init")
    return os.path.join(ds.ROOT, init["weights"]) if init else None


def run_stages(cfg: dict, runs_dir: str, resume: bool, log=print) -> tuple[tr.Trainer, list[dict]]:
    """Run every stage (skipping finished ones with `resume`); the last stage's Trainer and a
    summary per stage. The first stage starts from the base weights when the config has some."""
    init, summaries, trainer = base_weights(cfg), [], None
    if init and not os.path.exists(init + ".pt"):
        raise SystemExit(f"error: base weights {init}.pt missing: run python -m train.build "
                         f"{cfg['init']['config']} --out {cfg['init']['weights']} (or add --rebuild-base)")
    for k, stage in enumerate(cfg["stages"]):
        torch.set_num_threads(1)
        trainer = tr.Trainer(stage_settings(cfg, stage, runs_dir, init), log=lambda *x: None)
        ck = os.path.join(trainer.dir, "last.pt")
        if resume and os.path.exists(ck):
            trainer.restore(ck)
        elif os.path.exists(os.path.join(trainer.dir, "log.csv")):
            os.remove(os.path.join(trainer.dir, "log.csv"))       # a fresh run of this stage
        t0 = time.time()
        if not trainer.state["done"]:
            log(f"[build] stage {k + 1}/{len(cfg['stages'])} {stage['name']} ({stage['level']}, "
                f"{stage['epochs']} epochs)", flush=True)
            trainer.run()
        rows = _log_rows(trainer.dir)
        hist = trainer.state["history"]
        phase = "pretrain" if stage["level"] == "xtb" else "finetune"
        summaries.append({
            "name": stage["name"], "level": stage["level"], "config": stage,
            "training_molecules": len(trainer.xtb_train) if stage["level"] == "xtb" else len(trainer.train),
            "epochs": hist.get(phase + "_epochs"), "best_epoch": hist.get(phase + "_best_epoch"),
            "time_s": round(trainer.state["elapsed"], 1),
            "throughput_mol_per_s": round(float(np.median(trainer.state.get("throughput", [0]))), 1),
            "best_validation": hist.get(phase + "_best_val"), "best_dft_validation": hist.get("best_dft_val")})
        log(f"[build] {stage['name']}: best epoch {summaries[-1]['best_epoch']}, "
            f"{summaries[-1]['time_s']:.0f} s (this call {time.time() - t0:.0f} s)", flush=True)
        init = os.path.join(trainer.dir, "best.pt")
    return trainer, summaries


def identity(cfg: dict) -> dict:
    """The card fields naming a model, from the registry entry of the config's name."""
    name = cfg["_name"]
    variant = registry.MODELS.get(name)
    fits = variant.fits if variant else None
    order = cfg["model"]["max_order"]
    return {
        "name": name,
        "label": variant.label if variant else name,
        "fits": fits,
        "paper_variant": bool(variant and variant.paper),
        "variant": cfg["loss_protocol"],
        "description": ("PiNet2-style equivariant network (l=0,1,2 PaiNN-like features, e3nn irreps). "
                        + (f"Fitted to {fits}. " if fits else "")
                        + ("Predicts atomic charges, dipoles and traceless quadrupoles." if order >= 2 else
                           "Predicts atomic charges and atomic dipoles (atomic quadrupoles are identically zero).")),
        "pretraining_level_of_theory": ("GFN2-xTB (tblite)" if any(s["level"] == "xtb" for s in cfg["stages"])
                                        else None),
        "recipe_config": {"path": os.path.relpath(cfg["_path"], ds.ROOT), "sha256": cfg["_sha256"]},
    }


def repoint_moved_data(build: dict, cfg: dict) -> None:
    """Point a card's ``build`` block at the config's data paths after data files were moved
    (e.g. a shard back to data/newchem_staged/): only when the config differs from the recorded
    one in those paths alone and every file has the SHA-256 the build recorded; else unchanged."""
    values = {k: v for k, v in cfg.items() if not k.startswith("_")}
    recorded = build.get("config_values") or {}
    if values == recorded or {**values, "data": None} != {**recorded, "data": None}:
        return
    digests = data_digests(cfg)
    if sorted(digests.values()) != sorted((build.get("data_sha256") or {}).values()):
        return
    build.update(config_values=values, config_sha256=cfg["_sha256"], data_sha256=digests)


def relabel(cfg: dict, stem: str, seed: int | None = None) -> None:
    """Rewrite the naming fields (and ``seen_elements``) of an existing card stem.json from the
    registry and config (e.g. after renaming weights/dipole.* to weights/dipole-xtb.*); the
    weights are untouched. `seed`: the ``--seed`` the weights were built with, if any."""
    c = cards.read_card(stem)
    for key in HAND_WRITTEN:
        *parents, leaf = key.split(".")
        node = c
        for p in parents:
            node = node.get(p, {})
        node.pop(leaf, None)
    c.update(identity(cfg))
    c["seen_elements"] = seen_elements(cfg)
    if c.get("build"):                  # built from this config under another name
        repoint_moved_data(c["build"], cfg)
        seeded = f" --seed {seed}" if seed is not None else ""
        c["build"]["command"] = f"python -m train.build {cfg['_name']}{seeded} --out {os.path.relpath(stem, ds.ROOT)}"
        c["build"]["config"] = os.path.relpath(cfg["_path"], ds.ROOT)
    cards.write_card(stem, c)


def xtb_files(cfg: dict) -> list[str]:
    """Every GFN2-xTB file a config trains on (``data.xtb`` and the stages' own lists), sorted."""
    return sorted({*cfg["data"]["xtb"], *(f for s in cfg["stages"] for f in s.get("xtb", []))})


def training_chemistry(dft: ds.MoleculeSet, *others: ds.MoleculeSet) -> dict:
    """The chemistry the model was fitted on (read by mepviz.applicability): elements and
    total charges of the final stage's DFT training molecules, and the most heavy atoms of any
    training molecule (`others`: the xTB pre-training sets, whole drug-like molecules included)."""
    q = np.zeros(len(dft)) if dft.total_charge is None else dft.total_charge
    heavy = max(int(np.add.reduceat((m.z > 1).astype(int), m.offsets[:-1]).max())
                for m in (dft, *others) if m is not None and len(m))
    return {"training_elements": sorted(int(z) for z in np.unique(dft.z)),
            "training_charges": sorted(int(round(c)) for c in np.unique(q)),
            "training_max_heavy_atoms": heavy}


def seen_elements(cfg: dict) -> list[int]:
    """Every element any stage of the config fitted, its base's included (the elements whose
    embeddings were ever trained; read by mepviz.applicability, which refuses the others)."""
    files = [os.path.join(ds.ROOT, f) for f in sorted({*cfg["data"]["dft"], *xtb_files(cfg)})]
    seen = {int(z) for z in np.unique(ds.load_files(files).z)}
    stem = base_weights(cfg)
    if stem:
        base = cards.read_card(stem)
        seen |= set(base.get("seen_elements") or base.get("training_elements") or ())
    return sorted(seen)


def base_card(cfg: dict) -> dict | None:
    """Provenance of the base weights a config starts from (file hash, base config, and
    the base card's own build record)."""
    stem = base_weights(cfg)
    if not stem:
        return None
    base = cards.read_card(stem)
    return {"config": cfg["init"]["config"], "weights": os.path.relpath(stem, ds.ROOT) + ".pt",
            "weights_sha256": cards.file_sha256(stem + ".pt"),
            "rebuild": f"python -m train.build {cfg['init']['config']} --out {cfg['init']['weights']}",
            "base_build": base.get("build"), "base_recipe": base.get("recipe"),
            "base_validation_metrics": base.get("validation_metrics"), "base_date": base.get("training", {}).get("date")}


def data_digests(cfg: dict) -> dict[str, str]:
    """SHA-256 of every data file of the config, taken before training (files packed while a
    build runs must not be credited to it)."""
    return {f: ds.file_digest(os.path.join(ds.ROOT, f), full=True)
            for f in sorted({*cfg["data"]["dft"], *xtb_files(cfg)})}


def card(cfg: dict, trainer: tr.Trainer, stages: list[dict], digests: dict | None = None) -> dict:
    """The model card: what the last stage's Trainer records, with the build's provenance."""
    name = cfg["_name"]
    c = trainer.card()
    c.pop("initialised_from", None)
    xtb = xtb_files(cfg)
    c.update(identity(cfg))
    c.update(training_chemistry(trainer.dft_train,
                                ds.load_files([os.path.join(ds.ROOT, f) for f in xtb]) if xtb else None))
    c["seen_elements"] = seen_elements(cfg)
    c.update({
        "build": {
            "command": f"python -m train.build {name}",
            "config": os.path.relpath(cfg["_path"], ds.ROOT),
            "config_sha256": cfg["_sha256"],
            "config_values": {k: v for k, v in cfg.items() if not k.startswith("_")},
            "data_sha256": digests or data_digests(cfg),
            "seeds": {"torch_and_numpy": cfg["seed"], "validation_split": cfg["seed"]},
            "base": base_card(cfg),
            "stages": stages,
            "total_time_s": round(sum(s["time_s"] for s in stages), 1),
            "training_noise": training_noise(_log_rows(trainer.dir)),
        },
    })
    return c


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.build", description=__doc__.split("\n\n")[0])
    ap.add_argument("config", help="config name in train/configs/ (dipole, quadrupole, dipole-xtb, …) or a .yaml path")
    ap.add_argument("--out", default=None,
                    help="weights stem (default weights/<name> for a shipped variant, else runs/build-<name>/<name>)")
    ap.add_argument("--runs-dir", default=None, help="stage runs folder (default runs/build-<name>)")
    ap.add_argument("--resume", action="store_true", help="continue stages from their last checkpoints")
    ap.add_argument("--no-evaluate", action="store_true", help="skip the test-split metrics in the card")
    ap.add_argument("--rebuild-base", action="store_true",
                    help="first rebuild the config's base weights (init.weights) from the base config")
    ap.add_argument("--seed", type=int, default=None,
                    help="override the config's seed (initialisation, batch order and validation split): "
                         "seed-to-seed spread studies; the card records the seed used")
    ap.add_argument("--relabel-only", action="store_true",
                    help="no training: rewrite the naming fields of the existing card <out>.json")
    a = ap.parse_args(argv)
    cfg = load_config(a.config)
    if a.seed is not None and a.seed != cfg["seed"]:
        cfg = with_seed(cfg, a.seed)
    name = cfg["_name"]
    seeded = f"-seed{cfg['seed']}" if a.seed is not None else ""
    runs_dir = a.runs_dir or os.path.join(ds.ROOT, "runs", f"build-{name}{seeded}")
    out = a.out or (os.path.join(ds.ROOT, "weights", name) if name in registry.MODELS
                    else os.path.join(runs_dir, name))
    if a.relabel_only:
        relabel(cfg, out, a.seed)
        print(f"[build] relabelled {out}.json as {name!r}")
        return 0
    t0 = time.time()
    if a.rebuild_base and cfg.get("init"):
        base = [cfg["init"]["config"], "--out", os.path.join(ds.ROOT, cfg["init"]["weights"]), "--no-evaluate"]
        main(base + (["--resume"] if a.resume else []))
    digests = data_digests(cfg)
    trainer, stages = run_stages(cfg, runs_dir, a.resume)
    trainer.model.load_state_dict(trainer.best_state)
    if data_digests(cfg) != digests:
        print("[build] warning: data files changed during the build; the card records the files as "
              "they were when it started", flush=True)
    save_model(trainer.model, out, card(cfg, trainer, stages, digests))
    print(f"[build] wrote {out}.pt and {out}.json ({time.time() - t0:.0f} s)", flush=True)
    if not a.no_evaluate:
        from train import evaluate
        evaluate.write_card_metrics(out)
        print(f"[build] test metrics written into {out}.json", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
