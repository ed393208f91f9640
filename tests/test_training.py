"""Training loop: a tiny model learns, checkpoints resume exactly, xTB pre-training runs."""
import csv
import json
import os

import numpy as np
import pytest
import torch

from mepviz.model import load_model
from train import dataset as ds
from train import train as tr
from train.loss import LossWeights, loss_terms

TINY = ["--features", "8", "--layers", "1", "--rbf", "6", "--batch-size", "4", "--max-molecules", "16",
        "--quiet", "--lr", "3e-3"]


def _log(run_dir):
    with open(os.path.join(run_dir, "log.csv")) as fh:
        return list(csv.DictReader(fh))


def test_validation_split_is_stable_and_disjoint():
    q = np.arange(1, 5001)
    v1 = ds.validation_mask(q, 0.1, seed=0)
    assert 0.07 < v1.mean() < 0.13
    # membership of a molecule doesn't depend on which other molecules are loaded
    assert np.array_equal(ds.validation_mask(q[::7], 0.1, seed=0), v1[::7])
    assert not np.array_equal(ds.validation_mask(q, 0.1, seed=1), v1)
    train, val = ds.training_data(ds.dft_files(), 0.1, 0)
    assert len(val) > 0 and not set(train.qm9_index) & set(val.qm9_index)
    test = set(np.load(os.path.join(ds.ROOT, "data", "qm9", "test.npz"))["qm9_index"].tolist())
    assert not (set(train.qm9_index) | set(val.qm9_index)) & test
    assert (train.position >= 200).all()


def test_batches_cover_every_molecule_once():
    train, _ = ds.training_data(ds.dft_files(), 0.1, 0, max_molecules=30)
    seen = 0
    for b in train.batches(7, shuffle=True, rng=np.random.default_rng(0)):
        n = len(b["dipole"])
        assert b["batch"].max().item() == n - 1 and len(b["z"]) == len(b["pos"]) == len(b["batch"])
        seen += n
    assert seen == len(train)


def test_tiny_model_loss_falls(tmp_path):
    tr.main(["--variant", "quadrupole", "--name", "tiny", "--runs-dir", str(tmp_path), "--epochs", "6",
             "--save", str(tmp_path / "w" / "quadrupole")] + TINY)
    rows = _log(tmp_path / "tiny")
    losses = [float(r["train_loss"]) for r in rows]
    assert len(losses) == 6 and losses[-1] < 0.7 * losses[0]
    card = json.load(open(tmp_path / "w" / "quadrupole.json"))
    assert card["variant"] == "quadrupole" and card["quadrupole_weight"] == 1.0
    assert card["data"]["dft_train"]["molecules"] > 0 and "config" in card
    m = load_model(tmp_path / "w" / "quadrupole")
    assert m.config["max_order"] == 2


def test_resume_continues_identically(tmp_path):
    common = ["--variant", "dipole", "--epochs", "4", "--runs-dir", str(tmp_path)] + TINY
    tr.main(["--name", "full"] + common)
    tr.main(["--name", "split", "--stop-after", "2"] + common)
    assert len(_log(tmp_path / "split")) == 2
    tr.main(["--name", "split", "--resume", "--runs-dir", str(tmp_path), "--quiet"])
    a, b = _log(tmp_path / "full"), _log(tmp_path / "split")
    assert [r["epoch"] for r in b] == ["1", "2", "3", "4"]
    for ra, rb in zip(a, b):
        assert float(ra["train_loss"]) == pytest.approx(float(rb["train_loss"]), rel=1e-6)
        assert float(ra["val_loss"]) == pytest.approx(float(rb["val_loss"]), rel=1e-6)
    sa = torch.load(tmp_path / "full" / "last.pt", weights_only=True)["model"]
    sb = torch.load(tmp_path / "split" / "last.pt", weights_only=True)["model"]
    for k in sa:
        assert torch.allclose(sa[k], sb[k], atol=1e-6), k


