"""Train the multipole network on molecular dipoles (and quadrupoles).

    python -m train.train --variant dipole --name dip1 --epochs 300 --save weights/dipole
    python -m train.train --variant quadrupole --quad-weight 1 --pretrain-xtb --name quad1 \\
        --save weights/quadrupole
    python -m train.train --name quad1 --resume          # continue an interrupted run

Variants (docs/physics.md, mepviz/registry.py): ``dipole`` — loss on μ only, atomic q and p (θᵢ ≡ 0);
``quadrupole`` — loss on μ + w·Θ (Θ traceless, about the centre of mass), atomic q, p, θ;
``mep`` — μ + w·Θ + m·MEP at sampled stored surface points of the labels that carry them.
The terms and their units live in :mod:`train.loss`.

One run is described by a :class:`Settings` (typed, JSON-able): the command line below fills it
from flags, :mod:`train.build` from a committed YAML config (no command-line round trip).

Data: DFT labels from data/qm9/train.npz + data/qm9/train_dft_*.npz (all shards present at
start); validation = a seeded 10 % of those molecules by QM9 index (train/dataset.py);
data/qm9/test.npz and reserved positions are never used. ``--pretrain-xtb``: first train
on GFN2-xTB labels (data/xtb/*.npz, minus validation/test molecules), then fine-tune on
DFT. Checkpoints every epoch under runs/<name>/ (last.pt, best.pt, log.csv, args.json);
``--resume`` restarts from last.pt exactly (shuffles are seeded per phase and epoch).
"""
from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import datetime as _dt
import json
import math
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from mepviz.model import DEFAULT_CONFIG, MultipoleNet, convert_state_dict, save_model  # noqa: E402
from mepviz.units import DEBYE_PER_E_ANGSTROM  # noqa: E402
from train import dataset as ds  # noqa: E402
from train.loss import LossWeights, atomic_error, loss_terms, surface_potential  # noqa: E402

PHASES = ("pretrain", "finetune")
LOG_FIELDS = ["phase", "epoch", "lr", "train_loss", "val_loss", "val_mu_mae_D", "val_mu_norm_mae_D",
              "val_theta_mae_DA", "val_mep_iso_mae", "val_mep_shell_mae", "dft_val_loss", "dft_val_mu_mae_D",
              "dft_val_theta_mae_DA", "epoch_s", "mol_per_s", "elapsed_s"]


