"""Molecule pools beyond QM9 (train/pools.py) and the pool DFT labeller (train/label_pool.py)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from train import label_pool, pools

ROOT = Path(__file__).resolve().parents[1]
POOLS = ROOT / "data" / "pools"
NEWCHEM = ROOT / "data" / "newchem"
SEED = ROOT / "data" / "spice" / "des_monomers_dft_seed.npz"


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    monkeypatch.chdir(ROOT)      # pools and labeller read data/ relative to the repository


def _charges(states):
    return {Chem.MolToSmiles(Chem.MolFromSmiles(s)): q for s, q in states}


def test_ionised_states_of_classic_acids_and_bases():
    assert _charges(pools.ionised_states("CC(=O)O")) == {"CC(=O)[O-]": -1}
    assert _charges(pools.ionised_states("CN")) == {"C[NH3+]": 1}
    assert _charges(pools.ionised_states("Oc1ccccc1")) == {"[O-]c1ccccc1": -1}
    gly = _charges(pools.ionised_states("NCC(=O)O"))
    assert gly == {"NCC(=O)[O-]": -1, "[NH3+]CC(=O)O": 1, "[NH3+]CC(=O)[O-]": 0}
    assert _charges(pools.ionised_states("NC(=N)N")) == {"NC(N)=[NH2+]": 1}
    # amides, anilines and sulfonamides are not protonated; charged input is left alone
    assert pools.ionised_states("CC(=O)NC") == []
    assert pools.ionised_states("Nc1ccccc1") == []
    assert pools.ionised_states("CS(N)(=O)=O") == []
    assert pools.ionised_states("C[NH3+]") == []
    # succinic acid: two acid sites four bonds apart → also the di-anion
    assert _charges(pools.ionised_states("OC(=O)CCC(=O)O"))["O=C([O-])CCC(=O)[O-]"] == -2


def test_capped_fragments_are_small_and_capped():
    frags = pools.capped_fragments("CC(C)(C)C(=O)C(Oc1ccc(Cl)cc1)n1ccnc1")
    assert frags
    for f in frags:
        m = Chem.MolFromSmiles(f)
        assert pools.MIN_FRAGMENT_HEAVY <= m.GetNumHeavyAtoms() <= pools.MAX_FRAGMENT_HEAVY
        assert all(a.GetAtomicNum() > 0 for a in m.GetAtoms())
    # cut at the ether and the imidazole N: the capped aryl pieces and the bare imidazole
    assert {"Oc1ccc(Cl)cc1", "Clc1ccccc1", "c1c[nH]cn1"} <= frags


@pytest.mark.skipif(not (POOLS / "train_dft.csv").exists(), reason="pools not built")
def test_committed_pools_keep_test_molecules_out_of_training():
    test = set()
    for name in ("test_drugs.csv", "test_spice.csv", "test_ions.csv", "sigma_hole.csv"):
        test |= {r["smiles"] for r in pools.read_rows(str(POOLS / name))}
    train = {r["smiles"] for f in sorted(p.name for p in POOLS.glob("train_*.csv"))
             for r in pools.read_rows(str(POOLS / f))}
    xtb = pools.read_rows(str(POOLS / "xtb_pool.csv.gz"))
    assert not test & train
    for packed in sorted(NEWCHEM.glob("train_*.npz")):
        if packed.exists():       # and the packed training labels
            with np.load(packed, allow_pickle=False) as d:
                assert not test & set(d["smiles"].tolist()), packed.name
    assert not test & {r["smiles"] for r in xtb}
    assert len(xtb) >= 100_000
    assert {r["charge"] for r in xtb} == {-2, -1, 0, 1, 2}
    drugs = pools.read_rows(str(POOLS / "test_drugs.csv"))
    assert len(drugs) >= 40 and all(15 <= r["heavy_atoms"] <= 35 for r in drugs)
    assert len(pools.read_rows(str(POOLS / "test_ions.csv"))) >= 30
    spice = pools.read_rows(str(POOLS / "test_spice.csv"))
    assert len(spice) >= 60
    ids = [r["id"] for name in ("test_drugs.csv", "test_ions.csv", "train_dft.csv")
           for r in pools.read_rows(str(POOLS / name))]
    assert len(ids) == len(set(ids))


def test_spice_conformation_matches_the_seed_labels():
    """Our reading of SPICE conformation 0 (atom map order, nm → Å) is the seed's geometry."""
    with np.load(SEED, allow_pickle=False) as d:
        names = {pools.canonical(str(s)): k for k, s in enumerate(d["smiles"])}
        spice = dict((s, n) for n, s in pools.spice_names())
        smi = "ClCCl" if "ClCCl" in spice else next(s for s in spice if "Cl" in s and s in names)
        k = names[smi]
        start = int(d["atom_count"][:k].sum())
        n = int(d["atom_count"][k])
        z_seed, pos_seed = d["z"][start:start + n], d["pos"][start:start + n]
    mol = label_pool.spice_molecule(spice[smi], 0)
    np.testing.assert_array_equal(mol.numbers, z_seed)
    np.testing.assert_allclose(mol.positions, pos_seed, atol=1e-5)