def test_xtb_pretraining_then_finetune(tmp_path):
    # mechanics only: use the DFT file as a stand-in xTB file
    tr.main(["--variant", "quadrupole", "--name", "pre", "--runs-dir", str(tmp_path), "--pretrain-xtb",
             "--xtb", ds.dft_files()[0], "--max-xtb", "12", "--pretrain-epochs", "2", "--epochs", "2"] + TINY)
    rows = _log(tmp_path / "pre")
    assert [r["phase"] for r in rows] == ["pretrain"] * 2 + ["finetune"] * 2


def test_pretrain_only_then_init_from(tmp_path):
    stem = str(tmp_path / "pre" / "pretrained")
    tr.main(["--variant", "quadrupole", "--name", "pre", "--runs-dir", str(tmp_path), "--pretrain-xtb",
             "--pretrain-only", "--xtb", ds.dft_files()[0], "--max-xtb", "12", "--pretrain-epochs", "2",
             "--save", stem] + TINY)
    assert [r["phase"] for r in _log(tmp_path / "pre")] == ["pretrain"] * 2
    tr.main(["--variant", "dipole", "--name", "ft", "--runs-dir", str(tmp_path), "--init-from", stem,
             "--epochs", "1", "--save", str(tmp_path / "ft" / "dipole")] + TINY)
    card = json.load(open(tmp_path / "ft" / "dipole.json"))
    assert card["initialised_from"]["card"]["data"]["xtb_pretrain"]["molecules"] > 0
    assert card["config"]["max_order"] == 1


def test_xtb_atomic_charges_load_and_pretraining_fits_them(tmp_path):
    """xTB files carry atomic charges; mixed with a DFT file they are NaN there; the
    pre-training charge term pulls the model's charges towards xTB's."""
    xtb = ds.load_npz(ds.xtb_files()[0]).subset(np.arange(40))
    dft = ds.load_npz(ds.dft_files()[0]).subset(np.arange(3))
    assert xtb.charges is not None and np.isfinite(xtb.charges).all() and dft.charges is None
    mixed = ds.concat([dft, xtb])
    assert np.isnan(mixed.charges[: dft.atom_count.sum()]).all()
    b = mixed.batch([0, 5])
    assert b["charges"].shape == b["z"].shape and torch.isnan(b["charges"][: int(dft.atom_count[0])]).all()
    # the stored xTB atomic charges and dipoles reproduce the stored molecular dipole (e·Å)
    assert xtb.atomic_dipoles is not None and xtb.atomic_dipoles.shape == xtb.pos.shape
    for a, b, mu in zip(xtb.offsets[:-1], xtb.offsets[1:], xtb.dipole):
        np.testing.assert_allclose((xtb.charges[a:b, None] * xtb.pos[a:b]).sum(0)
                                   + xtb.atomic_dipoles[a:b].sum(0), mu, atol=1e-6)
    assert np.isnan(mixed.atomic_dipoles[: dft.atom_count.sum()]).all()
    # the charges of a molecule are the file's, in order
    np.testing.assert_allclose(xtb.batch([2])["charges"].numpy(),
                               xtb.charges[xtb.offsets[2]:xtb.offsets[3]], atol=1e-6)

    def charge_mae(weight):
        name = f"q{weight}"
        tr.main(["--variant", "dipole", "--name", name, "--runs-dir", str(tmp_path), "--pretrain-xtb",
                 "--pretrain-only", "--xtb", ds.xtb_files()[0], "--max-xtb", "40", "--pretrain-epochs", "15",
                 "--pretrain-charge-weight", str(weight), "--save", str(tmp_path / name / "m"),
                 "--features", "16", "--layers", "2", "--rbf", "8", "--batch-size", "4", "--max-molecules", "16",
                 "--quiet", "--lr", "3e-3"])
        model = load_model(str(tmp_path / name / "m"))
        seen, _ = ds.training_data(ds.xtb_files()[:1], 0.1, 0, max_molecules=40)   # its training set
        return tr.evaluate(model, seen, LossWeights())["charge_mae_e"]

    assert charge_mae(1000.0) < 0.7 * charge_mae(0.0)     # measured 0.036 vs 0.079 e


