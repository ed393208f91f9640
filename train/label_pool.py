"""DFT labels (moments + surface MEP) for pool molecules beyond QM9, on dask.distributed.

    python -m train.label_pool run --pool data/pools/sigma_hole.csv [--pool ...] --out train/labels_pool
           [--workers 2 | --scheduler tcp://host:8786] [--device cpu|gpu] [--limit N]
    python -m train.label_pool export --pool ... --out .gpu/geometries.npz     # for a GPU machine
    python -m train.label_pool run --geometries .gpu/geometries.npz --device gpu --workers 14
    python -m train.label_pool pack --labels train/labels_pool --pool data/pools/test_drugs.csv --out data/newchem/test_drugs.npz

`run` computes every row of the pool CSVs (train/pools.py) that has no label yet, with the one
PySCF code path (mepviz.reference.ReferenceEngine: B3LYP/6-31G(2df,p), def2-TZVP + ECP for
Br/I, density fitting, grid level 1, conv_tol 1e-8, the molecule's total charge) and writes
``<out>/<id>.npz`` atomically per molecule (resumable: finished and failed ids are skipped).
Pools are labelled in the order given, rows in file order (dask priorities), on a dask
LocalCluster of ``--workers`` single-threaded processes, or on an existing cluster with
``--scheduler`` (spread over machines).

Geometry: SPICE rows (`source` starting with "SPICE") use SPICE's conformation 0 (nm → Å);
every other row goes through the app's SMILES pipeline (mepviz.inputs.from_smiles: canonical
atom order, lowest-MMFF of 8 conformers), so training geometries are what users get.

Each label holds: id, smiles, source, charge, z, pos (Å), energy (Eh), dipole (e·Å, about
the centre of mass), second_moment (e·Å², raw, about (0,0,0)), center_of_mass, quadrupole_com
(traceless Buckingham, e·Å², about the centre of mass), and the MEP (hartree/e) on ≤ 3000
vertices of the DFT ρ = 0.001 e/bohr³ isodensity surface and on Merz–Kollman shells (1.4–2.0 ×
Bondi radii), plus basis, n_basis, scf_cycles, wall_time (SCF), esp_time — the data the
app's DFT time estimate is calibrated on.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np

from mepviz.reference import atomic_write
from mepviz.units import DEBYE_PER_E_ANGSTROM, HARTREE_TO_KCAL_MOL
from train.label import esp_points
from train.pools import read_rows

SPICE_HDF5 = os.path.join("data", "spice", "des-monomers.hdf5")


def spice_molecule(name: str, charge: int):
    """The SPICE DES monomer `name`, conformation 0 (atom k = map number k+1), as a Molecule."""
    import h5py
    from rdkit import Chem

    from mepviz.molecule import Molecule
    with h5py.File(SPICE_HDF5, "r") as f:
        mapped = f[name]["smiles"][0].decode()
        conf = np.asarray(f[name]["conformations"][0], float) * 10.0        # nm → Å
    m = Chem.MolFromSmiles(mapped, sanitize=False)
    z = np.zeros(m.GetNumAtoms(), int)
    for a in m.GetAtoms():
        z[a.GetAtomMapNum() - 1] = a.GetAtomicNum()
    return Molecule(z, conf, charge=charge, name=name)


def molecule_of(row: dict):
    """The labelled geometry of a pool row: its exported `z`/`pos` when present (see
    `export_geometries`), else SPICE conformation 0, else the app's SMILES pipeline."""
    if "z" in row:
        from mepviz.molecule import Molecule
        return Molecule(row["z"], row["pos"], charge=int(row["charge"]), name=row["id"])
    if row["source"].startswith("SPICE"):
        return spice_molecule(row["id"], int(row["charge"]))
    from mepviz.inputs import from_smiles
    return from_smiles(row["smiles"], charge=int(row["charge"]), name=row["id"])