@pytest.mark.slow
def test_label_row_reproduces_a_seed_label(tmp_path):
    """A labelled SPICE monomer agrees with the shared seed DFT label (same level of theory)."""
    with np.load(SEED, allow_pickle=False) as d:
        k = int(np.argmin(np.where(d["atom_count"] >= 4, d["atom_count"], 99) +
                          100 * (np.array([("Cl" not in str(s)) for s in d["smiles"]]))))
        start = int(d["atom_count"][:k].sum())
        n = int(d["atom_count"][k])
        smi = pools.canonical(str(d["smiles"][k]))
        seed = {key: d[key][k] for key in ("dipole", "quadrupole_com", "charge")}
        s0 = int(d["shell_count"][:k].sum())
        shell = d["shell_points"][s0:s0 + int(d["shell_count"][k])]
        shell_esp = d["shell_esp"][s0:s0 + int(d["shell_count"][k])]
    name = dict((s, nm) for nm, s in pools.spice_names())[smi]
    row = {"id": name, "smiles": smi, "charge": int(seed["charge"]), "heavy_atoms": 0,
           "source": "SPICE DES monomer (conformation 0)"}
    status = label_pool.label_task(row, str(tmp_path))
    assert status["ok"], status
    with np.load(label_pool._paths(str(tmp_path), name)[0], allow_pickle=False) as rec:
        np.testing.assert_allclose(rec["dipole"], seed["dipole"], atol=2e-4)
        np.testing.assert_allclose(rec["quadrupole_com"], seed["quadrupole_com"], atol=5e-4)
        assert len(rec["iso_esp"]) > 100 and len(rec["shell_esp"]) > 100
        assert rec["basis"] == "6-31g(2df,p)"
        n_atoms = len(rec["z"])
    assert n_atoms == n
    # the MEP on the seed's own shell points, recomputed from our density
    from mepviz.reference import ReferenceEngine
    mol = label_pool.spice_molecule(name, int(seed["charge"]))
    r = ReferenceEngine(cache_dir=False).run(mol)
    from mepviz.units import HARTREE_TO_KCAL_MOL
    np.testing.assert_allclose(r.mep(shell[::20]) / HARTREE_TO_KCAL_MOL, shell_esp[::20], atol=2e-5)


def test_failed_rows_are_recorded_and_skipped(tmp_path):
    row = {"id": "bad", "smiles": "C1CC", "charge": 0, "heavy_atoms": 3, "source": "test"}
    status = label_pool.label_task(row, str(tmp_path))
    assert not status["ok"] and "SMILES" in status["error"]
    pool = tmp_path / "pool.csv"
    pools.write_rows(str(pool), [row])
    assert label_pool.todo_rows([str(pool)], str(tmp_path)) == []
    assert len(label_pool.todo_rows([str(pool)], str(tmp_path), retry_failed=True)) == 1


def test_round_robin_mixes_pools():
    assert label_pool._round_robin([[1, 2, 3], ["a"], [10, 20]]) == [1, "a", 10, 2, 20, 3]


def test_exported_geometries_round_trip(tmp_path):
    pool = tmp_path / "pool.csv"
    pools.write_rows(str(pool), [
        {"id": "acetate", "smiles": "CC(=O)[O-]", "charge": -1, "heavy_atoms": 4, "source": "test"},
        {"id": "broken", "smiles": "C1CC", "charge": 0, "heavy_atoms": 3, "source": "test"}])
    out = tmp_path / "geoms.npz"
    assert label_pool.export_geometries([str(pool)], str(out), str(tmp_path / "labels"), log=lambda s: None) == 1
    (row,) = label_pool.geometry_rows(str(out))
    mol = label_pool.molecule_of(row)
    from mepviz.inputs import from_smiles
    ref = from_smiles("CC(=O)[O-]")
    assert mol.charge == -1 and row["id"] == "acetate"
    np.testing.assert_array_equal(mol.numbers, ref.numbers)
    np.testing.assert_allclose(mol.positions, ref.positions)