def test_atomic_terms_only_where_reference_is_known():
    out = {"dipole": torch.zeros(1, 3), "charges": torch.tensor([0.1, -0.1, 0.3]),
           "atomic_dipoles": torch.zeros(3, 3)}
    b = {"charges": torch.tensor([0.0, float("nan"), 0.3]), "atomic_dipoles": torch.full((3, 3), 0.2)}
    def atomic_terms(out, b, c, d):
        return loss_terms(out, b, LossWeights(dipole=0.0, charges=c, atomic_dipoles=d))["total"]
    assert float(atomic_terms(out, b, 2.0, 0.0)) == pytest.approx(2.0 * 0.1 ** 2 / 2)
    assert float(atomic_terms(out, b, 0.0, 3.0)) == pytest.approx(3.0 * 0.04)
    assert float(atomic_terms(out, {}, 1.0, 1.0)) == 0.0


# ------------------------------------------------------------------ QM9's own |μ|
@pytest.fixture(scope="module")
def qm9_geometries(tmp_path_factory):
    """A small geometry cache: reserved, test and training positions (built from qm9pack)."""
    from train import qm9
    path = str(tmp_path_factory.mktemp("qm9") / "geom.npz")
    return qm9.build_geometries(np.r_[0:5, 100:105, 200:210, 5000:5050], path)  # 200-3238 are DFT-labelled


def test_qm9_magnitude_set_uses_training_positions_only(qm9_geometries):
    from mepviz.units import DEBYE_PER_E_ANGSTROM
    from train import qm9
    ms = ds.qm9_magnitude_set(None, seed=0, path=qm9_geometries)
    assert 40 < len(ms) < 60 and (ms.position >= 200).all()
    assert not ds.validation_mask(ms.qm9_index, 0.1, 0).any()
    assert np.isnan(ms.dipole).all() and np.isnan(ms.quadrupole).all()
    e = qm9.entry(int(ms.position[3]))
    np.testing.assert_allclose(ms.dipole_norm[3] * DEBYE_PER_E_ANGSTROM, e.dipole_debye)
    a, b = ms.offsets[3], ms.offsets[4]
    np.testing.assert_allclose(ms.pos[a:b], e.positions, atol=1e-5)
    assert list(ms.z[a:b]) == list(e.numbers)
    # a seeded subset, and exclusions by QM9 index
    sub = ds.qm9_magnitude_set(10, seed=0, path=qm9_geometries, exclude=ms.qm9_index[:5])
    assert len(sub) == 10 and not set(sub.qm9_index) & set(ms.qm9_index[:5])
    # mixed with DFT molecules: the vector/Θ losses skip the |μ|-only molecules, the
    # magnitude loss skips the DFT ones
    dft = ds.load_npz(ds.dft_files()[0]).subset(np.arange(2))
    mixed = ds.concat([dft, sub])
    batch = mixed.batch([0, 1, 2, 3])
    out = {"dipole": torch.ones(4, 3, requires_grad=True), "quadrupole": torch.zeros(4, 3, 3)}
    terms = loss_terms(out, batch, LossWeights(dipole=1.0, quadrupole=1.0, magnitude=2.0))
    loss, mse_mu = terms["dipole"] + terms["quadrupole"], terms["dipole"]
    want = float(((1.0 - batch["dipole"][:2]) ** 2).mean())
    assert float(mse_mu.detach()) == pytest.approx(want, rel=1e-6) and torch.isfinite(loss).all()
    mag = 2.0 * terms["magnitude"]
    want = 2.0 * float(((3 ** 0.5 - batch["dipole_norm"][2:]) ** 2).mean())
    assert float(mag.detach()) == pytest.approx(want, rel=1e-5)
    (loss + mag).backward()
    assert torch.isfinite(out["dipole"].grad).all()


