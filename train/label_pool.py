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

Geometry: SPICE rows (`source` "SPICE DES monomer (conformation k)") use that SPICE conformation (nm → Å);
thermal-snapshot rows (`source` "thermal snapshot k (MMFF94, 500 K) of …") snapshot k of an MMFF94
Langevin trajectory from the SMILES geometry (train/thermal.py); every other row goes through
the app's SMILES pipeline (mepviz.inputs.from_smiles: canonical atom order, lowest-MMFF of 8
conformers), so training geometries are what users get.

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
import os
import sys
import time
from functools import partial

import numpy as np

from mepviz.units import DEBYE_PER_E_ANGSTROM, HARTREE_TO_KCAL_MOL
from train.label import esp_points
from train import labelling
from train.pools import _interleave, read_rows, spice_conformation, spice_group, thermal_snapshot

SPICE_HDF5 = os.path.join("data", "spice", "des-monomers.hdf5")


def spice_molecule(name: str, charge: int, conformation: int = 0):
    """The SPICE DES monomer `name` at one of its conformations (atom k = map number k+1), as a
    Molecule."""
    import h5py
    from rdkit import Chem

    from mepviz.molecule import Molecule
    with h5py.File(SPICE_HDF5, "r") as f:
        mapped = f[name]["smiles"][0].decode()
        conf = np.asarray(f[name]["conformations"][conformation], float) * 10.0        # nm → Å
    m = Chem.MolFromSmiles(mapped, sanitize=False)
    z = np.zeros(m.GetNumAtoms(), int)
    for a in m.GetAtoms():
        z[a.GetAtomMapNum() - 1] = a.GetAtomicNum()
    return Molecule(z, conf, charge=charge, name=name)


def molecule_of(row: dict):
    """The labelled geometry of a pool row: its exported `z`/`pos` when present (see
    `export_geometries`), else the SPICE conformation its source names, else the app's SMILES
    pipeline."""
    if "z" in row:
        from mepviz.molecule import Molecule
        return Molecule(row["z"], row["pos"], charge=int(row["charge"]), name=row["id"])
    k = spice_conformation(row)
    if k is not None:
        return spice_molecule(spice_group(row), int(row["charge"]), k)
    k = thermal_snapshot(row)
    if k is not None:
        from train.thermal import thermal_molecule
        return thermal_molecule(row["smiles"], int(row["charge"]), k, name=row["id"])
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
    """The label file and the failure file of a row."""
    stem = labelling.safe_stem(row_id)
    return labelling.label_file(out_dir, stem), labelling.failed_file(out_dir, stem)


def _task(row: dict) -> labelling.Task:
    meta = {k: v for k, v in row.items() if k not in ("z", "pos")}
    return labelling.Task(labelling.safe_stem(row["id"]), row, meta, title=row["id"])


def _summary(rec: dict) -> dict:
    """The numbers of a label's progress line (computed on the worker)."""
    return {"atoms": len(rec["z"]),
            "mu_debye": float(np.linalg.norm(rec["dipole"]) * DEBYE_PER_E_ANGSTROM),
            "scf_s": float(rec["wall_time"]), "esp_s": float(rec["esp_time"])}


def _describe(task, s: dict) -> str:
    return (f"{task.title} ({s['atoms']} atoms): {s['seconds']:.0f} s "
            f"(SCF {s['scf_s']:.0f} s, MEP {s['esp_s']:.0f} s), |μ| {s['mu_debye']:.2f} D")