@dataclasses.dataclass
class Settings:
    """Everything one training run needs (the command-line flags of ``python -m train.train``
    have the same names). Lengths Å, learning rates per Adam step, times in minutes."""

    name: str
    variant: str = "quadrupole"                 # loss protocol: dipole | quadrupole | mep
    runs_dir: str = os.path.join(ds.ROOT, "runs")
    resume: bool = False
    data: list | None = None                    # DFT .npz files (default: data/qm9 shards)
    xtb: list | None = None                     # GFN2-xTB .npz files (default: data/xtb/*.npz)
    pretrain_xtb: bool = False
    pretrain_only: bool = False
    init_from: str | None = None
    max_molecules: int | None = None
    repeat: list = dataclasses.field(default_factory=list)       # ["FILE=K", ...]
    max_xtb: int | None = None
    max_xtb_val: int = 400
    val_fraction: float = 0.1
    seed: int = 0
    features: int = DEFAULT_CONFIG["features"]
    layers: int = DEFAULT_CONFIG["layers"]
    rbf: int = DEFAULT_CONFIG["rbf"]
    cutoff: float = DEFAULT_CONFIG["cutoff"]
    max_order: int | None = None
    penetration: bool = DEFAULT_CONFIG.get("penetration", False)
    quad_weight: float = 1.0
    mep_weight: float = 0.0
    mep_points: int = 256
    mep_iso_share: float = 0.5
    mep_keep: dict | None = None                # {chemistry group: share of its MEP labels kept}
    pretrain_charge_weight: float = 0.0
    pretrain_atomic_dipole_weight: float = 0.0
    qm9_magnitude: int = 0
    magnitude_weight: float = 1.0
    qm9_geometries: str | None = None
    epochs: int = 300
    pretrain_epochs: int = 60
    batch_size: int = 32
    lr: float = 1e-3
    pretrain_lr: float | None = None
    min_lr: float = 1e-5
    schedule: str = "cosine"
    plateau_patience: int = 10
    patience: int = 60
    weight_decay: float = 0.0
    clip: float = 10.0
    time_limit: float | None = None
    stop_after: int | None = None
    threads: int = 1
    save: str | None = None
    quiet: bool = False

    @classmethod
    def from_dict(cls, values: dict) -> "Settings":
        """Settings from a dict (e.g. a run's saved settings); unknown keys are refused."""
        names = {f.name for f in dataclasses.fields(cls)}
        bad = set(values) - names
        if bad:
            raise SystemExit(f"error: unknown training settings {sorted(bad)}")
        return cls(**values)

    def loss_weights(self, phase: str) -> LossWeights:
        """The loss of this run's variant in `phase` (xTB pre-training adds the atomic priors)."""
        w = {"dipole": 1.0}
        if self.variant in ("quadrupole", "mep"):
            w["quadrupole"] = self.quad_weight
        if self.variant == "mep":
            w["mep"] = self.mep_weight
        if self.qm9_magnitude:
            w["magnitude"] = self.magnitude_weight
        if phase == "pretrain":
            w.update(charges=self.pretrain_charge_weight, atomic_dipoles=self.pretrain_atomic_dipole_weight)
        return LossWeights.for_protocol(self.variant, **w)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m train.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--variant", choices=["dipole", "quadrupole", "mep"], default="quadrupole")
    ap.add_argument("--name", required=True, help="run name: checkpoints/logs in runs/<name>/")
    ap.add_argument("--runs-dir", default=os.path.join(ds.ROOT, "runs"))
    ap.add_argument("--resume", action="store_true", help="continue runs/<name>/last.pt (uses its saved args)")
    ap.add_argument("--data", nargs="*", default=None,
                    help="DFT .npz files (default data/qm9/train.npz + train_dft_*.npz)")
    ap.add_argument("--xtb", nargs="*", default=None, help="xTB .npz files (default data/xtb/*.npz)")
    ap.add_argument("--pretrain-xtb", action="store_true", help="pre-train on xTB labels, then fine-tune on DFT")
    ap.add_argument("--pretrain-only", action="store_true",
                    help="with --pretrain-xtb: stop after xTB pre-training (save it, fine-tune later with --init-from)")
    ap.add_argument("--init-from", default=None,
                    help="weights stem (e.g. runs/pre/pretrained) to initialise from; its card is embedded")
    ap.add_argument("--max-molecules", type=int, default=None, help="use only the first N DFT molecules (tests)")
    ap.add_argument("--repeat", nargs="*", default=[], metavar="FILE=K",
                    help="DFT training molecules of FILE count K times per epoch (validation unchanged)")
    ap.add_argument("--max-xtb", type=int, default=None, help="use only the first N xTB molecules")
    ap.add_argument("--max-xtb-val", type=int, default=400, help="xTB validation molecules evaluated per epoch")
    ap.add_argument("--val-fraction", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    # model
    ap.add_argument("--features", type=int, default=DEFAULT_CONFIG["features"])
    ap.add_argument("--layers", type=int, default=DEFAULT_CONFIG["layers"])
    ap.add_argument("--rbf", type=int, default=DEFAULT_CONFIG["rbf"])
    ap.add_argument("--cutoff", type=float, default=DEFAULT_CONFIG["cutoff"])
    # optimisation
    ap.add_argument("--quad-weight", type=float, default=1.0, help="w in loss = MSE(μ) + w·MSE(Θ)")
    ap.add_argument("--mep-weight", type=float, default=0.0,
                    help="m (mep variant): the loss adds m·MSE(V) [kcal/mol/e]² at stored surface points")
    ap.add_argument("--mep-points", type=int, default=256,
                    help="surface points sampled per molecule and batch for the MEP term")
    ap.add_argument("--mep-iso-share", type=float, default=0.5,
                    help="share of the sampled points on the isodensity surface (the rest on MK shells)")
    ap.add_argument("--penetration", action="store_true",
                    help="the model also predicts Slater widths for a charge-penetration term (docs/physics.md)")
    ap.add_argument("--pretrain-charge-weight", type=float, default=0.0,
                    help="c: xTB pre-training adds c·MSE(qᵢ − qᵢ(xTB)) [e²], atomic charges of the xTB "
                         "files; DFT fine-tuning never uses it")
    ap.add_argument("--pretrain-atomic-dipole-weight", type=float, default=0.0,
                    help="d: xTB pre-training adds d·MSE(pᵢ − pᵢ(xTB)) [(e·Å)²], atomic dipoles of the xTB "
                         "files; DFT fine-tuning never uses it")
    ap.add_argument("--max-order", type=int, default=None, choices=[0, 1, 2],
                    help="highest atomic multipole the model predicts (default: 2 for quadrupole, 1 for dipole)")
    ap.add_argument("--qm9-magnitude", type=int, default=0,
                    help="N: DFT fine-tuning also fits QM9's own |μ| (qm9pack Dipole_debye) of N molecules "
                         "from positions ≥ 200 (not validation, not DFT-labelled); -1 = all (~117k)")
    ap.add_argument("--magnitude-weight", type=float, default=1.0,
                    help="m: with --qm9-magnitude, the loss adds m·MSE(|μ| − |μ|_QM9) [e·Å]²")
    ap.add_argument("--qm9-geometries", default=None,
                    help="cached QM9 geometries .npz (default cache/qm9_geometries.npz, built from qm9pack)")
    ap.add_argument("--epochs", type=int, default=300, help="max fine-tune (DFT) epochs")
    ap.add_argument("--pretrain-epochs", type=int, default=60, help="max xTB pre-training epochs")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--pretrain-lr", type=float, default=None, help="default: --lr")
    ap.add_argument("--min-lr", type=float, default=1e-5)
    ap.add_argument("--schedule", choices=["cosine", "plateau"], default="cosine")
    ap.add_argument("--plateau-patience", type=int, default=10)
    ap.add_argument("--patience", type=int, default=60, help="early stopping: epochs without val improvement")
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--clip", type=float, default=10.0, help="gradient norm clip")
    ap.add_argument("--time-limit", type=float, default=None, help="minutes; stop gracefully (resumable)")
    ap.add_argument("--stop-after", type=int, default=None,
                    help="stop (resumably) after this many epochs in this invocation")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--save", default=None, help="weights stem to write at the end, e.g. weights/dipole")
    ap.add_argument("--quiet", action="store_true")
    return ap


# ----------------------------------------------------------------------------------------
#: surface points per validation molecule for the MEP metrics (a fixed sample, same every epoch)
VAL_MEP_POINTS = 1024


@torch.no_grad()
def evaluate(model, data: ds.MoleculeSet, weights: LossWeights, batch_size: int = 64, seed: int = 0) -> dict:
    """Loss (the weighted terms of `weights` over the whole set) and MAEs: μ components and |μ|
    in D, Θ components in D·Å, atomic charges/dipoles where known, and the MEP (kcal/mol/e) on
    a fixed sample of each molecule's stored isodensity and shell points where it has them."""
    if len(data) == 0:
        return {}
    model.eval()
    mus, mus_ref, ths, ths_ref, mep_err, mep_iso = [], [], [], [], [], []
    atomic = {"charge_mae_e": ("charges", []), "atomic_dipole_mae_eA": ("atomic_dipoles", [])}
    rng = np.random.default_rng([seed, 31337])
    for b in data.batches(batch_size, mep_points=VAL_MEP_POINTS, point_rng=rng):
        out = model(b["z"], b["pos"], b["batch"], b["total_charge"])
        mus.append(out["dipole"].double()); mus_ref.append(b["dipole"].double())
        ths.append(out["quadrupole"].double()); ths_ref.append(b["quadrupole"].double())
        for key, errs in atomic.values():
            err = atomic_error(out, b, key)
            if err is not None:
                errs.append(err.double().abs())
        if "mep_points" in b and len(b["mep_points"]):
            mep_err.append((surface_potential(out, b) - b["mep_ref"]).double())
            mep_iso.append(b["mep_iso"])
    mu, mu_ref, th, th_ref = (torch.cat(x) for x in (mus, mus_ref, ths, ths_ref))
    known_mu, known_th = torch.isfinite(mu_ref), torch.isfinite(th_ref)
    mse = {"dipole": float(((mu - mu_ref)[known_mu] ** 2).mean()),
           "quadrupole": float(((th - th_ref)[known_th] ** 2).mean())}
    d = DEBYE_PER_E_ANGSTROM
    extra = {name: float(e.mean()) for name, (_, errs) in atomic.items()
             if errs and (e := torch.cat(errs)).numel()}
    if mep_err:
        err, iso = torch.cat(mep_err), torch.cat(mep_iso)
        mse["mep"] = float((err ** 2).mean())
        extra.update(mep_iso_mae=float(err[iso].abs().mean()) if bool(iso.any()) else None,
                     mep_shell_mae=float(err[~iso].abs().mean()) if bool((~iso).any()) else None,
                     mep_molecules=int(data.has_mep().sum()))
    rows = torch.isfinite(mu_ref).all(1)
    return {**extra,
        "loss": sum(w * mse.get(k, 0.0) for k, w in weights.active().items() if k in mse),
        "mu_mae_D": float((mu - mu_ref)[known_mu].abs().mean()) * d,
        "mu_norm_mae_D": float((mu[rows].norm(dim=1) - mu_ref[rows].norm(dim=1)).abs().mean()) * d,
        "mu_rmse_D": math.sqrt(mse["dipole"]) * d,
        "theta_mae_DA": float((th - th_ref)[known_th].abs().mean()) * d,
        "theta_rmse_DA": math.sqrt(mse["quadrupole"]) * d,
        "n": len(data),
    }


def _file_repeat(spec: str) -> tuple[str, int]:
    """'FILE=K' → (FILE as dataset source name, K)."""
    path, _, k = spec.rpartition("=")
    if not path or not k.isdigit() or int(k) < 1:
        raise SystemExit(f"error: --repeat takes FILE=K with K ≥ 1, not {spec!r}")
    return ds.source_name(path), int(k)


def level_of_theory(data: ds.MoleculeSet) -> str:
    """The DFT level of the training labels in words (beyond-QM9 molecules: def2-TZVP on Br/I)."""
    text = "B3LYP/6-31G(2df,p) (PySCF 2.14, density fitting) on QM9 geometries"
    if data.total_charge is not None and (data.qm9_index >= ds.NAMED_KEY_BASE).any():
        text += (" and on the beyond-QM9 pool geometries (data/newchem; def2-TZVP with the def2 ECP "
                 "on I for Br and I; total charge of each molecule)")
    return text


def _fmt_time(s: float) -> str:
    s = int(max(s, 0))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class Trainer:
    """One training run (:class:`Settings`): xTB pre-training and/or DFT fine-tuning with
    per-epoch checkpoints, early stopping on the validation loss and the model card."""

    def __init__(self, args: Settings, log=print):
        if not isinstance(args, Settings):              # an argparse.Namespace of the same fields
            args = Settings.from_dict(vars(args))
        self.args = args
        self.log = log
        self.dir = os.path.join(args.runs_dir, args.name)
        os.makedirs(self.dir, exist_ok=True)
        torch.manual_seed(args.seed)
        np.random.seed(args.seed)
        a = args
        dft = a.data if a.data else ds.dft_files()
        self.dft_files = [os.path.abspath(f) for f in dft]
        self.train, self.val = ds.training_data(self.dft_files, a.val_fraction, a.seed,
                                                max_molecules=a.max_molecules)
        self.train = ds.thin_mep(self.train, a.mep_keep or {}, a.seed)
        self.unique_train = self.train
        self.train = ds.repeat_files(self.train, dict(_file_repeat(r) for r in a.repeat))
        self.dft_train, self.magnitude = self.train, None
        if a.qm9_magnitude:
            dft_all = ds.load_files(self.dft_files).qm9_index
            self.magnitude = ds.qm9_magnitude_set(None if a.qm9_magnitude < 0 else a.qm9_magnitude, a.seed,
                                                  a.val_fraction, exclude=dft_all,
                                                  path=a.qm9_geometries)
            self.train = ds.concat([self.train, self.magnitude])
        self.xtb_train = self.xtb_val = None
        self.xtb_file_list: list[str] = []
        if a.pretrain_xtb:
            xf = a.xtb if a.xtb else ds.xtb_files()
            if not xf:
                raise SystemExit("error: --pretrain-xtb but no xTB files (data/xtb/*.npz)")
            self.xtb_file_list = [os.path.abspath(f) for f in xf]
            self.xtb_train, self.xtb_val = ds.training_data(self.xtb_file_list, a.val_fraction, a.seed,
                                                            max_molecules=a.max_xtb)
            # never pre-train on a DFT-validation molecule (validation_mask is by QM9 index, so
            # this holds already; enforced again in case of a different --val-fraction)
            dft_val = set(self.val.qm9_index.tolist())
            self.xtb_train = self.xtb_train.mask(~np.isin(self.xtb_train.qm9_index, list(dft_val)))
            if len(self.xtb_val) > a.max_xtb_val:   # keep per-epoch validation cheap
                pick = np.random.default_rng([a.seed, 777]).permutation(len(self.xtb_val))[:a.max_xtb_val]
                self.xtb_val = self.xtb_val.subset(np.sort(pick))
        for what, val in (("DFT", self.val), ("GFN2-xTB", self.xtb_val)):
            if val is not None and not len(val):
                raise SystemExit(f"error: the {what} validation split is empty (seed {a.seed}, val_fraction "
                                 f"{a.val_fraction}): use more molecules, a larger val_fraction or another seed")
        order = a.max_order
        cfg = dict(features=a.features, layers=a.layers, rbf=a.rbf, cutoff=a.cutoff,
                   max_order=(1 if a.variant == "dipole" else 2) if order is None else order)
        if a.penetration:
            cfg["penetration"] = True
        self.model = MultipoleNet(**cfg)
        self.init_card = None
        if a.init_from:
            from mepviz.model import load_card
            stem = os.path.splitext(a.init_from)[0] if a.init_from.endswith((".pt", ".json")) else a.init_from
            if os.path.exists(stem + ".json"):           # a saved model (stem.pt + stem.json)
                self.init_card = load_card(stem)
                state = torch.load(stem + ".pt", map_location="cpu", weights_only=True)
            else:                                          # a training checkpoint (runs/<name>/best.pt)
                ck = torch.load(stem + ".pt", map_location="cpu", weights_only=True)
                state = ck["best_model"]
                cst = json.loads(ck["state"])
                self.init_card = {"config": json.loads(ck["config"]), "checkpoint": stem + ".pt",
                                  "args": json.loads(ck["args"]),
                                  "state": {k: cst[k] for k in ("phase", "epoch", "best_epoch", "elapsed")},
                                  "validation_metrics": cst["history"]}
            state, src = convert_state_dict(state, self.init_card["config"])    # pre-block weights too
            free = ("max_order", "penetration")       # heads a fine-tune may add to its base
            src = {k: v for k, v in src.items() if k not in free}
            mine = {k: v for k, v in self.model.config.items() if k not in free}
            if src != mine:
                raise SystemExit(f"error: --init-from config {src} does not match this model {mine}")
            missing, unexpected = self.model.load_state_dict(state, strict=False)
            new_head = [k for k in missing if k.startswith("penetration.")]
            if unexpected or len(new_head) != len(missing):
                raise SystemExit(f"error: --init-from weights do not fit this model (missing "
                                 f"{sorted(set(missing) - set(new_head))}, unexpected {sorted(unexpected)})")
        self.phases = [p for p in PHASES if (p == "finetune" and not a.pretrain_only)
                       or (p == "pretrain" and a.pretrain_xtb)]
        self.state = {"phase": self.phases[0], "epoch": 0, "best": math.inf, "best_epoch": -1,
                      "bad_epochs": 0, "elapsed": 0.0, "history": {}, "done": False}
        self.best_state = copy.deepcopy(self.model.state_dict())
        self._new_optimizer(self.state["phase"])

    # -- optimiser per phase ------------------------------------------------------------
    def _phase_epochs(self, phase):
        return self.args.pretrain_epochs if phase == "pretrain" else self.args.epochs

    def _new_optimizer(self, phase):
        a = self.args
        lr = (a.pretrain_lr or a.lr) if phase == "pretrain" else a.lr
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr, weight_decay=a.weight_decay)
        if a.schedule == "cosine":
            self.sched = torch.optim.lr_scheduler.CosineAnnealingLR(
                self.opt, T_max=max(1, self._phase_epochs(phase)), eta_min=a.min_lr)
        else:
            self.sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.opt, factor=0.5, patience=a.plateau_patience, min_lr=a.min_lr)

    # -- checkpoints ----------------------------------------------------------------------
    def checkpoint(self, fname="last.pt"):
        ck = {"model": self.model.state_dict(), "best_model": self.best_state,
              "optimizer": self.opt.state_dict(), "scheduler": self.sched.state_dict(),
              "state": json.dumps(self.state), "config": json.dumps(self.model.config),
              "args": json.dumps(dataclasses.asdict(self.args)), "torch_rng": torch.get_rng_state()}
        tmp = os.path.join(self.dir, fname + ".tmp")
        torch.save(ck, tmp)
        os.replace(tmp, os.path.join(self.dir, fname))

    def restore(self, path=None):
        path = path or os.path.join(self.dir, "last.pt")
        ck = torch.load(path, map_location="cpu", weights_only=True)
        self.model.load_state_dict(ck["model"])
        self.best_state = ck["best_model"]
        self.state = json.loads(ck["state"])
        self._new_optimizer(self.state["phase"])
        self.opt.load_state_dict(ck["optimizer"])
        self.sched.load_state_dict(ck["scheduler"])
        torch.set_rng_state(ck["torch_rng"])

    # -- training -------------------------------------------------------------------------
    def _phase_data(self, phase):
        return (self.xtb_train, self.xtb_val) if phase == "pretrain" else (self.train, self.val)

    def train_epoch(self, data: ds.MoleculeSet, epoch: int, phase: str) -> float:
        a = self.args
        self.model.train()
        rng = np.random.default_rng([a.seed, PHASES.index(phase), epoch])
        weights = a.loss_weights(phase)
        mep = {"mep_points": a.mep_points, "iso_share": a.mep_iso_share,
               "point_rng": np.random.default_rng([a.seed, PHASES.index(phase), epoch, 7])} if weights.mep else {}
        tot, n = 0.0, 0
        t0 = t_last = time.time()
        for b in data.batches(a.batch_size, shuffle=True, rng=rng, **mep):
            if not a.quiet and time.time() - t_last > 120:      # progress inside long epochs
                t_last = time.time()
                rate = n / (t_last - t0)
                self.log(f"  [{phase} {epoch + 1}] {n}/{len(data)} molecules, loss {tot / max(n, 1):.4g}, "
                         f"{rate:.0f} mol/s, epoch ETA {_fmt_time((len(data) - n) / max(rate, 1e-9))}")
            out = self.model(b["z"], b["pos"], b["batch"], b["total_charge"])
            loss = loss_terms(out, b, weights)["total"]
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            if a.clip:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), a.clip)
            self.opt.step()
            k = len(b["dipole"])
            tot += float(loss.detach()) * k
            n += k
        return tot / max(n, 1)

    def run(self):
        a, st = self.args, self.state
        csv_path = os.path.join(self.dir, "log.csv")
        new_csv = not os.path.exists(csv_path)
        t_start = time.time() - st["elapsed"]
        deadline = time.time() + 60 * a.time_limit if a.time_limit else None
        budget = a.stop_after
        with open(csv_path, "a", newline="") as fh:
            w = csv.DictWriter(fh, LOG_FIELDS)
            if new_csv:
                w.writeheader()
            while not st["done"]:
                phase = st["phase"]
                train, val = self._phase_data(phase)
                n_ep = self._phase_epochs(phase)
                if st["epoch"] >= n_ep or st["bad_epochs"] >= a.patience:
                    self._end_phase()
                    continue
                if (deadline and time.time() > deadline) or budget == 0:
                    self.log(f"[train] stopping at {phase} epoch {st['epoch']}; resumable with --resume")
                    return False
                if budget is not None:
                    budget -= 1
                t0 = time.time()
                train_loss = self.train_epoch(train, st["epoch"], phase)
                t_train = time.time() - t0
                vm = evaluate(self.model, val, a.loss_weights(phase), seed=a.seed)
                dm = evaluate(self.model, self.val, a.loss_weights("finetune"), seed=a.seed) if phase == "pretrain" else vm
                if a.schedule == "plateau":
                    self.sched.step(vm["loss"])
                else:
                    self.sched.step()
                st["epoch"] += 1
                improved = vm["loss"] < st["best"]
                if improved:
                    st["best"], st["best_epoch"], st["bad_epochs"] = vm["loss"], st["epoch"], 0
                    self.best_state = copy.deepcopy(self.model.state_dict())
                    st["history"][phase + "_best_val"] = vm
                    st["history"]["best_dft_val"] = dm
                else:
                    st["bad_epochs"] += 1
                st["elapsed"] = time.time() - t_start
                ep_s = time.time() - t0
                mps = len(train) / t_train
                row = {"phase": phase, "epoch": st["epoch"], "lr": self.opt.param_groups[0]["lr"],
                       "train_loss": train_loss, "val_loss": vm["loss"], "val_mu_mae_D": vm["mu_mae_D"],
                       "val_mu_norm_mae_D": vm["mu_norm_mae_D"], "val_theta_mae_DA": vm["theta_mae_DA"],
                       "val_mep_iso_mae": vm.get("mep_iso_mae"), "val_mep_shell_mae": vm.get("mep_shell_mae"),
                       "dft_val_loss": dm["loss"], "dft_val_mu_mae_D": dm["mu_mae_D"],
                       "dft_val_theta_mae_DA": dm["theta_mae_DA"], "epoch_s": round(ep_s, 2),
                       "mol_per_s": round(mps, 1), "elapsed_s": round(st["elapsed"], 1)}
                w.writerow(row)
                fh.flush()
                st.setdefault("throughput", []).append(mps)
                st["throughput"] = st["throughput"][-50:]
                self.checkpoint()
                if improved:
                    self.checkpoint("best.pt")
                if not a.quiet:
                    left = (n_ep - st["epoch"]) * ep_s
                    if phase == "pretrain":
                        left += self._phase_epochs("finetune") * ep_s * len(self.train) / max(len(train), 1)
                    self.log(f"[{phase} {st['epoch']:4d}/{n_ep}] loss {train_loss:.4g} | val {vm['loss']:.4g} "
                             f"μ {vm['mu_mae_D']:.3f} D |μ| {vm['mu_norm_mae_D']:.3f} D "
                             f"Θ {vm['theta_mae_DA']:.3f} D·Å"
                             + (f" MEP iso {vm['mep_iso_mae']:.2f} shell {vm['mep_shell_mae']:.2f}"
                                if vm.get("mep_iso_mae") is not None else "")
                             + (f" | DFT-val μ {dm['mu_mae_D']:.3f} D Θ {dm['theta_mae_DA']:.3f}"
                                if phase == "pretrain" else "")
                             + f"{' *' if improved else ''} | lr {row['lr']:.2g} | {mps:.0f} mol/s | "
                             f"{_fmt_time(st['elapsed'])} elapsed, ETA ≤{_fmt_time(left)}")
        return True

    def _end_phase(self):
        st = self.state
        phase = st["phase"]
        # continue from the best weights of the finished phase
        self.model.load_state_dict(self.best_state)
        st["history"][phase + "_epochs"] = st["epoch"]
        st["history"][phase + "_best_epoch"] = st["best_epoch"]
        k = self.phases.index(phase)
        if k + 1 < len(self.phases):
            st.update(phase=self.phases[k + 1], epoch=0, best=math.inf, best_epoch=-1, bad_epochs=0)
            self._new_optimizer(st["phase"])
            self.log(f"[train] {phase} done; fine-tuning on DFT")
        else:
            st["done"] = True
        self.checkpoint()

    # -- model card -----------------------------------------------------------------------
    def card(self) -> dict:
        a, st = self.args, self.state
        data = {"dft_train": self.unique_train.summary(), "dft_validation": self.val.summary(),
                "dft_files": {os.path.relpath(f, ds.ROOT): ds.file_digest(f) for f in self.dft_files},
                "validation_split": f"seeded hash of QM9 index (named molecules: of their name) < {a.val_fraction} (seed {a.seed}); "
                                    "train/dataset.py validation_mask",
                "excluded": "data/qm9/test.npz molecules, reserved permutation positions 0-99, and the "
                            "beyond-QM9 test sets (data/newchem/test_*.npz, sigma_hole.npz)"}
        if a.repeat:
            data["repeat"] = dict(_file_repeat(r) for r in a.repeat)
            data["dft_train"]["molecules_per_epoch"] = len(self.dft_train)
        if self.magnitude is not None:
            data["qm9_magnitude"] = {**self.magnitude.summary(), "weight": a.magnitude_weight,
                                     "target": "qm9pack Dipole_debye (|μ|, B3LYP/6-31G(2df,p))"}
        if self.xtb_train is not None:
            data["xtb_pretrain"] = self.xtb_train.summary()
            data["xtb_validation"] = self.xtb_val.summary()
            data["xtb_files"] = {os.path.relpath(f, ds.ROOT): ds.file_digest(f) for f in self.xtb_file_list}
        if a.variant == "mep":
            mep, groups = self.unique_train.has_mep(), ds.chemistry_groups(self.unique_train)
            data["mep_labels"] = {"training_molecules": int(mep.sum()),
                                  "by_chemistry": {g: int((mep & (groups == g)).sum()) for g in ds.CHEMISTRY_GROUPS},
                                  "kept_share": a.mep_keep or None,
                                  "validation_molecules": int(self.val.has_mep().sum()),
                                  "by_file": {str(f): int(mep[self.unique_train.source == f].sum())
                                              for f in np.unique(self.unique_train.source)},
                                  "points_per_molecule_and_batch": a.mep_points, "isodensity_share": a.mep_iso_share}
        hist = st["history"]
        tp = st.get("throughput", [])
        weights = a.loss_weights("finetune")
        fitted = {"dipole": "DFT molecular dipoles only", "quadrupole": "DFT molecular dipoles and quadrupoles",
                  "mep": "DFT molecular dipoles, quadrupoles and the DFT MEP on stored surface points"}[a.variant]
        return {
            "name": a.variant,
            "variant": a.variant,
            "description": ("PiNet2-style equivariant network (l=0,1,2 PaiNN-like features, e3nn basis). "
                            + (f"Fitted to {fitted}; predicts atomic charges and atomic dipoles "
                               "(atomic quadrupoles are identically zero)." if a.variant == "dipole" else
                               f"Fitted to {fitted}; predicts atomic charges, dipoles and traceless quadrupoles.")),
            "level_of_theory": level_of_theory(self.dft_train),
            "pretraining_level_of_theory": "GFN2-xTB (tblite)" if a.pretrain_xtb else None,
            "units": {"charges": "e", "dipole": "e·Å", "quadrupole": "e·Å² (traceless Buckingham, about COM)"},
            "loss": weights.describe(),
            "loss_weights": weights.active(),
            "quadrupole_weight": weights.quadrupole,
            "hyperparameters": {k: getattr(a, k) for k in (
                "features", "layers", "rbf", "cutoff", "batch_size", "lr", "pretrain_lr", "min_lr", "schedule",
                "epochs", "pretrain_epochs", "patience", "weight_decay", "clip", "seed", "val_fraction",
                "pretrain_xtb", "quad_weight", "pretrain_charge_weight", "pretrain_atomic_dipole_weight",
                "max_order", "qm9_magnitude", "magnitude_weight")
                + (("mep_weight", "mep_points", "mep_iso_share", "penetration") if a.variant == "mep" else ())},
            "optimizer": "Adam",
            "data": data,
            "training": {
                "epochs": {p: hist.get(p + "_epochs", st["epoch"] if p == st["phase"] else None)
                           for p in self.phases},
                "best_epoch": {p: hist.get(p + "_best_epoch", st["best_epoch"] if p == st["phase"] else None)
                               for p in self.phases},
                "stopped_early_by_time_limit": not st["done"],
                "time_s": round(st["elapsed"], 1),
                "throughput_mol_per_s": round(float(np.median(tp)), 1) if tp else None,
                "threads": a.threads,
                "torch": torch.__version__,
                "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "run": a.name,
            },
            "validation_metrics": {k: v for k, v in hist.items() if k.endswith("_val")},
            "initialised_from": ({"stem": a.init_from, "card": {k: v for k, v in self.init_card.items()
                                                                 if k != "config"}}
                                 if self.init_card else None),
            "n_parameters": int(sum(p.numel() for p in self.model.parameters())),
        }

    def save(self, stem):
        self.model.load_state_dict(self.best_state)
        save_model(self.model, stem, self.card())
        self.log(f"[train] wrote {stem}.pt and {stem}.json")