def test_training_with_qm9_magnitudes(tmp_path, qm9_geometries):
    tr.main(["--variant", "dipole", "--name", "mag", "--runs-dir", str(tmp_path), "--epochs", "2",
             "--qm9-magnitude", "12", "--magnitude-weight", "0.5", "--qm9-geometries", qm9_geometries,
             "--save", str(tmp_path / "w" / "m")] + TINY)
    card = json.load(open(tmp_path / "w" / "m.json"))
    mag = card["data"]["qm9_magnitude"]
    assert mag["molecules"] == 12 and mag["weight"] == 0.5 and min(mag["positions"]) >= 200
    assert card["data"]["dft_train"]["molecules"] < 16 and card["hyperparameters"]["qm9_magnitude"] == 12


# ------------------------------------------------------------------ configs and the build
def test_shipped_configs_follow_each_variants_protocol():
    from mepviz import registry
    from train import build
    for name in registry.MODELS:
        cfg = build.load_config(name)
        chain = [cfg]                          # the config and the base configs it starts from
        while chain[-1].get("init"):
            base = build.load_config(chain[-1]["init"]["config"])
            if name == "mep":        # μ + Θ + MEP: its base stages are the quadrupole model's
                # (μ + Θ: GFN2-xTB and QM9 data carry no surface MEP), same network but the
                # charge-penetration head, which only the MEP term can train
                assert base["loss_protocol"] == "quadrupole", base["_name"]
                assert {**base["model"], "penetration": True} == cfg["model"], base["_name"]
            else:
                assert (base["loss_protocol"], base["model"]) == (cfg["loss_protocol"], cfg["model"]), base["_name"]
            assert os.path.exists(os.path.join(ds.ROOT, chain[-1]["init"]["weights"] + ".pt"))
            chain.append(base)
        stages = [s for c in reversed(chain) for s in c["stages"]]
        atomic = any(s.get("charge_weight") or s.get("atomic_dipole_weight") for s in stages)
        assert [s["level"] for s in stages][-1] == "dft" and stages[0]["level"] == "xtb"
        if name == "quadrupole":
            assert cfg["loss_protocol"] == "quadrupole" and cfg["quadrupole_weight"] > 0 and not atomic
            assert cfg["model"]["max_order"] == 2
        elif name == "mep":
            assert cfg["loss_protocol"] == "mep" and cfg["quadrupole_weight"] > 0 and cfg["mep"]["weight"] > 0
            assert cfg["model"]["max_order"] == 2 and not atomic
            # every MEP-carrying training file is in the config, so the MEP term sees all of them
            import glob
            carried = {os.path.relpath(f, ds.ROOT) for f in glob.glob(os.path.join(ds.ROOT, "data", "*", "train*.npz"))
                       if "iso_esp" in np.load(f).files}
            assert carried <= set(cfg["data"]["dft"]), carried - set(cfg["data"]["dft"])
        else:      # dipole variants: μ only (no Θ in any loss); only dipole-xtb fits atomic targets
            assert cfg["loss_protocol"] == "dipole" and not cfg.get("quadrupole_weight")
            assert cfg["model"]["max_order"] == 1 and atomic == (name == "dipole-xtb")
        for f in [f for c in chain for f in c["data"]["dft"] + c["data"]["xtb"]]:
            assert os.path.exists(os.path.join(ds.ROOT, f)), f
        # one set of architecture defaults: the model's, the trainer's and the configs'
        from mepviz.model import DEFAULT_CONFIG
        args = tr.build_parser().parse_args(["--name", "x"])
        for key in ("features", "layers", "rbf", "cutoff"):
            assert cfg["model"][key] == DEFAULT_CONFIG[key] == getattr(args, key), key


