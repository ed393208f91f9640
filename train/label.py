"""Label QM9 molecules with the DFT reference engine and pack them into data/qm9 shards.

    python -m train.label run  --start 433 --count 3000 --out train/labels [--no-esp] [--device cpu|gpu]
    python -m train.label pack --labels train/labels --out data/qm9/train_dft_433.npz
    python -m train.label check data/qm9/train_dft_433.npz
    python -m train.label export --start 1062 --count 6000 --out entries.npz   # for a GPU machine
    python -m train.label run --entries entries.npz --start 1062 --count 6000 --device gpu --shard 0/8

`run` walks the fixed QM9 permutation (train/qm9.py) from position --start, computes each
molecule with mepviz.reference.ReferenceEngine (B3LYP/6-31G(2df,p), density fitting,
grid level 1, conv_tol 1e-8: the recipe of the reference data) and writes one
``<position>.npz`` per molecule atomically as it finishes; rerunning skips finished ones
(resumable). Failures are written as ``<position>.failed.json`` and skipped (``--retry-failed``).
Positions 0–99 are reserved and 100–199 are the test split: `run` refuses them.

`pack` writes the flat format of the data README (qm9_index, smiles, atom_count, z, pos,
energy, dipole, second_moment, center_of_mass, quadrupole_com, qm9_dipole_debye; with
the MEP on iso_* and shell_* points unless --no-esp: every new label stores the surface MEP), rows sorted by qm9_index, plus ``position``.

`check` compares |μ| with QM9's Dipole_debye column and prints the distribution of |Δ| (D).
"""
from __future__ import annotations

import argparse
import glob
import os
import sys

import numpy as np

from mepviz.molecule import Molecule
from mepviz.units import DEBYE_PER_E_ANGSTROM, HARTREE_TO_KCAL_MOL
from train import labelling

#: positions below this are never labelled by `run` (reserved 0–99, test 100–199)
FIRST_LABEL_POSITION = 200
#: iso points kept per molecule (as in test.npz)
MAX_ISO_POINTS = 3000

BASE_KEYS = ("qm9_index", "smiles", "atom_count", "z", "pos", "energy", "dipole", "second_moment",
             "center_of_mass", "quadrupole_com", "qm9_dipole_debye")
ESP_KEYS = ("iso_count", "iso_points", "iso_esp", "shell_count", "shell_points", "shell_scale", "shell_esp")


# --------------------------------------------------------------------------- labelling

def molecule_of(entry) -> Molecule:
    """The mepviz Molecule of a QM9Entry (neutral singlet, QM9 coordinates as given)."""
    return Molecule(entry.numbers, entry.positions, name=f"QM9 {entry.index}", smiles=entry.smiles)


def esp_points(result, mol: Molecule):
    """The test.npz point sets: ≤3000 vertices of the DFT ρ = 0.001 surface (0.2 Å grid),
    and Merz–Kollman shells at 1.4–2.0 × Bondi radii (≈1 point/Å²)."""
    from mepviz.surfaces import shell_points
    verts = result.density_isosurface(isovalue=0.001, spacing=0.2).vertices
    if len(verts) > MAX_ISO_POINTS:
        verts = verts[np.linspace(0, len(verts) - 1, MAX_ISO_POINTS).round().astype(int)]
    shell, scale = shell_points(mol, scales=(1.4, 1.6, 1.8, 2.0), density=1.0)
    return verts, shell, scale


def label_entry(engine, entry, esp: bool = False, points=None, progress=None) -> dict:
    """Label one QM9 entry; returns the per-molecule record (README units).

    With `esp`, the MEP (hartree/e, as in test.npz) is added on the test.npz point sets, or on
    `points` = (iso_points, shell_points, shell_scale) when given.
    """
    mol = molecule_of(entry)
    r = engine.run(mol, progress=progress)
    rec = dict(
        position=np.int64(entry.position), qm9_index=np.int64(entry.index), smiles=np.str_(entry.smiles),
        z=np.asarray(entry.numbers, np.int8), pos=np.asarray(entry.positions, np.float64),
        energy=np.float64(r.energy), dipole=r.dipole, second_moment=r.second_moment,
        center_of_mass=r.center_of_mass, quadrupole_com=r.quadrupole,
        qm9_dipole_debye=np.float64(entry.dipole_debye),
        method=np.str_(r.method), basis=np.str_(r.basis), grid_level=np.int64(r.grid_level),
        density_fit=np.bool_(r.density_fit), pyscf_version=np.str_(r.pyscf_version),
        wall_time=np.float64(r.wall_time), scf_cycles=np.int64(r.scf_cycles),
        converged=np.bool_(r.converged))
    if esp or points is not None:
        iso, shell, scale = points if points is not None else esp_points(r, mol)
        iso = np.asarray(iso, np.float64).reshape(-1, 3)
        shell = np.asarray(shell, np.float64).reshape(-1, 3)
        rec.update(iso_points=iso.astype(np.float32),
                   iso_esp=(r.mep(iso) / HARTREE_TO_KCAL_MOL).astype(np.float32),
                   shell_points=shell.astype(np.float32),
                   shell_scale=np.asarray(scale, np.float32).reshape(-1),
                   shell_esp=(r.mep(shell) / HARTREE_TO_KCAL_MOL).astype(np.float32))
    return rec