def test_packed_labels_survive_a_new_session(tmp_path):
    """The label folder is not in git: packing again without it keeps what is already packed,
    and the labeller does not label packed molecules again."""
    import shutil
    src = ROOT / "data" / "newchem" / "test_ions.npz"
    out = tmp_path / "test_ions.npz"
    shutil.copy(src, out)
    before = dict(np.load(out))
    label_pool.pack(str(tmp_path / "no_labels"), [str(POOLS / "test_ions.csv")], str(out), log=lambda s: None)
    after = dict(np.load(out))
    assert set(before) == set(after)
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])
    assert label_pool.todo_rows([str(POOLS / "test_ions.csv")], str(tmp_path / "no_labels")) == []


def test_halogen_swaps_cover_iodine_and_skip_excluded_molecules():
    assert pools.halogen_swaps("Clc1ccc(Br)cc1") == {"I": "Ic1ccc(I)cc1", "Br": "Brc1ccc(Br)cc1",
                                                    "Cl": "Clc1ccc(Cl)cc1"}
    queue = [pools._row("frag_a", "Clc1ccncc1", "capped BRICS fragment of MOSES train"),
             pools._row("frag_b", "CCO", "capped BRICS fragment of MOSES train"),
             pools._row("ion_c", "Clc1ccc[nH+]c1", "ionised MOSES train fragment")]
    rows = pools.halogen_train_rows(queue, exclude={"Brc1ccncc1", "Clc1ccncc1"})
    assert [(r["id"], r["smiles"]) for r in rows] == [("frag_a_I", "Ic1ccncc1")]
    assert rows[0]["charge"] == 0 and rows[0]["source"].startswith("halogen swap (I)")


def test_ion_training_pool_covers_every_charged_group_and_no_test_ion():
    rows = pools.read_rows(str(POOLS / "train_ions.csv"))
    test = {r["smiles"] for r in pools.read_rows(str(POOLS / "test_ions.csv"))}
    assert rows and not test & {r["smiles"] for r in rows}
    assert all(r["charge"] == Chem.GetFormalCharge(Chem.MolFromSmiles(r["smiles"])) for r in rows)
    scaffolds = [r for r in rows if r["id"].startswith("scaffold_ion_")]
    heads = {int(r["id"].split("_")[2]) for r in scaffolds}
    assert heads == set(range(len(pools.ION_HEADS)))            # every charged group is there
    assert {-2, -1, 1} <= {r["charge"] for r in rows}
    # a prefix (the labeller's order) mixes scaffold ions and ionised SPICE monomers
    assert {r["source"] for r in rows[:4]} == {"charged group on a substituent (scaffold ion)", "ionised SPICE monomer"}


def test_staged_pack_leaves_out_rows_the_shards_hold(tmp_path):
    """`pack --not-in DIR`: staged labels are only those no shard of DIR holds yet."""
    import shutil
    newchem = ROOT / "data" / "newchem"
    for folder, name in (("holds_them", "test_ions.npz"), ("holds_others", "test_drugs.npz")):
        (tmp_path / folder).mkdir()
        shutil.copy(newchem / name, tmp_path / folder / "shard.npz")
    out = tmp_path / "staged.npz"
    shutil.copy(newchem / "test_ions.npz", out)
    pool, labels = [str(POOLS / "test_ions.csv")], str(tmp_path / "no_labels")
    n_all = len(label_pool.packed_names_of(str(out)))
    label_pool.pack(labels, pool, str(out), log=lambda s: None, not_in=(str(tmp_path / "holds_others"),))
    assert len(label_pool.packed_names_of(str(out))) == n_all > 0
    with pytest.raises(ValueError, match="no finished labels"):
        label_pool.pack(labels, pool, str(out), log=lambda s: None, not_in=(str(tmp_path / "holds_them"),))


