"""train/label.py: relabelling reproduces the reference data; splits; pack/check round trip.

The relabel test runs the real level on two molecules of tests/data/reference_molecules.npz
through the same session cache as tests/test_reference.py, so in a full run the SCF is
done once for both files.
"""
from __future__ import annotations

import glob
import json
import os

import numpy as np
import pytest

from train import label
from train.qm9 import QM9Entry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA_QM9 = os.path.join(ROOT, "data", "qm9")
REF = os.path.join(os.path.dirname(__file__), "data", "reference_molecules.npz")
HARTREE_TO_KCAL_MOL = 627.5095


@pytest.fixture(scope="session")
def ref_cache(tmp_path_factory):
    """Same directory as tests/test_reference.py's fixture: one SCF per molecule per session."""
    path = tmp_path_factory.getbasetemp() / "mepviz-reference-cache"
    path.mkdir(exist_ok=True)
    return str(path)


@pytest.fixture(scope="module")
def positions_of():
    """QM9 index -> position in the fixed permutation (train/qm9.py)."""
    from train import qm9
    idx = qm9.table()["Index"].to_numpy()[qm9.permutation()]
    lookup = dict(zip(idx.tolist(), range(len(idx))))
    return lambda indices: np.array([lookup[int(i)] for i in indices])


def _split(d, key, counts):
    off = np.concatenate([[0], np.cumsum(counts)])
    return [d[key][off[i]:off[i + 1]] for i in range(len(counts))]


def _fake_record(position, index, n_atoms=3, esp=True, seed=0):
    rng = np.random.default_rng(seed + position)
    rec = dict(position=np.int64(position), qm9_index=np.int64(index), smiles=np.str_("C" * n_atoms),
               z=np.full(n_atoms, 6, np.int8), pos=rng.normal(size=(n_atoms, 3)),
               energy=np.float64(-40.0 * n_atoms), dipole=rng.normal(size=3),
               second_moment=rng.normal(size=(3, 3)), center_of_mass=rng.normal(size=3),
               quadrupole_com=rng.normal(size=(3, 3)), qm9_dipole_debye=np.float64(rng.uniform(0, 5)),
               method=np.str_("b3lyp"), basis=np.str_("6-31g(2df,p)"), converged=np.bool_(True))
    if esp:
        rec.update(iso_points=rng.normal(size=(5 + n_atoms, 3)).astype(np.float32),
                   iso_esp=rng.normal(size=5 + n_atoms).astype(np.float32),
                   shell_points=rng.normal(size=(4, 3)).astype(np.float32),
                   shell_scale=np.full(4, 1.4, np.float32), shell_esp=rng.normal(size=4).astype(np.float32))
    return rec


# ----------------------------------------------------------------------------- relabel

@pytest.mark.slow
def test_relabel_reference_molecules_and_pack(tmp_path, ref_cache, positions_of):
    from mepviz.reference import ReferenceEngine
    with np.load(REF, allow_pickle=False) as f:
        d = {k: f[k] for k in f.files}
    pos_of = positions_of(d["qm9_index"])
    z, xyz = _split(d, "z", d["atom_count"]), _split(d, "pos", d["atom_count"])
    iso, iso_esp = _split(d, "iso_points", d["iso_count"]), _split(d, "iso_esp", d["iso_count"])
    sh, sh_esp = _split(d, "shell_points", d["shell_count"]), _split(d, "shell_esp", d["shell_count"])
    sh_scale = _split(d, "shell_scale", d["shell_count"])
    engine = ReferenceEngine(cache_dir=ref_cache)
    out = tmp_path / "labels"
    for i in (1, 0):                                             # two molecules, out of order
        entry = QM9Entry(position=int(pos_of[i]), index=int(d["qm9_index"][i]), smiles=str(d["smiles"][i]),
                         numbers=z[i].astype(int), positions=xyz[i], dipole_debye=float(d["qm9_dipole_debye"][i]))
        rec = label.label_entry(engine, entry, points=(iso[i], sh[i], sh_scale[i]))
        np.testing.assert_allclose(rec["dipole"], d["dipole"][i], atol=1e-3)
        np.testing.assert_allclose(rec["quadrupole_com"], d["quadrupole_com"][i], atol=1e-3)
        np.testing.assert_allclose(rec["iso_esp"] * HARTREE_TO_KCAL_MOL, iso_esp[i] * HARTREE_TO_KCAL_MOL, atol=0.1)
        np.testing.assert_allclose(rec["shell_esp"] * HARTREE_TO_KCAL_MOL, sh_esp[i] * HARTREE_TO_KCAL_MOL, atol=0.1)
        label.write_label(label.label_path(str(out), entry.position), rec)

    packed = label.pack(str(out), str(tmp_path / "packed.npz"), log=lambda s: None)
    with np.load(tmp_path / "packed.npz", allow_pickle=False) as f:
        back = {k: f[k] for k in f.files}
    with np.load(os.path.join(DATA_QM9, "test.npz"), allow_pickle=False) as f:
        ref_dtypes = {k: f[k].dtype for k in f.files}
    assert set(back) == set(ref_dtypes) | {"position"}            # exactly the README keys (+ position)
    for k, dt in ref_dtypes.items():
        assert back[k].dtype.kind == dt.kind, k
        if dt.kind != "U":
            assert back[k].dtype == dt, k
    np.testing.assert_array_equal(back["qm9_index"], d["qm9_index"][:2])        # sorted by qm9_index
    np.testing.assert_array_equal(back["position"], pos_of[:2])
    for k in ("atom_count", "z", "iso_count", "shell_count"):
        n = int(d["atom_count"][:2].sum()) if k == "z" else 2
        np.testing.assert_array_equal(back[k], d[k][:n], err_msg=k)
    np.testing.assert_array_equal(back["pos"], d["pos"][:int(d["atom_count"][:2].sum())])
    for k in ("dipole", "second_moment", "center_of_mass", "quadrupole_com"):
        np.testing.assert_allclose(back[k], d[k][:2], atol=1e-3, err_msg=k)
    np.testing.assert_allclose(back["energy"], d["energy"][:2], atol=1e-6)
    for k in packed:
        np.testing.assert_array_equal(packed[k], back[k])
    stats = label.dipole_check(str(tmp_path / "packed.npz"))
    assert stats["n"] == 2 and stats["max"] < 0.1