def test_build_runs_every_stage_and_writes_the_card(tmp_path, qm9_geometries):
    from train import build
    cfg = {"variant": "dipole", "loss_protocol": "dipole",
           "model": {"features": 8, "layers": 1, "rbf": 6, "cutoff": 5.0, "max_order": 1},
           "seed": 0, "val_fraction": 0.1, "batch_size": 4,
           "data": {"dft": ["data/qm9/train.npz"], "xtb": [os.path.relpath(ds.xtb_files()[0], ds.ROOT)]},
           "qm9_magnitude": {"molecules": 0, "weight": 1.0},
           "stages": [{"name": "x", "level": "xtb", "epochs": 2, "lr": 3e-3, "max_xtb": 20},
                      {"name": "d", "level": "dft", "epochs": 6, "lr": 3e-3, "max_molecules": 16}]}
    import yaml
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    argv = [str(path), "--out", str(tmp_path / "w" / "tiny"), "--runs-dir", str(tmp_path / "runs"), "--no-evaluate"]
    assert build.main(argv) == 0
    card = json.load(open(tmp_path / "w" / "tiny.json"))
    b = card["build"]
    assert b["config_sha256"] == build.load_config(str(path))["_sha256"]
    assert [s["name"] for s in b["stages"]] == ["x", "d"] and b["stages"][1]["epochs"] == 6
    assert b["data_sha256"]["data/qm9/train.npz"] == ds.file_digest(ds.dft_files()[0], full=True)
    noise = b["training_noise"]
    assert noise["epochs"] == 5 and noise["dipole_magnitude_mae_debye"] > 0
    # the second stage started from the first one's weights
    st = torch.load(tmp_path / "runs" / "d" / "last.pt", weights_only=True)
    assert json.loads(st["args"])["init_from"].endswith(os.path.join("x", "best.pt"))
    state = torch.load(tmp_path / "w" / "tiny.pt", weights_only=True)
    m = load_model(tmp_path / "w" / "tiny")
    assert m.config["max_order"] == 1 and set(state) == set(m.state_dict())
    # --resume: finished stages are not run again (same weights)
    assert build.main(argv + ["--resume"]) == 0
    again = torch.load(tmp_path / "w" / "tiny.pt", weights_only=True)
    assert all(torch.equal(state[k], again[k]) for k in state)
    # --seed: the same config with another seed, recorded in the card (seed-spread studies)
    assert build.main([str(path), "--seed", "5", "--out", str(tmp_path / "w" / "tiny5"),
                       "--runs-dir", str(tmp_path / "runs5"), "--no-evaluate"]) == 0
    b5 = json.load(open(tmp_path / "w" / "tiny5.json"))["build"]
    assert b5["seeds"] == {"torch_and_numpy": 5, "validation_split": 5} and b5["config_values"]["seed"] == 5
    assert b5["config_sha256"] == build.with_seed(build.load_config(str(path)), 5)["_sha256"] != b["config_sha256"]
    seed5 = torch.load(tmp_path / "w" / "tiny5.pt", weights_only=True)
    assert not all(torch.equal(state[k], seed5[k]) for k in state)
    # a seed whose validation split of these 20 xTB molecules is empty is refused, not a KeyError
    with pytest.raises(SystemExit, match="validation split is empty"):
        build.main([str(path), "--seed", "3", "--out", str(tmp_path / "w" / "tiny3"),
                    "--runs-dir", str(tmp_path / "runs3"), "--no-evaluate"])
    # a config with a base starts its first stage from the base weights and records them
    ext = {**cfg, "init": {"config": str(path), "weights": str(tmp_path / "w" / "tiny")},
           "stages": [{"name": "e", "level": "dft", "epochs": 1, "lr": 1e-9, "max_molecules": 16}]}
    (tmp_path / "ext.yaml").write_text(yaml.safe_dump(ext))
    assert build.main([str(tmp_path / "ext.yaml"), "--out", str(tmp_path / "w" / "ext"),
                       "--runs-dir", str(tmp_path / "runs"), "--no-evaluate"]) == 0
    base = json.load(open(tmp_path / "w" / "ext.json"))["build"]["base"]
    assert base["weights_sha256"] == ds.file_digest(str(tmp_path / "w" / "tiny.pt"), full=True)
    assert base["base_build"]["config_sha256"] == b["config_sha256"]
    ext_state = torch.load(tmp_path / "w" / "ext.pt", weights_only=True)
    assert max(float((ext_state[k] - state[k]).abs().max()) for k in state) < 1e-5   # lr 1e-9: ~unchanged
    (tmp_path / "w" / "tiny.pt").rename(tmp_path / "w" / "gone.pt")
    with pytest.raises(SystemExit, match="base weights"):
        build.main([str(tmp_path / "ext.yaml"), "--out", str(tmp_path / "w" / "ext2"),
                    "--runs-dir", str(tmp_path / "runs2"), "--no-evaluate"])
    # a misspelt key is refused
    path.write_text(yaml.safe_dump({**cfg, "stages": [{**cfg["stages"][0], "epohcs": 1}]}))
    with pytest.raises(SystemExit, match="epohcs"):
        build.load_config(str(path))