def main(argv=None) -> int:
    args = Settings.from_dict(vars(build_parser().parse_args(argv)))
    if args.resume:
        path = os.path.join(args.runs_dir, args.name, "args.json")
        if not os.path.exists(path):
            raise SystemExit(f"error: nothing to resume at {path}")
        saved = json.load(open(path))
        cli = dataclasses.asdict(args)
        # saved settings, but allow overriding a few run-control options
        keep = {k: cli[k] for k in ("time_limit", "threads", "quiet", "runs_dir", "stop_after")}
        if cli["save"] is not None:
            keep["save"] = cli["save"]
        args = Settings.from_dict({**saved, **keep, "resume": True})
    torch.set_num_threads(max(1, args.threads))
    log = (lambda *x: None) if args.quiet else (lambda *x: print(*x, flush=True))
    tr = Trainer(args, log)
    if args.resume and os.path.exists(os.path.join(tr.dir, "last.pt")):
        tr.restore()
        log(f"[train] resumed {args.name}: phase {tr.state['phase']} epoch {tr.state['epoch']}")
    else:
        with open(os.path.join(tr.dir, "args.json"), "w") as fh:
            json.dump(dataclasses.asdict(args), fh, indent=1)
    log(f"[train] {args.variant}: DFT train {len(tr.train)} / val {len(tr.val)} molecules"
        + (f"; xTB pretrain {len(tr.xtb_train)} / val {len(tr.xtb_val)}" if tr.xtb_train is not None else "")
        + f"; {sum(p.numel() for p in tr.model.parameters())} parameters; {args.threads} thread(s)")
    finished = tr.run()
    log(f"[train] {'done' if finished else 'stopped'}: best DFT val {tr.state['history'].get('best_dft_val')}")
    if args.save and (finished or args.time_limit):
        tr.save(args.save)
    return 0


if __name__ == "__main__":
    sys.exit(main())