def write_label(path: str, rec: dict):
    """Write one molecule's record as .npz, atomically."""
    labelling.write_record(path, rec)


def label_path(out_dir: str, position: int) -> str:
    return labelling.label_file(out_dir, _stem(position))


def _stem(position: int) -> str:
    return f"{int(position):06d}"


def _failed_path(out_dir, position):
    return labelling.failed_file(out_dir, _stem(position))


def run(start: int, count: int, out_dir: str, esp: bool = True, device: str = "cpu",
        retry_failed: bool = False, cache_dir=False, log=print, entries: str | None = None,
        shard: tuple[int, int] = (0, 1)) -> dict:
    """Label positions start … start+count−1 into `out_dir` (in this process, one engine);
    returns counts.

    `entries`: an `export_entries` file to read geometries from instead of qm9pack.
    `shard` = (j, n): only the positions p with (p − start) mod n == j, so n processes that
    share one GPU (or machine) split a range without overlap and stop with no large gaps.
    """
    from mepviz.reference import ReferenceEngine
    from train import qm9
    j, n_shards = shard
    if not 0 <= j < n_shards:
        raise ValueError(f"shard {j}/{n_shards}: need 0 ≤ j < n")
    table = qm9.load_entries(entries) if entries else None
    if start < FIRST_LABEL_POSITION:
        raise SystemExit(f"positions below {FIRST_LABEL_POSITION} are reserved (0–99) or the test split "
                         f"(100–199); start at {FIRST_LABEL_POSITION} or later")
    if start + count > qm9.N_QM9:
        count = qm9.N_QM9 - start
    os.makedirs(out_dir, exist_ok=True)
    engine = ReferenceEngine(cache_dir=cache_dir, device=device)
    log(f"labelling positions {start}–{start + count - 1} with {engine.level} "
        f"(PySCF {_pyscf_version()}, device {device}, esp={esp}) into {out_dir}")
    mine = range(start + j, start + count, n_shards)
    missing = [p for p in mine if table is not None and p not in table]
    if missing:
        raise ValueError(f"position {missing[0]} is not in {entries}")
    todo = [p for p in mine if labelling.pending(out_dir, _stem(p), retry_failed)]
    log(f"{len(mine) - len(todo)} already done or failed, {len(todo)} to go")
    tasks = []
    for p in todo:
        e = table[p] if table is not None else qm9.entry(p)
        tasks.append(labelling.Task(_stem(p), e, {"position": p, "qm9_index": e.index, "smiles": e.smiles},
                                    title=f"position {p} (QM9 {e.index})"))

    def work(entry):
        rec = label_entry(engine, entry, esp=esp)
        if not bool(rec["converged"]):
            raise RuntimeError("SCF not converged")
        return rec

    res = labelling.run(tasks, work, out_dir, retry_failed=retry_failed, summary=_summary,
                        describe=_describe, log=log)
    return {"done": res["done"], "failed": res["failed"], "skipped": len(mine) - len(todo)}


def _summary(rec: dict) -> dict:
    return {"atoms": len(rec["z"]), "mu_debye": float(np.linalg.norm(rec["dipole"]) * DEBYE_PER_E_ANGSTROM),
            "qm9_debye": float(rec["qm9_dipole_debye"])}


def _describe(task, s: dict) -> str:
    m = task.meta
    return (f"position {m['position']} QM9 {m['qm9_index']} {m['smiles']} ({s['atoms']} atoms): "
            f"{s['seconds']:.1f} s, |μ| {s['mu_debye']:.3f} D (QM9 {s['qm9_debye']:.3f})")


def _pyscf_version():
    import pyscf
    return pyscf.__version__


# --------------------------------------------------------------------------- packing

ESP_FIELDS = (labelling.count("iso_count", "iso_esp"), labelling.rows("iso_points", "iso_count", np.float32, (3,)),
              labelling.rows("iso_esp", "iso_count", np.float32),
              labelling.count("shell_count", "shell_esp"),
              *(labelling.rows(k, "shell_count", np.float32, s)
                for k, s in (("shell_points", (3,)), ("shell_esp", ()), ("shell_scale", ()))))
#: the packed file: data/qm9's keys plus `position`, then (every label has them) the MEP keys of test.npz
FIELDS = (*labelling.QM9_FIELDS, *ESP_FIELDS)


def load_labels(label_dir: str) -> list[dict]:
    """All finished per-molecule records in `label_dir` (unreadable files are skipped)."""
    recs = []
    for path in sorted(glob.glob(os.path.join(label_dir, "[0-9]*.npz"))):
        try:
            recs.append(labelling.read_record(path))
        except (OSError, ValueError, EOFError) as exc:
            print(f"skipping unreadable {path}: {exc}", file=sys.stderr)
    return recs