def label_row(row: dict, device: str = "cpu") -> dict:
    """DFT moments and surface MEP of one pool row; the record written by `run`."""
    from mepviz.reference import ReferenceEngine, basis_label
    mol = molecule_of(row)
    engine = ReferenceEngine(cache_dir=False, device=device)
    r = engine.run(mol)
    if not r.converged:
        raise RuntimeError("SCF not converged")
    t0 = time.perf_counter()
    iso, shell, scale = esp_points(r, mol)
    rec = dict(
        name=np.str_(row["id"]), smiles=np.str_(row["smiles"]), source=np.str_(row["source"]),
        charge=np.int64(mol.charge), z=np.asarray(mol.numbers, np.int8), pos=np.asarray(mol.positions),
        energy=np.float64(r.energy), dipole=r.dipole_com, second_moment=r.second_moment,
        center_of_mass=r.center_of_mass, quadrupole_com=r.quadrupole,
        iso_points=iso.astype(np.float32), iso_esp=(r.mep(iso) / HARTREE_TO_KCAL_MOL).astype(np.float32),
        shell_points=np.asarray(shell, np.float32), shell_scale=np.asarray(scale, np.float32),
        shell_esp=(r.mep(shell) / HARTREE_TO_KCAL_MOL).astype(np.float32),
        method=np.str_(r.method), basis=np.str_(basis_label(mol.numbers, r.basis)),
        n_basis=np.int64(r.pyscf_mol.nao_nr()), scf_cycles=np.int64(r.scf_cycles),
        wall_time=np.float64(r.wall_time), pyscf_version=np.str_(r.pyscf_version), device=np.str_(device))
    rec["esp_time"] = np.float64(time.perf_counter() - t0)
    return rec


def _paths(out_dir: str, row_id: str) -> tuple[str, str]:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in row_id)
    return os.path.join(out_dir, safe + ".npz"), os.path.join(out_dir, safe + ".failed.json")