def test_halide_pool_is_sp3_halides_outside_every_test_and_training_pool(tmp_path):
    rows = pools.read_rows(str(POOLS / "train_halides.csv"))
    others = {r["smiles"] for f in pools.TEST_POOLS + ("train_spice.csv", "train_dft.csv", "train_halogen.csv",
                                                       "train_ions.csv")
              for r in pools.read_rows(str(POOLS / f))}
    assert rows and not others & {r["smiles"] for r in rows}
    sp3_halide = Chem.MolFromSmarts("[CX4][Cl,Br,I]")
    assert all(Chem.MolFromSmiles(r["smiles"]).HasSubstructMatch(sp3_halide) for r in rows)
    assert {r["id"].rsplit("_", 1)[1] for r in rows} == {"Cl", "Br", "I"}
    # the labeller's order takes every chloride first
    x = [r["id"].rsplit("_", 1)[1] for r in rows]
    assert x == sorted(x, key=("Cl", "Br", "I").index)
    # the committed file is what the code writes
    import shutil
    for f in pools.TEST_POOLS + ("train_spice.csv", "train_dft.csv", "train_halogen.csv", "train_ions.csv"):
        shutil.copy(POOLS / f, tmp_path / f)
    assert pools.main(["halide-train", "--out", str(tmp_path)]) == 0        # the documented command
    assert (tmp_path / "train_halides.csv").read_bytes() == (POOLS / "train_halides.csv").read_bytes()
    # CH3Cl is a test molecule: the scaffold "C{X}" gives no chloride row
    assert "CCl" not in {r["smiles"] for r in rows} and "CCl" in others


def test_spice_conformer_rows_are_training_monomers_at_their_thermal_geometries(tmp_path):
    rows = pools.read_rows(str(POOLS / "train_spice_conformers.csv"))
    training = {r["id"]: r for f in ("train_spice.csv", "train_dft.csv") for r in pools.read_rows(str(POOLS / f))
                if pools.spice_conformation(r) == 0}
    test = {r["smiles"] for f in pools.TEST_POOLS for r in pools.read_rows(str(POOLS / f))}
    assert rows and not test & {r["smiles"] for r in rows}
    ks = [pools.spice_conformation(r) for r in rows]
    assert set(ks) == set(range(1, pools.SPICE_CONFORMERS + 1)) and ks == sorted(ks)   # conformation 1 of all first
    parents = {pools.spice_group(r) for r in rows}
    assert parents <= set(training) and all(training[pools.spice_group(r)]["smiles"] == r["smiles"] for r in rows)
    assert {"CCCCl", "ClCCl", "CBr", "CI"} <= parents
    # the labeller's geometry: the same atoms as conformation 0, SPICE's own displaced positions
    row = next(r for r in rows if r["id"] == "CCCCl_conf3")
    assert pools.spice_conformation(row) == 3 and pools.spice_group(row) == "CCCCl"
    mol, mol0 = label_pool.molecule_of(row), label_pool.molecule_of(training["CCCCl"])
    assert np.array_equal(mol.numbers, mol0.numbers)
    dist = lambda m: np.linalg.norm(m.positions[:, None] - m.positions[None], axis=-1)  # noqa: E731
    assert np.abs(dist(mol) - dist(mol0)).max() > 0.01                  # another geometry of the same molecule
    cl = int(np.flatnonzero(mol.numbers == 17)[0])
    assert 1.6 < np.sort(dist(mol)[cl])[1] < 2.0                         # C–Cl still bonded (Å)
    assert pools.spice_conformation({"source": "halogen swap (I) of a SPICE monomer"}) is None
    # a thermal conformation is labelled, never taken for conformation 0's seed label
    late = {**row, "id": "CCCCl_conf49", "source": "SPICE DES monomer (conformation 49)"}
    pools.write_rows(str(tmp_path / "late.csv"), [late, training["CCCCl"]])
    assert [r["id"] for r in label_pool.todo_rows([str(tmp_path / "late.csv")], str(tmp_path))] == ["CCCCl_conf49"]
    # the committed file is what the code writes
    import shutil
    for f in ("train_spice.csv", "train_dft.csv"):
        shutil.copy(POOLS / f, tmp_path / f)
    assert pools.write_spice_conformers(str(tmp_path)) == len(rows)
    assert (tmp_path / "train_spice_conformers.csv").read_bytes() == (POOLS / "train_spice_conformers.csv").read_bytes()