# ----------------------------------------------------------------------------- cheap tests

def test_pack_roundtrip_sorted_and_esp_optional(tmp_path):
    out = tmp_path / "labels"
    recs = [_fake_record(500, 900, 3), _fake_record(501, 17, 5), _fake_record(502, 4000, 2)]
    for r in recs:
        label.write_label(label.label_path(str(out), int(r["position"])), r)
    (out / "000503.failed.json").write_text("{}")
    (out / ".tmp-garbage.npz").write_bytes(b"partial")                  # ignored
    label.pack(str(out), str(tmp_path / "a.npz"), log=lambda s: None)
    with np.load(tmp_path / "a.npz", allow_pickle=False) as f:
        a = {k: f[k] for k in f.files}
    assert a["qm9_index"].tolist() == [17, 900, 4000]
    assert a["position"].tolist() == [501, 500, 502]
    assert a["atom_count"].tolist() == [5, 3, 2] and len(a["z"]) == len(a["pos"]) == 10
    by_index = {int(r["qm9_index"]): r for r in recs}
    off = np.concatenate([[0], np.cumsum(a["atom_count"])])
    ioff = np.concatenate([[0], np.cumsum(a["iso_count"])])
    for row, qi in enumerate(a["qm9_index"]):
        r = by_index[int(qi)]
        np.testing.assert_array_equal(a["pos"][off[row]:off[row + 1]], r["pos"])
        np.testing.assert_array_equal(a["dipole"][row], r["dipole"])
        np.testing.assert_array_equal(a["quadrupole_com"][row], r["quadrupole_com"])
        np.testing.assert_array_equal(a["iso_esp"][ioff[row]:ioff[row + 1]], r["iso_esp"])
    # a label without MEPs: the pack drops the iso/shell keys rather than misaligning them
    label.write_label(label.label_path(str(out), 504), _fake_record(504, 5, 4, esp=False))
    label.pack(str(out), str(tmp_path / "b.npz"), log=lambda s: None)
    with np.load(tmp_path / "b.npz", allow_pickle=False) as f:
        assert "iso_esp" not in f.files and f["qm9_index"].tolist() == [5, 17, 900, 4000]
    # duplicates are refused
    label.write_label(str(out / "000600.npz"), _fake_record(600, 17, 2))
    with pytest.raises(ValueError, match="duplicate"):
        label.pack(str(out), str(tmp_path / "c.npz"), log=lambda s: None)


def test_run_is_resumable_and_records_failures(tmp_path, monkeypatch):
    calls = []

    def fake_label_entry(engine, entry, esp=False, points=None, progress=None):
        calls.append(entry.position)
        if entry.position == 205:
            raise RuntimeError("SCF did not converge")
        return _fake_record(entry.position, entry.index, len(entry.numbers), esp=esp)

    monkeypatch.setattr(label, "label_entry", fake_label_entry)
    out = str(tmp_path / "labels")
    logs = []
    res = label.run(203, 4, out, log=logs.append)
    assert calls == [203, 204, 205, 206] and res == {"done": 3, "failed": 1, "skipped": 0}
    assert json.loads(open(os.path.join(out, "000205.failed.json")).read())["error"].startswith("RuntimeError")
    assert any("mol/h" in s and "ETA" in s for s in logs)
    res = label.run(203, 5, out, log=logs.append)                       # resumes: only 207 is new
    assert calls[4:] == [207] and res["skipped"] == 4
    label.run(203, 5, out, retry_failed=True, log=logs.append)
    assert calls[5:] == [205]
    with pytest.raises(SystemExit):
        label.run(150, 10, out, log=logs.append)                        # test split / reserved
    assert not glob.glob(os.path.join(out, ".tmp-*"))