def label_task(row: dict, out_dir: str, device: str = "cpu") -> dict:
    """Label one row into out_dir (what a dask worker runs); returns a short status dict
    (id, ok, seconds, error or atoms, mu_debye, scf_s, esp_s)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return {"id": row["id"], **labelling.attempt(partial(label_row, device=device), _task(row), out_dir,
                                                 summary=_summary)}


def _round_robin(lists):
    return _interleave(*lists)


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
        if row["id"] in packed or (spice_conformation(row) == 0 and row["smiles"] in seeded):
            return False
        return labelling.pending(out_dir, labelling.safe_stem(row["id"]), retry_failed)

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
    keep = []
    for row in rows:
        try:
            mol = molecule_of(row)
        except Exception as exc:     # noqa: BLE001
            log(f"{row['id']}: no geometry ({exc}); skipped")
            continue
        keep.append({**row, "z": mol.numbers, "pos": mol.positions})
    labelling.write_record(out_path, labelling.flatten(keep, GEOMETRY_FIELDS), compressed=True)
    log(f"wrote {len(keep)} geometries to {out_path}")
    return len(keep)


#: an `export_geometries` file
GEOMETRY_FIELDS = (labelling.molecule("id", str), labelling.molecule("smiles", str), labelling.molecule("source", str),
                   labelling.molecule("charge", np.int64), labelling.count("atom_count", "z"),
                   labelling.rows("z", "atom_count", np.int16), labelling.rows("pos", "atom_count", shape=(3,)))


def geometry_rows(path: str) -> list[dict]:
    """The rows of an `export_geometries` file, each with its `z` and `pos` (Å)."""
    return [{"id": str(r["id"]), "smiles": str(r["smiles"]), "source": str(r["source"]),
             "charge": int(r["charge"]), "heavy_atoms": 0, "z": r["z"].astype(int), "pos": r["pos"]}
            for r in labelling.unflatten(labelling.read_record(path), GEOMETRY_FIELDS)]


def run(pools: list[str], out_dir: str, workers: int = 2, scheduler: str | None = None,
        device: str = "cpu", retry_failed: bool = False, limit: int | None = None, mix: bool = False,
        geometries: str | None = None, log=print) -> dict:
    """Label every unlabelled row of `pools` on dask.distributed (in pool order, or round-robin
    across the pools with `mix`); returns counts."""
    if geometries:
        rows = [r for r in geometry_rows(geometries)
                if labelling.pending(out_dir, labelling.safe_stem(r["id"]), retry_failed)]
        rows = rows[:limit] if limit else rows
    else:
        rows = todo_rows(pools, out_dir, retry_failed, limit, mix)
    log(f"{len(rows)} molecules to label from {', '.join(pools) or geometries} into {out_dir}")
    res = labelling.run([_task(r) for r in rows], partial(label_row, device=device), out_dir,
                        retry_failed=retry_failed, summary=_summary, describe=_describe, dask=True,
                        workers=workers, scheduler=scheduler, log=log)
    return {"done": res["done"], "failed": res["failed"]}


# --------------------------------------------------------------------------- packing

SEED_FILE = os.path.join("data", "spice", "des_monomers_dft_seed.npz")


#: the seed file's arrays (SPICE monomers: per-molecule, per-atom and MEP-point arrays)
SEED_FIELDS = (labelling.molecule("smiles"), labelling.molecule("charge"), labelling.rows("z", "atom_count"),
               labelling.rows("pos", "atom_count"), labelling.molecule("dipole"), labelling.molecule("center_of_mass"),
               labelling.molecule("quadrupole_com"),
               *(labelling.rows(k, "iso_count") for k in ("iso_points", "iso_esp")),
               *(labelling.rows(k, "shell_count") for k in ("shell_points", "shell_esp", "shell_scale")))


def seed_records() -> dict[str, dict]:
    """The shared seed labels (SPICE monomers, conformation 0) by canonical SMILES, as label
    records; what the seed lacks (energy, raw second moment, timings) is NaN / −1."""
    from train.pools import canonical
    out = {}
    for rec in labelling.unflatten(labelling.read_record(SEED_FILE), SEED_FIELDS):
        smi = canonical(str(rec["smiles"]))
        out[smi] = {**rec, "smiles": np.str_(smi), "energy": np.nan, "second_moment": np.full((3, 3), np.nan),
                    "basis": np.str_("6-31g(2df,p)"), "n_basis": -1, "wall_time": np.nan, "esp_time": np.nan}
    return out


#: a packed file of pool labels (the keys of the SPICE seed file and more; MEPs in hartree/e)
FIELDS = (*(labelling.molecule(k, str) for k in ("name", "smiles", "source", "basis")),
          labelling.molecule("charge", np.int64), labelling.count("atom_count", "z"),
          labelling.rows("z", "atom_count", np.int8), labelling.rows("pos", "atom_count", shape=(3,)),
          labelling.molecule("energy", np.float64), labelling.molecule("n_basis", np.int64),
          labelling.molecule("wall_time", np.float64), labelling.molecule("esp_time", np.float64),
          labelling.molecule("dipole", shape=(3,)), labelling.molecule("second_moment", shape=(3, 3)),
          labelling.molecule("center_of_mass", shape=(3,)), labelling.molecule("quadrupole_com", shape=(3, 3)),
          labelling.count("iso_count", "iso_esp"), labelling.count("shell_count", "shell_esp"),
          *(labelling.rows(k, "iso_count", shape=s) for k, s in (("iso_points", (3,)), ("iso_esp", ()))),
          *(labelling.rows(k, "shell_count", shape=s)
            for k, s in (("shell_points", (3,)), ("shell_esp", ()), ("shell_scale", ()))))


def packed_records(path: str) -> dict[str, dict]:
    """The per-molecule records of a packed file (the inverse of `pack`), by name."""
    return {str(r["name"]): r for r in labelling.unflatten(labelling.read_record(path), FIELDS)}


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


def pack(label_dir: str, pools: list[str], out_path: str, log=print, new_only: bool = False,
         not_in: tuple[str, ...] = ()) -> dict:
    """Pack the finished labels of the rows of `pools` (pool order) into one .npz (the keys of
    the SPICE seed file: per-atom arrays concatenated, MEPs in hartree/e). Rows without a label
    file in `label_dir` are kept from `out_path` when it already holds them (labels of earlier
    sessions: the label folder is not in git); SPICE rows with a seed label come from the seed
    file (same level of theory and geometry). With `new_only`, rows packed in another file of
    `out_path`'s folder are left out, so the file is a new shard beside them (models whose
    cards hash the older shards keep their exact training data); rows packed in a file of a
    `not_in` folder are left out too (staged labels: not those the shipped shards already hold)."""
    seed = seed_records()
    packed = packed_records(out_path) if os.path.exists(out_path) else {}
    folder = os.path.dirname(os.path.abspath(out_path))
    elsewhere = set()
    others = (glob.glob(os.path.join(folder, "*.npz")) if new_only else []) + \
        [f for d in not_in for f in glob.glob(os.path.join(d, "*.npz"))]
    for other in others:
        if os.path.abspath(other) != os.path.abspath(out_path):
            elsewhere |= packed_names_of(other)
    recs = []
    for pool in pools:
        for row in read_rows(pool):
            if row["id"] in elsewhere:
                continue
            path = _paths(label_dir, row["id"])[0]
            if os.path.exists(path):
                recs.append(labelling.read_record(path))
            elif row["id"] in packed:                    # labelled in an earlier session
                recs.append(packed[row["id"]])
            elif spice_conformation(row) == 0 and row["smiles"] in seed:
                recs.append({**seed[row["smiles"]], "name": np.str_(row["id"]), "source": np.str_(row["source"])})
    if not recs:
        raise ValueError(f"no finished labels for {pools} in {label_dir}")
    out = labelling.flatten(recs, FIELDS)
    labelling.write_record(out_path, out, compressed=True)
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
    p.add_argument("--not-in", action="append", default=[], metavar="DIR",
                   help="leave out rows packed in any .npz of DIR too (e.g. data/newchem for staged labels)")
    a = ap.parse_args(argv)
    return labelling.command(lambda: _command(a))


def _command(a) -> None:
    if a.cmd == "run":
        if not a.pool and not a.geometries:
            raise ValueError("give --pool or --geometries")
        run(a.pool, a.out, workers=a.workers, scheduler=a.scheduler, device=a.device,
            retry_failed=a.retry_failed, limit=a.limit, mix=a.mix, geometries=a.geometries, log=lambda s: print(s, flush=True))
    elif a.cmd == "export":
        export_geometries(a.pool, a.out, a.labels, mix=a.mix, limit=a.limit)
    else:
        pack(a.labels, a.pool, a.out, new_only=a.new_only, not_in=tuple(a.not_in))


if __name__ == "__main__":
    sys.exit(main())