def label_task(row: dict, out_dir: str, device: str = "cpu") -> dict:
    """Label one row into out_dir (runs on a dask worker); returns a short status dict."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    done, failed = _paths(out_dir, row["id"])
    t0 = time.perf_counter()
    try:
        rec = label_row(row, device=device)
    except Exception as exc:     # noqa: BLE001 - record and move on; never stop the run
        msg = f"{type(exc).__name__}: {exc}"
        meta = {k: v for k, v in row.items() if k not in ("z", "pos")}
        atomic_write(failed, lambda fh: fh.write(json.dumps({**meta, "error": msg}).encode()))
        return {"id": row["id"], "ok": False, "error": msg, "seconds": time.perf_counter() - t0}
    atomic_write(done, lambda fh: np.savez(fh, **rec))
    return {"id": row["id"], "ok": True, "seconds": time.perf_counter() - t0, "atoms": len(rec["z"]),
            "mu_debye": float(np.linalg.norm(rec["dipole"]) * DEBYE_PER_E_ANGSTROM),
            "scf_s": float(rec["wall_time"]), "esp_s": float(rec["esp_time"])}


def _round_robin(lists):
    out = []
    for k in range(max(map(len, lists), default=0)):
        out += [rows[k] for rows in lists if k < len(rows)]
    return out


def pool_selection(spec: str) -> list[dict]:
    """Rows of a pool given as ``PATH`` or ``PATH:charged`` (only rows with a nonzero total
    charge, so a `--mix` run can give ions their own share of the queue)."""
    path, _, which = spec.partition(":")
    rows = read_rows(path)
    if which == "charged":
        return [r for r in rows if r["charge"] != 0]
    if which:
        raise ValueError(f"unknown pool selection {which!r} in {spec!r} (known: charged)")
    return rows


def todo_rows(pools: list[str], out_dir: str, retry_failed: bool = False, limit: int | None = None,
              mix: bool = False):
    """Rows of `pools` still to label: not done or failed in `out_dir`, not already packed in
    data/newchem (earlier sessions), and not a SPICE monomer whose conformation 0 already has a
    seed label (data/spice/des_monomers_dft_seed.npz)."""
    from train.pools import seed_smiles
    seeded = seed_smiles()
    packed = packed_names()
    def wanted(row):
        if row["id"] in packed or (row["source"].startswith("SPICE") and row["smiles"] in seeded):
            return False
        done, failed = _paths(out_dir, row["id"])
        return not (os.path.exists(done) or (not retry_failed and os.path.exists(failed)))

    pool_rows = [[r for r in pool_selection(pool) if wanted(r)] for pool in pools]
    rows, seen = [], set()
    for row in (_round_robin(pool_rows) if mix else [r for rs in pool_rows for r in rs]):
        if row["id"] not in seen:
            seen.add(row["id"])
            rows.append(row)
    return rows[:limit] if limit else rows


def export_geometries(pools: list[str], out_path: str, out_dir: str, mix: bool = False,
                      limit: int | None = None, log=print) -> int:
    """Write the geometries of the rows still to label to one .npz, so a machine without
    RDKit/h5py (a lent GPU machine with only PySCF + gpu4pyscf) can label them with
    ``run --geometries``. Returns the number of molecules written."""
    rows = todo_rows(pools, out_dir, limit=limit, mix=mix)
    keep, z, pos = [], [], []
    for row in rows:
        try:
            mol = molecule_of(row)
        except Exception as exc:     # noqa: BLE001
            log(f"{row['id']}: no geometry ({exc}); skipped")
            continue
        keep.append(row)
        z.append(mol.numbers)
        pos.append(mol.positions)
    arrays = {k: np.array([str(r[k]) for r in keep]) for k in ("id", "smiles", "source")}
    arrays.update(charge=np.array([int(r["charge"]) for r in keep], np.int64),
                  atom_count=np.array([len(a) for a in z], np.int32),
                  z=np.concatenate(z).astype(np.int16), pos=np.concatenate(pos))
    atomic_write(out_path, lambda fh: np.savez_compressed(fh, **arrays))
    log(f"wrote {len(keep)} geometries to {out_path}")
    return len(keep)


def geometry_rows(path: str) -> list[dict]:
    """The rows of an `export_geometries` file, each with its `z` and `pos` (Å)."""
    with np.load(path, allow_pickle=False) as d:
        ends = np.cumsum(d["atom_count"])
        return [{"id": str(d["id"][k]), "smiles": str(d["smiles"][k]), "source": str(d["source"][k]),
                 "charge": int(d["charge"][k]), "heavy_atoms": 0,
                 "z": d["z"][e - n:e].astype(int), "pos": d["pos"][e - n:e]}
                for k, (e, n) in enumerate(zip(ends, d["atom_count"]))]


def run(pools: list[str], out_dir: str, workers: int = 2, scheduler: str | None = None,
        device: str = "cpu", retry_failed: bool = False, limit: int | None = None, mix: bool = False,
        geometries: str | None = None, log=print) -> dict:
    """Label every unlabelled row of `pools` on dask.distributed (in pool order, or round-robin
    across the pools with `mix`); returns counts."""
    import dask
    from dask.distributed import Client, LocalCluster, as_completed
    # one molecule can keep a worker busy in C code for many minutes on a loaded machine:
    # never restart a worker for missed heartbeats (that throws the SCF away)
    dask.config.set({"distributed.scheduler.worker-ttl": None})
    os.makedirs(out_dir, exist_ok=True)
    if geometries:
        rows = [r for r in geometry_rows(geometries) if not any(map(os.path.exists, _paths(out_dir, r["id"])))]
        rows = rows[:limit] if limit else rows
    else:
        rows = todo_rows(pools, out_dir, retry_failed, limit, mix)
    log(f"{len(rows)} molecules to label from {', '.join(pools) or geometries} into {out_dir}")
    if not rows:
        return {"done": 0, "failed": 0}
    os.environ["OMP_NUM_THREADS"] = "1"          # inherited by LocalCluster worker processes
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, memory_limit=0)
        client = Client(cluster)
    out_abs = os.path.abspath(out_dir)
    t0 = time.monotonic()
    futures = [client.submit(label_task, row, out_abs, device, key=f"label-{row['id']}",
                             priority=-k, pure=False, retries=1) for k, row in enumerate(rows)]
    done, failed = 0, 0
    try:
        for k, fut in enumerate(as_completed(futures), 1):
            try:
                s = fut.result()
            except Exception as exc:     # noqa: BLE001 - a killed worker (memory) etc.
                failed += 1
                log(f"[{k}/{len(rows)}] task failed: {exc}")
                continue
            elapsed = time.monotonic() - t0
            if s["ok"]:
                done += 1
                log(f"[{k}/{len(rows)}] {s['id']} ({s['atoms']} atoms): {s['seconds']:.0f} s "
                    f"(SCF {s['scf_s']:.0f} s, MEP {s['esp_s']:.0f} s), |μ| {s['mu_debye']:.2f} D | "
                    f"{k / elapsed * 3600:.0f} mol/h")
            else:
                failed += 1
                log(f"[{k}/{len(rows)}] {s['id']} FAILED: {s['error']}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    log(f"finished: {done} labelled, {failed} failed in {time.monotonic() - t0:.0f} s")
    return {"done": done, "failed": failed}


# --------------------------------------------------------------------------- packing

SEED_FILE = os.path.join("data", "spice", "des_monomers_dft_seed.npz")


def seed_records() -> dict[str, dict]:
    """The shared seed labels (SPICE monomers, conformation 0) by canonical SMILES, as label
    records; what the seed lacks (energy, raw second moment, timings) is NaN / −1."""
    from train.pools import canonical
    with np.load(SEED_FILE, allow_pickle=False) as f:
        d = {k: f[k] for k in f.files}          # read each array once (NpzFile re-reads per access)
    a0 = np.concatenate([[0], np.cumsum(d["atom_count"])])
    i0 = np.concatenate([[0], np.cumsum(d["iso_count"])])
    s0 = np.concatenate([[0], np.cumsum(d["shell_count"])])
    out = {}
    for k, smi in enumerate(d["smiles"]):
        out[canonical(str(smi))] = dict(
            smiles=np.str_(canonical(str(smi))), charge=d["charge"][k],
            z=d["z"][a0[k]:a0[k + 1]], pos=d["pos"][a0[k]:a0[k + 1]], energy=np.nan,
            dipole=d["dipole"][k], second_moment=np.full((3, 3), np.nan),
            center_of_mass=d["center_of_mass"][k], quadrupole_com=d["quadrupole_com"][k],
            iso_points=d["iso_points"][i0[k]:i0[k + 1]], iso_esp=d["iso_esp"][i0[k]:i0[k + 1]],
            shell_points=d["shell_points"][s0[k]:s0[k + 1]], shell_esp=d["shell_esp"][s0[k]:s0[k + 1]],
            shell_scale=d["shell_scale"][s0[k]:s0[k + 1]], basis=np.str_("6-31g(2df,p)"),
            n_basis=-1, wall_time=np.nan, esp_time=np.nan)
    return out


PER_MOLECULE = ("name", "smiles", "source", "basis", "charge", "energy", "n_basis", "wall_time", "esp_time",
                "dipole", "second_moment", "center_of_mass", "quadrupole_com")
COUNTED = {"z": "atom_count", "pos": "atom_count", "iso_points": "iso_count", "iso_esp": "iso_count",
           "shell_points": "shell_count", "shell_esp": "shell_count", "shell_scale": "shell_count"}


def packed_records(path: str) -> dict[str, dict]:
    """The per-molecule records of a packed file (the inverse of `pack`), by name."""
    with np.load(path, allow_pickle=False) as f:
        d = {k: f[k] for k in f.files}
    ends = {c: np.cumsum(d[c]) for c in set(COUNTED.values())}
    out = {}
    for k, name in enumerate(d["name"]):
        rec = {key: d[key][k] for key in PER_MOLECULE}
        for key, c in COUNTED.items():
            e = ends[c][k]
            rec[key] = d[key][e - d[c][k]:e]
        out[str(name)] = rec
    return out


def packed_names_of(path: str) -> set[str]:
    """Names of the molecules packed in one file."""
    with np.load(path, allow_pickle=False) as d:
        return {str(n) for n in d["name"]}


def packed_names(data_dir: str = os.path.join("data", "newchem")) -> set[str]:
    """Names of every molecule already packed under `data_dir`."""
    names = set()
    for path in glob.glob(os.path.join(data_dir, "*.npz")):
        names |= packed_names_of(path)
    return names


def pack(label_dir: str, pools: list[str], out_path: str, log=print, new_only: bool = False) -> dict:
    """Pack the finished labels of the rows of `pools` (pool order) into one .npz (the keys of
    the SPICE seed file: per-atom arrays concatenated, MEPs in hartree/e). Rows without a label
    file in `label_dir` are kept from `out_path` when it already holds them (labels of earlier
    sessions: the label folder is not in git); SPICE rows with a seed label come from the seed
    file (same level of theory and geometry). With `new_only`, rows packed in another file of
    `out_path`'s folder are left out, so the file is a new shard beside them (models whose
    cards hash the older shards keep their exact training data)."""
    seed = seed_records()
    packed = packed_records(out_path) if os.path.exists(out_path) else {}
    folder = os.path.dirname(os.path.abspath(out_path))
    elsewhere = set()
    if new_only:
        for other in glob.glob(os.path.join(folder, "*.npz")):
            if os.path.abspath(other) != os.path.abspath(out_path):
                elsewhere |= packed_names_of(other)
    recs = []
    for pool in pools:
        for row in read_rows(pool):
            if row["id"] in elsewhere:
                continue
            path = _paths(label_dir, row["id"])[0]
            if os.path.exists(path):
                with np.load(path, allow_pickle=False) as d:
                    recs.append({k: d[k] for k in d.files})
            elif row["id"] in packed:                    # labelled in an earlier session
                recs.append(packed[row["id"]])
            elif row["source"].startswith("SPICE") and row["smiles"] in seed:
                recs.append({**seed[row["smiles"]], "name": np.str_(row["id"]), "source": np.str_(row["source"])})
    if not recs:
        raise ValueError(f"no finished labels for {pools} in {label_dir}")
    out = {
        "name": np.array([str(r["name"]) for r in recs]),
        "smiles": np.array([str(r["smiles"]) for r in recs]),
        "source": np.array([str(r["source"]) for r in recs]),
        "basis": np.array([str(r["basis"]) for r in recs]),
        "charge": np.array([int(r["charge"]) for r in recs], np.int64),
        "atom_count": np.array([len(r["z"]) for r in recs], np.int32),
        "z": np.concatenate([r["z"].astype(np.int8) for r in recs]),
        "pos": np.concatenate([r["pos"] for r in recs]),
        "energy": np.array([float(r["energy"]) for r in recs]),
        "n_basis": np.array([int(r["n_basis"]) for r in recs], np.int64),
        "wall_time": np.array([float(r["wall_time"]) for r in recs]),
        "esp_time": np.array([float(r["esp_time"]) for r in recs]),
    }
    for k in ("dipole", "second_moment", "center_of_mass", "quadrupole_com"):
        out[k] = np.stack([r[k] for r in recs])
    out["iso_count"] = np.array([len(r["iso_esp"]) for r in recs], np.int32)
    out["shell_count"] = np.array([len(r["shell_esp"]) for r in recs], np.int32)
    for k in ("iso_points", "iso_esp", "shell_points", "shell_esp", "shell_scale"):
        out[k] = np.concatenate([r[k] for r in recs])
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    atomic_write(out_path, lambda fh: np.savez_compressed(fh, **out))
    if os.path.basename(os.path.dirname(os.path.abspath(out_path))) == "newchem":
        write_readme(os.path.dirname(os.path.abspath(out_path)))      # the shards' generated table
    log(f"packed {len(recs)} molecules into {out_path}")
    return out


README_HEAD = """# newchem/ — DFT labels beyond QM9