def test_relabel_rewrites_naming_fields_only(tmp_path):
    from mepviz import registry
    from train import build
    src = json.load(open(os.path.join(ds.ROOT, "weights", "dipole-xtb.json")))
    card = {**src, "name": "dipole", "recipe": "typed by hand", "training": {**src["training"], "stage_times_s": {}}}
    (tmp_path / "m.json").write_text(json.dumps(card))
    assert build.main(["dipole-xtb", "--out", str(tmp_path / "m"), "--relabel-only"]) == 0
    new = json.load(open(tmp_path / "m.json"))
    assert new["name"] == "dipole-xtb" and new["label"] == registry.MODELS["dipole-xtb"].label
    assert "recipe" not in new and "stage_times_s" not in new["training"] and not new["paper_variant"]
    assert new["config"] == src["config"] and new["test_metrics"] == src["test_metrics"]
    assert new["recipe_config"]["sha256"] == build.load_config("dipole-xtb")["_sha256"]



def test_relabel_repoints_moved_data_only_when_every_digest_matches():
    """A card built before its shards moved (here: study-mep-conformers' staged files recorded under
    elsewhere) takes the config's paths and hash; a changed digest or hyperparameter keeps it."""
    import copy
    from train import build
    cfg = build.load_config("study-mep-conformers")
    values = {k: v for k, v in cfg.items() if not k.startswith("_")}
    digests = build.data_digests(cfg)
    old = lambda f: f.replace("data/newchem_staged/", "data/elsewhere/")  # noqa: E731
    moved = {"config_values": {**values, "data": {**values["data"], "dft": [old(f) for f in values["data"]["dft"]]}},
             "config_sha256": "before the move", "data_sha256": {old(f): d for f, d in digests.items()}}
    block = copy.deepcopy(moved)
    build.repoint_moved_data(block, cfg)
    assert block == {"config_values": values, "config_sha256": cfg["_sha256"], "data_sha256": digests}
    changed = copy.deepcopy(moved)
    changed["data_sha256"][old("data/newchem_staged/ions_3.npz")] = "0" * 64
    other = copy.deepcopy(moved)
    other["config_values"]["batch_size"] = 64
    for block in (changed, other):
        before = copy.deepcopy(block)
        build.repoint_moved_data(block, cfg)
        assert block == before


