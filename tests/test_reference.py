"""The DFT reference engine (mepviz.reference) against the reference data and physics.

Run with OMP_NUM_THREADS=1. The QM9 reproduction uses the real level (B3LYP/6-31G(2df,p));
everything else uses 6-31G, where the level of theory is not the point.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sys
import types
import time

import numpy as np
import pytest

from mepviz import Molecule, MoleculeInputError
from mepviz.electrostatics import multipole_potential
from mepviz.reference import ReferenceEngine, ReferenceResult, ReferenceTimeout
from mepviz.units import BOHR_ANGSTROM, COULOMB_KCAL_ANGSTROM, HARTREE_TO_KCAL_MOL

DATA = os.path.join(os.path.dirname(__file__), "data", "reference_molecules.npz")
SMALL = "6-31g"


# -- shared helpers (tests/test_label.py uses the same session cache directory) ----------

@pytest.fixture(scope="session")
def ref_cache(tmp_path_factory):
    """One reference cache per pytest session, shared by test_reference and test_label."""
    path = tmp_path_factory.getbasetemp() / "mepviz-reference-cache"
    path.mkdir(exist_ok=True)
    return str(path)


def reference_molecules():
    """The 3 smallest molecules of data/qm9/test.npz with ~300 iso and ~300 shell points each."""
    with np.load(DATA, allow_pickle=False) as d:
        d = {k: d[k] for k in d.files}
    off = np.concatenate([[0], np.cumsum(d["atom_count"])])
    io = np.concatenate([[0], np.cumsum(d["iso_count"])])
    so = np.concatenate([[0], np.cumsum(d["shell_count"])])
    out = []
    for i in range(len(d["qm9_index"])):
        out.append(dict(
            qm9_index=int(d["qm9_index"][i]), smiles=str(d["smiles"][i]),
            z=d["z"][off[i]:off[i + 1]].astype(int), pos=d["pos"][off[i]:off[i + 1]],
            energy=float(d["energy"][i]), dipole=d["dipole"][i], second_moment=d["second_moment"][i],
            quadrupole_com=d["quadrupole_com"][i], center_of_mass=d["center_of_mass"][i],
            qm9_dipole_debye=float(d["qm9_dipole_debye"][i]),
            iso_points=d["iso_points"][io[i]:io[i + 1]].astype(float),
            iso_esp=d["iso_esp"][io[i]:io[i + 1]].astype(float) * HARTREE_TO_KCAL_MOL,
            shell_points=d["shell_points"][so[i]:so[i + 1]].astype(float),
            shell_esp=d["shell_esp"][so[i]:so[i + 1]].astype(float) * HARTREE_TO_KCAL_MOL))
    return out


def water():
    return Molecule([8, 1, 1], [[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]],
                    name="water")


def benzene():
    ang = np.arange(6) * np.pi / 3
    ring = np.stack([np.cos(ang), np.sin(ang), np.zeros(6)], 1)
    return Molecule([6] * 6 + [1] * 6, np.concatenate([1.39 * ring, 2.48 * ring]), name="benzene")


def ammonium(center=(3.0, -2.0, 1.0)):
    a = 1.03 / np.sqrt(3.0)
    h = a * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)
    return Molecule([7, 1, 1, 1, 1], np.concatenate([[[0.0, 0.0, 0.0]], h]) + np.asarray(center),
                    charge=1, name="ammonium")


def methyl_radical():
    ang = np.arange(3) * 2 * np.pi / 3
    h = 1.079 * np.stack([np.cos(ang), np.sin(ang), np.zeros(3)], 1)
    return Molecule([6, 1, 1, 1], np.concatenate([[[0.0, 0.0, 0.0]], h]), multiplicity=2, name="methyl")


def sphere_points(radius, n, center, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return center + radius * v / np.linalg.norm(v, axis=1, keepdims=True)


# -- fast checks ----------------------------------------------------------------------------

def test_bad_spin_and_cache_key(tmp_path):
    eng = ReferenceEngine(basis=SMALL, cache_dir=str(tmp_path))
    with pytest.raises(MoleculeInputError, match="multiplicity"):
        eng.run(Molecule([8, 1, 1], water().positions, multiplicity=2))
    other = ReferenceEngine(basis="6-31g(2df,p)", cache_dir=str(tmp_path))
    assert eng.cache_key(water()) != other.cache_key(water())
    assert eng.cache_key(water()) == ReferenceEngine(basis="6-31G", cache_dir=str(tmp_path)).cache_key(water())
    assert ReferenceEngine().estimate_seconds(benzene()) > ReferenceEngine().estimate_seconds(water())


# -- reproduction of the reference data ------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("i", [0, 1, 2])
def test_reproduces_reference_data(i, ref_cache):
    """B3LYP/6-31G(2df,p) reproduces data/qm9/test.npz (dipole, quadrupole, MEP, energy)."""
    m = reference_molecules()[i]
    mol = Molecule(m["z"], m["pos"], smiles=m["smiles"])
    fractions = []
    r = ReferenceEngine(cache_dir=ref_cache).run(mol, progress=lambda f, msg: fractions.append(f))
    assert isinstance(r, ReferenceResult) and r.converged
    assert fractions and fractions[-1] == 1.0 and np.all(np.diff(fractions) >= 0)
    assert r.energy == pytest.approx(m["energy"], abs=1e-6)
    np.testing.assert_allclose(r.dipole, m["dipole"], atol=1e-3)
    np.testing.assert_allclose(r.quadrupole, m["quadrupole_com"], atol=1e-3)
    np.testing.assert_allclose(r.second_moment, m["second_moment"], atol=1e-3)
    np.testing.assert_allclose(r.center_of_mass, m["center_of_mass"], atol=1e-6)
    np.testing.assert_allclose(r.mep(m["iso_points"]), m["iso_esp"], atol=0.1)
    np.testing.assert_allclose(r.mep(m["shell_points"]), m["shell_esp"], atol=0.1)
    # |μ| agrees with QM9's own column to a few hundredths of a debye (QM9 used Gaussian, no DF)
    assert abs(np.linalg.norm(r.dipole) * 4.80320 - m["qm9_dipole_debye"]) < 0.1


# -- physics ---------------------------------------------------------------------------------

def _octupole_potential(result: ReferenceResult, points):
    """The l = 3 term of the multipole expansion about the COM (kcal/mol/e), from ⟨r r r⟩.

    1/|R−r| = Σ_l r^l/R^{l+1} P_l(cos γ), so V₃(R) = k_e [5 T_abc n_a n_b n_c − 3 T_abb n_a]/(2R⁴)
    with T the raw third moment (nuclei minus electrons) about the COM.
    """
    pmol, dm = result.pyscf_mol, result.dm
    com_b = result.center_of_mass / BOHR_ANGSTROM
    with pmol.with_common_orig(com_b):
        rrr = pmol.intor("int1e_rrr", comp=27).reshape(3, 3, 3, *dm.shape)
    c = pmol.atom_coords() - com_b
    t = (np.einsum("i,ia,ib,ic->abc", pmol.atom_charges().astype(float), c, c, c)
         - np.einsum("abcij,ji->abc", rrr, dm)) * BOHR_ANGSTROM ** 3
    s = np.asarray(points) - result.center_of_mass
    r = np.linalg.norm(s, axis=1)
    n = s / r[:, None]
    val = 5 * np.einsum("abc,pa,pb,pc->p", t, n, n, n) - 3 * np.einsum("abb,pa->p", t, n)
    return COULOMB_KCAL_ANGSTROM * val / (2 * r ** 4)


@pytest.mark.slow
def test_far_field_matches_dipole_plus_quadrupole(ref_cache):
    """At 8–15 Å the DFT MEP of water is its COM dipole + quadrupole potential.

    Tolerance: the first neglected term is the octupole, O(r⁻⁴). We compute it exactly from
    ⟨r r r⟩ and require (a) |V − V_μΘ| ≤ 1.2 max|V₃| + 1e-4 on each shell and (b) the
    residual after adding V₃ to be ≤ 25 % of max|V₃| (the next term, hexadecapole, is
    smaller by ~ molecular extent / r ≈ 0.1; penetration is e^{-αr²}-negligible there).
    For water this means residuals of ~1e-2 kcal/mol/e at 8 Å against a ~2 kcal/mol/e signal.
    """
    r = ReferenceEngine(basis=SMALL, cache_dir=ref_cache).run(water())
    com = r.center_of_mass
    for radius in (8.0, 11.0, 15.0):
        pts = sphere_points(radius, 150, com, seed=int(radius))
        v_ref = r.mep(pts)
        v_dq = multipole_potential(pts, [com], charges=[0.0], dipoles=[r.dipole_com],
                                   quadrupoles=[r.quadrupole])
        v3 = _octupole_potential(r, pts)
        resid = np.abs(v_ref - v_dq)
        assert np.abs(v_dq).max() > 20 * resid.max()                  # the expansion dominates
        assert resid.max() <= 1.2 * np.abs(v3).max() + 1e-4, radius
        assert np.abs(v_ref - v_dq - v3).max() <= 0.25 * np.abs(v3).max() + 1e-4, radius


@pytest.mark.slow
def test_charged_molecule_moments_about_com(ref_cache):
    """NH4+ (Td) away from the origin: μ(0) = Q·COM, μ(COM) = Θ(COM) = 0, shift matches PySCF."""
    mol = ammonium()
    r = ReferenceEngine(basis=SMALL, cache_dir=ref_cache).run(mol)
    assert r.converged and -57.5 < r.energy < -56.0
    com = r.center_of_mass
    np.testing.assert_allclose(com, [3.0, -2.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(r.dipole, 1.0 * com, atol=1e-4)             # all charge at the centre
    np.testing.assert_allclose(r.dipole_com, 0.0, atol=1e-4)
    np.testing.assert_allclose(r.quadrupole, 0.0, atol=1e-4)               # Td: no quadrupole
    assert np.abs(r.second_moment).max() > 5.0                             # the Q·o·oᵀ term matters
    # direct PySCF moments with the common origin at the COM
    pmol, dm = r.pyscf_mol, r.dm
    com_b = com / BOHR_ANGSTROM
    with pmol.with_common_orig(com_b):
        rr = pmol.intor("int1e_rr", comp=9).reshape(3, 3, *dm.shape)
    c = pmol.atom_coords() - com_b
    m2 = (np.einsum("i,ia,ib->ab", pmol.atom_charges().astype(float), c, c)
          - np.einsum("abij,ji->ab", rr, dm)) * BOHR_ANGSTROM ** 2
    np.testing.assert_allclose(r.second_moment_about(com), m2, atol=1e-8)
    # far away the ion looks like a +1 point charge
    pts = sphere_points(30.0, 50, com)
    np.testing.assert_allclose(r.mep(pts), COULOMB_KCAL_ANGSTROM / 30.0, rtol=1e-4)


@pytest.mark.slow
def test_open_shell_methyl_radical(ref_cache):
    r = ReferenceEngine(basis=SMALL, cache_dir=ref_cache).run(methyl_radical())
    assert r.converged and -40.0 < r.energy < -39.6
    assert r.s2 == pytest.approx(0.75, abs=0.02)
    assert np.trace(r.dm @ r.pyscf_mol.intor("int1e_ovlp")) == pytest.approx(9.0, abs=1e-8)
    np.testing.assert_allclose(r.dipole_com, 0.0, atol=1e-4)               # D3h
    q = r.quadrupole
    np.testing.assert_allclose(np.trace(q), 0.0, atol=1e-10)
    assert q[0, 0] == pytest.approx(q[1, 1], abs=1e-4) and abs(q[2, 2]) > 0.1
    np.testing.assert_allclose(q - np.diag(np.diag(q)), 0.0, atol=1e-4)


# -- cache, concurrency, time budget ---------------------------------------------------------

@pytest.mark.slow
def test_cache_hit_is_identical_and_does_not_recompute(tmp_path):
    first = ReferenceEngine(basis=SMALL, cache_dir=str(tmp_path))
    r1 = first.run(water())
    assert first.compute_count == 1 and not r1.from_cache
    second = ReferenceEngine(basis=SMALL, cache_dir=str(tmp_path))
    t0 = time.perf_counter()
    r2 = second.run(water())
    assert second.compute_count == 0 and r2.from_cache
    assert time.perf_counter() - t0 < max(0.5, r1.wall_time)
    assert r2.energy == r1.energy
    for name in ("dipole", "second_moment", "quadrupole", "center_of_mass", "dm"):
        np.testing.assert_array_equal(getattr(r2, name), getattr(r1, name))
    pts = sphere_points(3.0, 20, r1.center_of_mass)
    np.testing.assert_array_equal(r2.mep(pts), r1.mep(pts))
    np.testing.assert_array_equal(r2.density(pts), r1.density(pts))
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp-")]
    # a different level is a different entry
    assert ReferenceEngine(basis="sto-3g", cache_dir=str(tmp_path)).run(water()).from_cache is False


def test_absurd_charges_are_refused_before_any_scf(tmp_path):
    eng = ReferenceEngine(basis=SMALL, cache_dir=str(tmp_path))
    for q, why in ((-6, "outside the DFT reference's range"), (-40, "larger in magnitude than the 10 electrons")):
        with pytest.raises(MoleculeInputError, match=why):
            eng.run(Molecule(water().numbers, water().positions, charge=q))
    assert eng.compute_count == 0 and not os.listdir(tmp_path)


def test_save_load_round_trip_and_validation(tmp_path):
    """ReferenceResult.save/load (full and compact) and the reasons a file is refused."""
    from mepviz.reference import InvalidReferenceFile
    r = ReferenceEngine(basis="sto-3g", cache_dir=False).run(water())
    full, compact = tmp_path / "full.npz", tmp_path / "compact.npz"
    r.save(full)
    r.save(compact, compact=True, extra={"values_isodensity": np.arange(3.0)})
    back = ReferenceResult.load(full)                          # molecule rebuilt from the file
    assert back.molecule.key() == r.molecule.key() and back.energy == r.energy
    np.testing.assert_array_equal(back.dm, r.dm)
    small = ReferenceResult.load(compact, water(), basis="sto-3g")
    assert np.abs(small.dm - r.dm).max() < 1e-6
    pts = sphere_points(3.0, 10, r.center_of_mass)
    np.testing.assert_allclose(small.mep(pts), r.mep(pts), atol=1e-3)
    with pytest.raises(InvalidReferenceFile, match="another molecule"):
        ReferenceResult.load(full, Molecule(r.molecule.numbers, r.molecule.positions + 0.01))
    with pytest.raises(InvalidReferenceFile, match="basis sto-3g differs"):
        ReferenceResult.load(full, basis="6-31g")
    data = dict(np.load(full))
    for change, why in (({"energy": np.float64(np.nan)}, "non-finite"),
                        ({"dipole": np.zeros(4)}, "dipole has shape"),
                        ({"dm": data["dm"][:, :-1]}, "density matrix has shape")):
        bad = tmp_path / "bad.npz"
        np.savez(bad, **{**data, **change})
        with pytest.raises(InvalidReferenceFile, match=why):
            ReferenceResult.load(bad)
    bad.write_bytes(full.read_bytes()[:500])
    with pytest.raises(InvalidReferenceFile, match="unreadable"):
        ReferenceResult.load(bad)


def test_corrupted_cache_is_recomputed_and_overwritten(tmp_path):
    eng = ReferenceEngine(basis="sto-3g", cache_dir=str(tmp_path))
    r1 = eng.run(water())
    path = eng.cache_path(water())
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".lock")]        # lock removed
    data = dict(np.load(path))
    np.savez(path, **{**data, "energy": np.float64(data["energy"]) + 1.0})      # edited: the hash says so
    with pytest.warns(RuntimeWarning, match="does not match its hash"):
        assert eng.cached(water()) is None
    assert not os.path.exists(path)
    np.savez(path, **{**data, "quadrupole": np.full((3, 3), np.inf)})           # non-finite
    with pytest.warns(RuntimeWarning, match="invalid reference cache"):
        assert eng.cached(water()) is None
    assert not os.path.exists(path)
    with open(path, "wb") as fh:                                                # truncated
        fh.write(b"PK\x03\x04 truncated")
    with pytest.warns(RuntimeWarning):
        r2 = eng.run(water())
    assert not r2.from_cache and eng.compute_count == 2 and r2.energy == pytest.approx(r1.energy)
    assert ReferenceResult.load(path, water()).energy == r2.energy


def test_cache_files_carry_their_key_and_a_content_hash(tmp_path):
    """Issue 21: a cache file without its key (another molecule's results would appear under
    this one), with another molecule's key, or without its content hash is discarded with a
    message and recomputed; a good file holds the key and a hash of every array, written last."""
    from mepviz.physics.reference import HASH_FIELD, content_hash
    eng = ReferenceEngine(basis="sto-3g", cache_dir=str(tmp_path))
    hf = Molecule([9, 1], [[0, 0, 0], [0.92, 0, 0]])
    eng.run(water())
    eng.run(hf)
    path = eng.cache_path(water())
    with np.load(path) as d:
        assert d.files[-1] == HASH_FIELD and str(d["key"]) == water().key()
        good = {k: d[k] for k in d.files}
    assert str(good[HASH_FIELD]) == content_hash(good)
    with np.load(eng.cache_path(hf)) as d:
        other = {k: d[k] for k in d.files}
    no_key = {k: v for k, v in other.items() if k != "key"}
    no_key[HASH_FIELD] = np.str_(content_hash(no_key))                    # consistent, but keyless
    no_hash = {k: v for k, v in good.items() if k != HASH_FIELD}
    for data, why in ((no_key, "no key"), (other, "another molecule"), (no_hash, "no content hash")):
        np.savez(path, **data)
        with pytest.warns(RuntimeWarning, match=why):
            assert eng.cached(water()) is None
        assert not os.path.exists(path)
    r = eng.run(water())                                                  # recomputed
    assert not r.from_cache and eng.compute_count == 3 and eng.cached(water()).energy == r.energy


def test_cache_evicts_least_recently_used(tmp_path, monkeypatch):
    from mepviz.reference import evict
    eng = ReferenceEngine(basis="sto-3g", cache_dir=str(tmp_path))
    mols = [water(), Molecule([9, 1], [[0, 0, 0], [0.92, 0, 0]]), Molecule([1, 1], [[0, 0, 0], [0.74, 0, 0]])]
    for k, m in enumerate(mols[:2]):
        eng.run(m)
        os.utime(eng.cache_path(m), (1000 + k, 1000 + k))
    eng.cached(mols[0])                       # water is now the most recently used
    sizes = {m.formula: os.path.getsize(eng.cache_path(m)) for m in mols[:2]}
    cap = sizes["H2O"] + sizes["FH"] + 0.5 * min(sizes.values())
    monkeypatch.setenv("MEPVIZ_CACHE_MAX_MB", str(cap / 1e6))
    eng.run(mols[2])                          # over the cap: HF (least recently used) goes, only HF
    left = sorted(f for f in os.listdir(tmp_path) if f.endswith(".npz"))
    assert left == sorted(os.path.basename(eng.cache_path(m)) for m in (mols[0], mols[2]))
    assert evict(str(tmp_path), 0, keep=eng.cache_path(mols[2])) == [eng.cache_path(mols[0])]


def _concurrent_worker(cache_dir, barrier, queue):
    os.environ["OMP_NUM_THREADS"] = "1"
    messages = []
    eng = ReferenceEngine(basis=SMALL, cache_dir=cache_dir)
    barrier.wait(timeout=120)
    r = eng.run(benzene(), progress=lambda f, msg: messages.append(msg))
    queue.put((os.getpid(), eng.compute_count, r.from_cache, r.energy, r.dipole.tolist(),
               any("waiting" in m for m in messages)))


@pytest.mark.slow
def test_concurrent_processes_compute_once(tmp_path, monkeypatch):
    # Streamlit's AppTest (earlier in the session) leaves a page script as __main__; spawn
    # would re-run it in the children. Give them a clean __main__ instead.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_concurrent_worker, args=(str(tmp_path), barrier, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sorted(r[1] for r in results) == [0, 1]                    # exactly one SCF in total
    assert sorted(r[2] for r in results) == [False, True]
    assert any(r[5] for r in results)                                 # the other one waited
    assert results[0][3] == results[1][3] and results[0][4] == results[1][4]


def test_time_budget_refused_up_front(tmp_path):
    eng = ReferenceEngine(cache_dir=str(tmp_path))            # real level: benzene ≫ 0.5 s
    t0 = time.perf_counter()
    with pytest.raises(ReferenceTimeout, match="would take about") as info:
        eng.run(benzene(), time_budget_s=0.5)
    assert info.value.estimate_s > 1.0 and info.value.elapsed_s == 0.0
    assert time.perf_counter() - t0 < 5.0 and eng.compute_count == 0


@pytest.mark.slow
def test_time_budget_stops_running_scf(tmp_path, monkeypatch):
    eng = ReferenceEngine(basis=SMALL, cache_dir=str(tmp_path))
    monkeypatch.setattr(eng, "estimate_seconds", lambda mol: 0.0)     # pass the up-front check
    with pytest.raises(ReferenceTimeout, match="stopped after") as info:
        eng.run(benzene(), time_budget_s=0.01)
    assert info.value.elapsed_s > 0.01
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".npz")]    # nothing cached
    assert eng.run(water(), time_budget_s=60).converged                    # lock released, engine usable


@pytest.mark.slow
def test_cpu_time_budget_stops_running_scf(tmp_path, monkeypatch):
    """The budget in CPU time (the app's DFT jobs): the same stop, said so."""
    eng = ReferenceEngine(basis=SMALL, cache_dir=str(tmp_path))
    monkeypatch.setattr(eng, "estimate_seconds", lambda mol: 0.0)
    with pytest.raises(ReferenceTimeout, match="stopped after .* of CPU time") as info:
        eng.run(benzene(), time_budget_s=0.01, cpu_time=True)
    assert info.value.elapsed_s > 0.01 and not [f for f in os.listdir(tmp_path) if f.endswith(".npz")]
    with pytest.raises(ReferenceTimeout, match="over the time budget of 0.5 s of CPU time"):
        ReferenceEngine(cache_dir=str(tmp_path)).run(benzene(), time_budget_s=0.5, cpu_time=True)


# -- surfaces: promolecular vs DFT density ----------------------------------------------------

# Promolecular (sum of free-atom B3LYP/6-31G(2df,p) densities, mepviz.surfaces) vs the
# true B3LYP/6-31G(2df,p) density, ρ = 0.001 e/bohr³, 0.2 Å grid: within 5 % in area.
# History: with plain free-atom densities (surfaces.py at 547867c) water was +16.7 % and
# benzene +8.1 % (a bonded H is electron-poor: along water's O–H axis the true surface is
# 1.20 Å beyond the proton, 1.54 Å for a free H atom), QM9 molecules with few H 0.7–4.2 %.
# With the tuned densities: water +3.8 %, benzene −1.9 %, QM9 test molecules ≤ 0.6 %.
SURFACE_AREA_TOLERANCE = {"qm9": 0.05, "benzene": 0.05, "water": 0.05}


@pytest.mark.slow
@pytest.mark.parametrize("which", ["water", "benzene", "qm9"])
def test_promolecular_surface_area_close_to_dft(which, ref_cache):
    surfaces = pytest.importorskip("mepviz.surfaces")
    if not hasattr(surfaces, "isodensity_surface"):
        pytest.skip("mepviz.surfaces.isodensity_surface not available yet")
    if which == "qm9":
        m = reference_molecules()[0]
        mol = Molecule(m["z"], m["pos"])
    else:
        mol = {"water": water, "benzene": benzene}[which]()
    result = ReferenceEngine(cache_dir=ref_cache).run(mol)
    dft = result.density_isosurface(isovalue=0.001, spacing=0.2)
    assert dft.area > 10.0 and dft.is_closed()
    assert np.abs(result.density(dft.vertices) - 0.001).max() < 2e-4       # vertices on the surface
    promol = surfaces.isodensity_surface(mol, isovalue=0.001, spacing=0.2)
    rel = (promol.area - dft.area) / dft.area
    assert abs(rel) < SURFACE_AREA_TOLERANCE[which], (which, promol.area, dft.area)


def test_progress_callback_can_cancel(tmp_path):
    class Cancelled(Exception):
        pass

    def progress(fraction, message):
        if message.startswith("SCF cycle 2"):
            raise Cancelled

    eng = ReferenceEngine(basis=SMALL, cache_dir=str(tmp_path))
    with pytest.raises(Cancelled):
        eng.run(water(), progress=progress)
    assert eng.compute_count == 0 and not [f for f in os.listdir(tmp_path) if f.endswith(".npz")]
    assert not eng.run(water()).from_cache                   # lock released, recomputed