Written by `python -m train.label_pool pack` (this file too: do not edit by hand). Recipe,
units and provenance: `data/README.md` (section "Beyond QM9") and `data/pools/README.md`.
Test sets (`test_*.npz`, `sigma_hole.npz`) are never trained or tuned on; `train_*.npz` are
training labels. Rows from `data/spice/des_monomers_dft_seed.npz` (SPICE monomers with H–Cl,
conformation 0) are copied from the seed (no energy or timings); all others were computed here.

| file | molecules | from the seed | charges (count) | atoms | elements |
|---|---|---|---|---|---|
"""


def write_readme(data_dir: str) -> str:
    """Regenerate ``<data_dir>/README.md`` from the packed files there."""
    from mepviz.elements import symbol
    lines = [README_HEAD]
    for path in sorted(glob.glob(os.path.join(data_dir, "*.npz"))):
        with np.load(path, allow_pickle=False) as d:
            q, n = d["charge"], d["atom_count"]
            charges = ", ".join(f"{c:+d}: {int((q == c).sum())}" for c in sorted(set(q.tolist())))
            seeded = int(np.isnan(d["wall_time"]).sum())
            els = " ".join(symbol(z) for z in sorted(set(d["z"].tolist())))
            lines.append(f"| `{os.path.basename(path)}` | {len(q)} | {seeded} | {charges} | "
                         f"{n.min()}–{n.max()} | {els} |\n")
    text = "".join(lines)
    with open(os.path.join(data_dir, "README.md"), "w") as fh:
        fh.write(text)
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.label_pool", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--pool", action="append", default=[], help="pool CSV (repeat; labelled in order)")
    r.add_argument("--geometries", help="an `export` file instead of pools (no RDKit needed)")
    r.add_argument("--out", default=os.path.join("train", "labels_pool"))
    r.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    r.add_argument("--scheduler", help="address of an existing dask scheduler instead of a LocalCluster")
    r.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    r.add_argument("--retry-failed", action="store_true")
    r.add_argument("--limit", type=int)
    r.add_argument("--mix", action="store_true", help="take rows round-robin across the pools")
    e = sub.add_parser("export", help="geometries of the rows still to label, for a GPU machine")
    e.add_argument("--pool", action="append", required=True)
    e.add_argument("--labels", default=os.path.join("train", "labels_pool"))
    e.add_argument("--out", required=True)
    e.add_argument("--mix", action="store_true")
    e.add_argument("--limit", type=int)
    p = sub.add_parser("pack")
    p.add_argument("--labels", default=os.path.join("train", "labels_pool"))
    p.add_argument("--pool", action="append", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--new-only", action="store_true",
                   help="leave out rows packed in another file of the output's folder (a new shard)")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "run":
            if not a.pool and not a.geometries:
                raise ValueError("give --pool or --geometries")
            run(a.pool, a.out, workers=a.workers, scheduler=a.scheduler, device=a.device,
                retry_failed=a.retry_failed, limit=a.limit, mix=a.mix, geometries=a.geometries, log=lambda s: print(s, flush=True))
        elif a.cmd == "export":
            export_geometries(a.pool, a.out, a.labels, mix=a.mix, limit=a.limit)
        else:
            pack(a.labels, a.pool, a.out, new_only=a.new_only)
    except (ValueError, OSError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