# ------------------------------------------------------------------ molecules beyond QM9
def test_named_molecules_load_with_their_charges_and_split_by_name(tmp_path):
    """Beyond-QM9 label files (name + total charge) train alongside QM9: stable keys that are
    never QM9 indices, the total charge reaches the batch, and test-set molecules are refused."""
    newchem = os.path.join(ds.ROOT, "data", "newchem")
    files = [os.path.join(newchem, f) for f in ("train_spice.npz", "train_dft.npz")]
    ms = ds.load_files(files)
    with np.load(files[1], allow_pickle=False) as d:
        names, charges = d["name"], d["charge"]
    assert (ms.qm9_index >= ds.NAMED_KEY_BASE).all()
    assert np.array_equal(ds.named_key(names), ds.load_npz(files[1]).qm9_index)
    assert set(np.unique(ms.total_charge)) == set(np.unique(charges).astype(float)) and (charges != 0).any()
    k = int(np.flatnonzero(ds.load_npz(files[1]).total_charge != 0)[0])
    b = ds.load_npz(files[1]).batch([k])
    assert float(b["total_charge"][0]) == charges[k] != 0
    # mixed with QM9 files: neutral QM9 molecules get 0, the split is by name for named ones
    train, val = ds.training_data(files + ds.dft_files(), 0.1, 0)
    assert len(val) > 0 and not set(train.qm9_index) & set(val.qm9_index)
    assert set(np.unique(train.total_charge[train.qm9_index < ds.NAMED_KEY_BASE])) == {0.0}
    assert np.array_equal(ds.validation_mask(ds.named_key(names)), np.isin(ds.named_key(names), val.qm9_index))
    # a copy of a test-set molecule in a training file is dropped
    with np.load(os.path.join(newchem, "test_ions.npz"), allow_pickle=False) as d:
        leak = {k: d[k] for k in d.files}
    leak_path = tmp_path / "train_leak.npz"
    np.savez(leak_path, **leak)
    assert len(ds.load_files([str(leak_path)])) == len(leak["name"])
    tr_leak, val_leak = ds.training_data([str(leak_path)], 0.1, 0)
    assert len(tr_leak) + len(val_leak) == 0


def test_shipped_models_cover_the_new_chemistry_their_cards_claim():
    """The card's training chemistry is what the DFT training files hold (applicability reads it)."""
    from mepviz.model import load_card
    from train import build
    for name in ("quadrupole", "dipole"):
        card = load_card(os.path.join(ds.ROOT, "weights", name))
        cfg = build.load_config(name)
        train, _ = ds.training_data([os.path.join(ds.ROOT, f) for f in cfg["data"]["dft"]], 0.1, 0)
        assert card["training_elements"] == sorted(int(z) for z in np.unique(train.z))
        assert {17, 16}.issubset(card["training_elements"]) and -1 in card["training_charges"]


def test_repeated_files_weigh_more_per_epoch_and_bad_specs_are_refused(tmp_path):
    files = [os.path.join(ds.ROOT, "data", "newchem", "train_dft.npz")] + ds.dft_files()[:1]
    train, _ = ds.training_data(files, 0.1, 0)
    src = ds.source_name(files[0])
    n_new = int((train.source == src).sum())
    twice = ds.repeat_files(train, {src: 3})
    assert len(twice) == len(train) + 2 * n_new and int((twice.source == src).sum()) == 3 * n_new
    assert np.array_equal(np.unique(twice.qm9_index), np.unique(train.qm9_index))
    b = twice.batch(np.arange(len(twice)))
    assert float(b["total_charge"].abs().sum()) == 3 * float(np.abs(train.total_charge[train.source == src]).sum())
    with pytest.raises(ValueError, match="no training molecules"):
        ds.repeat_files(train, {"data/qm9/nothing.npz": 2})
    with pytest.raises(SystemExit, match="FILE=K"):
        tr._file_repeat("data/x.npz=0")
    import yaml
    from train import build
    cfg = yaml.safe_load(open(build.config_path("quadrupole")))
    cfg["data"]["dft_repeat"] = {"data/newchem/not_listed.npz": 2}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(SystemExit, match="not_listed"):
        build.load_config(str(tmp_path / "bad.yaml"))