def pack_records(recs: list[dict]) -> dict:
    """The flat data-README arrays of a list of per-molecule records, sorted by qm9_index
    (the MEP keys only when every record has them)."""
    if not recs:
        raise ValueError("no labelled molecules to pack")
    with_esp = ["iso_esp" in r for r in recs]
    if any(with_esp) and not all(with_esp):
        print("note: only some labels have MEPs; packing without iso_*/shell_* keys", file=sys.stderr)
    fields = FIELDS if all(with_esp) else FIELDS[:-len(ESP_FIELDS)]
    return labelling.flatten(recs, fields, sort_by="qm9_index")


def pack(label_dir: str, out_path: str, log=print) -> dict:
    arrays = pack_records(load_labels(label_dir))
    labelling.write_record(out_path, arrays, compressed=True)
    pos = arrays["position"]
    contiguous = len(pos) == pos.max() - pos.min() + 1
    log(f"packed {len(pos)} molecules (positions {pos.min()}–{pos.max()}"
        f"{'' if contiguous else ', with gaps'}) into {out_path}")
    return arrays


# --------------------------------------------------------------------------- checking

def dipole_check(path: str) -> dict:
    """|Δ| = ||μ| − QM9 Dipole_debye| (D): statistics over the file."""
    with np.load(path, allow_pickle=False) as d:
        mu = np.linalg.norm(d["dipole"], axis=1) * DEBYE_PER_E_ANGSTROM
        ref = d["qm9_dipole_debye"]
        idx = d["qm9_index"]
    delta = np.abs(mu - ref)
    worst = int(np.argmax(delta)) if len(delta) else -1
    return {"n": int(len(delta)), "mean": float(delta.mean()), "median": float(np.median(delta)),
            "p95": float(np.percentile(delta, 95)), "max": float(delta.max()),
            "worst_qm9_index": int(idx[worst]), "frac_over_0.1": float((delta > 0.1).mean()),
            "signed_mean": float((mu - ref).mean())}


def check(path: str, log=print) -> dict:
    s = dipole_check(path)
    log(f"{path}: {s['n']} molecules; ||μ| − QM9 Dipole_debye| in D: mean {s['mean']:.4f}, "
        f"median {s['median']:.4f}, p95 {s['p95']:.4f}, max {s['max']:.4f} (QM9 {s['worst_qm9_index']}); "
        f"signed mean {s['signed_mean']:+.4f}; {100 * s['frac_over_0.1']:.1f} % over 0.1 D")
    return s


# --------------------------------------------------------------------------- CLI

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.label", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="label QM9 positions with the DFT reference engine")
    r.add_argument("--start", type=int, required=True, help="first permutation position (≥ 200)")
    r.add_argument("--count", type=int, required=True)
    r.add_argument("--out", default="train/labels")
    r.add_argument("--no-esp", dest="esp", action="store_false",
                   help="skip the MEP on iso and shell points (every label stores them by default)")
    r.add_argument("--esp", dest="esp", action="store_true", help=argparse.SUPPRESS)   # the old spelling
    r.add_argument("--device", choices=("cpu", "gpu"), default="cpu", help="gpu needs gpu4pyscf")
    r.add_argument("--retry-failed", action="store_true")
    r.add_argument("--entries", help="read geometries from an `export` file instead of qm9pack")
    r.add_argument("--shard", default="0/1", help="j/n: only positions p with (p - start) %% n == j")
    e = sub.add_parser("export", help="write QM9 entries to a small .npz for a machine without qm9pack")
    e.add_argument("--start", type=int, required=True)
    e.add_argument("--count", type=int, required=True)
    e.add_argument("--out", required=True)
    p = sub.add_parser("pack", help="pack finished labels into one data/qm9 .npz")
    p.add_argument("--labels", default="train/labels")
    p.add_argument("--out", required=True)
    c = sub.add_parser("check", help="compare |μ| with QM9's Dipole_debye")
    c.add_argument("file")
    a = ap.parse_args(argv)
    return labelling.command(lambda: _command(a))


def _command(a) -> None:
    if a.cmd == "run":
        j, n = (int(x) for x in a.shard.split("/"))
        run(a.start, a.count, a.out, esp=a.esp, device=a.device, retry_failed=a.retry_failed,
            log=lambda s: print(s, flush=True), entries=a.entries, shard=(j, n))
    elif a.cmd == "export":
        from train import qm9
        n = qm9.export_entries(range(a.start, a.start + a.count), a.out)
        print(f"wrote {n} entries (positions {a.start}–{a.start + a.count - 1}) to {a.out}")
    elif a.cmd == "pack":
        pack(a.labels, a.out)
    else:
        check(a.file)


if __name__ == "__main__":
    sys.exit(main())
