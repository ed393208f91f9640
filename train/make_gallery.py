"""Build the app's example gallery: mepviz/data/gallery/{index.json, <id>.xyz, <id>.npz}.

    python train/make_gallery.py            # all entries (a few minutes on 2 cores)
    python train/make_gallery.py --only water benzene
    python train/make_gallery.py --values-only   # after mepviz/surfaces.py changed (no SCF)
    python train/make_gallery.py --predictions   # after new weights: predictions.npz only

Every build also writes predictions.npz: each entry's atomic multipoles from every installed
model, with the sha256 of its weight file (appkit.gallery.shipped_prediction uses them only
for those very weights), so the landing page draws its example before PyTorch is imported.

For each molecule: the geometry (QM9's B3LYP-optimised one where QM9 has the molecule, else
RDKit ETKDG + MMFF from SMILES) and, unless ``--no-reference``, the DFT reference computed
once with ``mepviz.reference.ReferenceEngine`` (B3LYP/6-31G(2df,p), density fitting):
packed density matrix (float32 lower triangle, enough to evaluate the reference MEP on
any surface), moments, and the reference MEP on the default isodensity surface (so the
app's comparison is instant). A dozen molecules take well under 1 MB.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mepviz.paths import gallery_dir, test_set_path  # noqa: E402
from mepviz.reference import ReferenceResult  # noqa: E402
from mepviz.units import DEBYE_PER_E_ANGSTROM  # noqa: E402

OUT = gallery_dir()

#: (id, label, description, source); source: ("qm9", QM9 Index) | ("qm9test", row in
#: data/qm9/test.npz) | ("smiles", SMILES)
ENTRIES = [
    ("water", "Water", "H₂O: two lone pairs on O (red), acidic H (blue).", ("qm9", 3)),
    ("formaldehyde", "Formaldehyde", "H₂C=O: the carbonyl O lone pairs.", ("qm9", 6)),
    ("benzene", "Benzene", "C₆H₆: no dipole; the π cloud above and below the ring is negative "
     "— a pure quadrupole, the dipole-only model cannot see it.", ("qm9", 214)),
    ("pyridine", "Pyridine", "C₅H₅N: the N lone pair is the strongest minimum.", ("qm9", 215)),
    ("acetic_acid", "Acetic acid", "CH₃COOH: H-bond donor (blue O–H) and acceptor (red C=O).",
     ("smiles", "CC(=O)O")),
    ("qm9_tropone", "QM9 test: tropone", "QM9 test-split molecule (never trained on).", ("qm9test", 3)),
    ("qm9_acetylpyrroline", "QM9 test: N-acetyl-3-pyrroline", "QM9 test-split molecule.", ("qm9test", 9)),
    ("qm9_aminopyrimidine", "QM9 test: 6-aminopyrimidine-4-carbonitrile", "QM9 test-split molecule.",
     ("qm9test", 22)),
    ("dmso", "DMSO (contains S)", "Dimethyl sulfoxide: sulfur is not in QM9; models whose card does "
     "not list S refuse it with a clear message; the DFT reference still works.", ("smiles", "CS(C)=O")),
    ("bromobenzene", "Bromobenzene (σ-hole)", "C₆H₅Br: a positive cap on Br along the C–Br axis (the "
     "σ-hole) inside a negative belt. Atomic charges cannot produce it; atomic quadrupoles can.",
     ("smiles", "Brc1ccccc1")),
    ("acetate", "Acetate (anion, −1)", "CH₃COO⁻: an anion, negative everywhere; the two O share the "
     "charge. Moments of ions depend on the origin: stated about the centre of mass.",
     ("smiles", "CC(=O)[O-]")),
    ("glycine_zwitterion", "Glycine zwitterion", "⁺H₃N–CH₂–COO⁻: neutral overall, but with a strongly "
     "positive ammonium end and a negative carboxylate end — a huge dipole.",
     ("smiles", "[NH3+]CC(=O)[O-]")),
]


def _qm9_molecule(index: int, name: str):
    from mepviz.elements import atomic_number
    from mepviz.inputs import from_arrays
    from train.qm9 import table
    t = table()
    row = t[t["Index"] == index].iloc[0]
    symbols = json.loads(row["Elements"].replace("'", '"'))
    xyz = np.array(json.loads(row["XYZ_Ang"]), dtype=float)
    return from_arrays([atomic_number(s) for s in symbols], xyz, name=name), str(row["SMILES"])


def _qm9test_molecule(row: int, name: str):
    from mepviz.inputs import from_arrays
    d = np.load(test_set_path(), allow_pickle=False)
    off = np.concatenate([[0], np.cumsum(d["atom_count"])])
    a, b = off[row], off[row + 1]
    return (from_arrays(d["z"][a:b], d["pos"][a:b], name=name), str(d["smiles"][row]),
            int(d["qm9_index"][row]))


def build_entry(gid: str, label: str, desc: str, source, reference: bool, engine) -> dict:
    from mepviz.inputs import from_smiles, from_xyz
    from mepviz.surfaces import isodensity_surface

    extra = {}
    if source[0] == "qm9":
        mol, smiles = _qm9_molecule(source[1], label)
        extra["qm9_index"] = int(source[1])
        origin = f"QM9 geometry (B3LYP/6-31G(2df,p)), QM9 Index {source[1]}"
    elif source[0] == "qm9test":
        mol, smiles, qidx = _qm9test_molecule(source[1], label)
        extra["qm9_index"] = qidx
        origin = f"QM9 test split (data/qm9/test.npz row {source[1]}), QM9 Index {qidx}"
    else:
        mol = from_smiles(source[1], name=label)
        smiles = source[1]
        origin = "RDKit ETKDG + MMFF94 geometry from SMILES"
    xyz_text = mol.to_xyz(comment=f"{label} charge={mol.charge} multiplicity={mol.multiplicity}")
    (OUT / f"{gid}.xyz").write_text(xyz_text)
    mol = from_xyz(xyz_text)[0]          # exactly what the app will read back
    entry = {"id": gid, "label": label, "description": desc, "xyz": f"{gid}.xyz",
             "smiles": smiles, "formula": mol.formula, "n_atoms": mol.n_atoms,
             "elements": sorted(set(mol.symbols)), "geometry": origin, "key": mol.key(),
             "reference": None, **extra}
    if not reference:
        return entry
    t0 = time.time()
    res = engine.run(mol, progress=None)
    nao = res.dm.shape[0]
    surf = isodensity_surface(mol)
    v64 = res.mep(surf.vertices)
    path = OUT / f"{gid}.npz"
    res.save(path, compact=True, extra=_surface_values(surf, v64))
    # accuracy of the float32 density matrix
    err = float(np.abs(ReferenceResult.load(path, mol).mep(surf.vertices) - v64).max())
    entry["reference"] = f"{gid}.npz"
    entry["reference_level"] = engine.level
    entry["reference_dipole_debye"] = float(np.linalg.norm(res.dipole_com) * DEBYE_PER_E_ANGSTROM)
    print(f"  {gid}: nao={nao}, SCF {res.wall_time:.1f} s (total {time.time() - t0:.1f} s), "
          f"|mu|={entry['reference_dipole_debye']:.3f} D, float32-dm MEP error {err:.2e} kcal/mol/e, "
          f"{(OUT / f'{gid}.npz').stat().st_size / 1024:.0f} kB", flush=True)
    return entry


def _surface_values(surf, values) -> dict:
    """The arrays appkit.gallery.precomputed_values reads: the reference MEP (kcal/mol/e) on
    the default isodensity surface, with the vertex count and checksum that identify it."""
    return dict(values_isodensity=np.asarray(values).astype(np.float32),
                nverts_isodensity=np.int64(len(surf.vertices)),
                vsum_isodensity=np.float64(np.abs(np.asarray(surf.vertices, float)).sum()))


def refresh_values(gid: str) -> None:
    """Recompute the shipped reference MEP on the *current* default isodensity surface from
    the stored density matrix (no SCF): run after mepviz/surfaces.py changes."""
    from mepviz.inputs import from_xyz
    from mepviz.reference import InvalidReferenceFile
    from mepviz.surfaces import isodensity_surface
    path = OUT / f"{gid}.npz"
    mol = from_xyz((OUT / f"{gid}.xyz").read_text())[0]
    try:
        ref = ReferenceResult.load(path, mol)
    except InvalidReferenceFile as exc:
        raise SystemExit(f"{gid}: {exc}; rebuild it with --only {gid}") from None
    surf = isodensity_surface(mol)
    ref.save(path, compact=True, extra=_surface_values(surf, ref.mep(surf.vertices)))
    print(f"  {gid}: {len(surf.vertices)} vertices refreshed", flush=True)


def write_predictions() -> None:
    """predictions.npz: every entry × every installed model (see the module docstring)."""
    from mepviz import stored_predictions
    from mepviz.inputs import from_xyz
    from mepviz.predict import get_predictor, installed_models
    index = json.loads((OUT / "index.json").read_text())["molecules"]
    out = {}
    for model in installed_models():
        pred, out[model] = get_predictor(model), {}
        for e in index:
            mol = from_xyz((OUT / e["xyz"]).read_text())[0]
            try:
                out[model][e["id"]] = pred.predict(mol)
            except Exception as exc:     # noqa: BLE001 - e.g. an element the model lacks
                print(f"  {e['id']}/{model}: not predicted ({exc})")
    stored_predictions.write(OUT / "predictions.npz", out)
    print(f"wrote {OUT / 'predictions.npz'}: {sum(map(len, out.values()))} predictions")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="ids to (re)build; others are kept as they are")
    ap.add_argument("--no-reference", action="store_true", help="geometries only")
    ap.add_argument("--cache-dir", default=None, help="ReferenceEngine cache (default: its own)")
    ap.add_argument("--values-only", action="store_true",
                    help="only recompute the shipped MEP on the current isodensity surface "
                         "from the stored density matrices (after mepviz/surfaces.py changed)")
    ap.add_argument("--predictions", action="store_true",
                    help="only rewrite predictions.npz (after new weights)")
    args = ap.parse_args(argv)
    if args.predictions:
        write_predictions()
        return 0
    if args.values_only:
        for gid, *_ in ENTRIES:
            if (not args.only or gid in args.only) and (OUT / f"{gid}.npz").exists():
                refresh_values(gid)
        return 0
    from mepviz.reference import ReferenceEngine
    OUT.mkdir(parents=True, exist_ok=True)
    engine = ReferenceEngine(cache_dir=args.cache_dir)
    index_path = OUT / "index.json"
    old = {e["id"]: e for e in json.loads(index_path.read_text())["molecules"]} if index_path.exists() else {}
    out = []
    for gid, label, desc, source in ENTRIES:
        if args.only and gid not in args.only and gid in old:
            out.append(old[gid])
            continue
        print(f"{gid} ...", flush=True)
        out.append(build_entry(gid, label, desc, source, not args.no_reference, engine))
        index_path.write_text(json.dumps({"version": 1, "molecules": out + [
            old[g] for g, *_ in ENTRIES[len(out):] if g in old]}, indent=1, ensure_ascii=False) + "\n")
    index_path.write_text(json.dumps({"version": 1, "molecules": out}, indent=1, ensure_ascii=False) + "\n")
    write_predictions()
    total = sum(p.stat().st_size for p in OUT.iterdir()) / 1024
    print(f"wrote {len(out)} entries to {OUT} ({total:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