def test_entries_file_and_shards_cover_a_range_once(tmp_path, monkeypatch):
    """`export` → `run --entries --shard j/n`: the same geometries as qm9pack, and n shards
    label every position of the range exactly once."""
    from train import qm9
    path = str(tmp_path / "entries.npz")
    assert qm9.export_entries(range(300, 307), path) == 7
    table = qm9.load_entries(path)
    assert sorted(table) == list(range(300, 307))
    for p in (300, 306):
        a, b = table[p], qm9.entry(p)
        assert (a.index, a.smiles, a.dipole_debye) == (b.index, b.smiles, b.dipole_debye)
        np.testing.assert_array_equal(a.numbers, b.numbers)
        np.testing.assert_array_equal(a.positions, b.positions)

    seen = []

    def fake_label_entry(engine, entry, esp=False, points=None, progress=None):
        seen.append(entry.position)
        assert entry.index == table[entry.position].index
        return _fake_record(entry.position, entry.index, len(entry.numbers), esp=esp)

    monkeypatch.setattr(label, "label_entry", fake_label_entry)
    monkeypatch.setattr(qm9, "entry", lambda p: pytest.fail("read qm9pack despite --entries"))
    out = str(tmp_path / "labels")
    done = [label.run(300, 7, out, entries=path, shard=(j, 3), log=lambda s: None)["done"] for j in range(3)]
    assert done == [3, 2, 2] and sorted(seen) == list(range(300, 307))
    with pytest.raises(ValueError, match="not in"):
        label.run(300, 9, out, entries=path, log=lambda s: None)
    with pytest.raises(ValueError, match="shard"):
        label.run(300, 7, out, shard=(3, 3), log=lambda s: None)


def test_splits_disjoint_and_reserved_positions_unused(positions_of):
    """data/qm9: test = positions 100–199, train.npz = 200–432, new shards ≥ 433, no QM9
    molecule in two files; rows sorted by QM9 index (or, in a copied shared file that stores
    them, by permutation position). Every data file anywhere under data/ (e.g. data/xtb): never a
    reserved position 0–99, and test-split molecules only in data/qm9/test.npz."""
    files = sorted(glob.glob(os.path.join(DATA_QM9, "*.npz")))
    names = [os.path.basename(f) for f in files]
    assert "test.npz" in names and "train.npz" in names
    seen: dict[int, str] = {}
    for path, name in zip(files, names):
        with np.load(path, allow_pickle=False) as f:
            idx = f["qm9_index"]
            stored_pos = f["position"] if "position" in f.files else None
        order = stored_pos if stored_pos is not None and not np.all(np.diff(idx) > 0) else idx
        assert np.all(np.diff(order) > 0), f"{name}: rows sorted neither by qm9_index nor by position"
        for i in idx.tolist():
            assert i not in seen, f"QM9 {i} in both {seen[i]} and {name}"
            seen[i] = name
        pos = positions_of(idx)
        if stored_pos is not None:
            np.testing.assert_array_equal(stored_pos, pos)
        if name == "test.npz":
            assert sorted(pos.tolist()) == list(range(100, 200))
        elif name == "train.npz":
            assert sorted(pos.tolist()) == list(range(200, 433))
        else:
            assert name.startswith("train") and pos.min() >= 433, name

    test_file = os.path.join(DATA_QM9, "test.npz")
    every = sorted(glob.glob(os.path.join(ROOT, "data", "**", "*.npz"), recursive=True))
    checked = 0
    for path in every:
        with np.load(path, allow_pickle=False) as f:
            if "qm9_index" not in f.files:
                continue
            pos = positions_of(f["qm9_index"])
        checked += 1
        assert pos.min() >= 100, f"{path} contains reserved QM9 positions 0–99"
        if os.path.abspath(path) != os.path.abspath(test_file):
            assert pos.min() >= 200, f"{path} contains test-split molecules (positions 100–199)"
    assert checked >= 2


def test_check_command_on_seed_data(capsys):
    assert label.main(["check", os.path.join(DATA_QM9, "train.npz")]) == 0
    out = capsys.readouterr().out
    assert "233 molecules" in out and "median" in out and "p95" in out
    s = label.dipole_check(os.path.join(DATA_QM9, "train.npz"))
    assert s["median"] < 0.05
