"""Thermal snapshots for labels (train/thermal.py): MMFF94 gradients, the Langevin thermostat,
and the pool rows labelled at them (train/pools.py, train/label_pool.py)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from mepviz.io.smiles import from_smiles
from train import label_pool, pools, thermal

ROOT = Path(__file__).resolve().parents[1]
POOLS = ROOT / "data" / "pools"


def _fresh_energy(smiles: str, x: np.ndarray) -> float:
    """MMFF94 energy (kcal/mol) at `x` from a force field built for this one call."""
    from mepviz.io.embed import _canonical_order
    mol = _canonical_order(Chem.AddHs(Chem.MolFromSmiles(smiles)))
    AllChem.EmbedMolecule(mol, randomSeed=1)
    ff = AllChem.MMFFGetMoleculeForceField(mol, AllChem.MMFFGetMoleculeProperties(mol))
    return ff.CalcEnergy(np.asarray(x, float).ravel().tolist())


def test_mmff_gradient_is_the_energy_derivative_on_every_call():
    """Central differences of the MMFF94 energy at five distorted geometries in a row (RDKit's
    CalcGrad(positions) is right on its first call only)."""
    smiles = "ClC1CCCCC1Cl"
    start = from_smiles(smiles).positions
    gradient, masses = thermal._mmff_gradient(smiles, start)
    assert masses.shape == (len(start),) and masses.max() == pytest.approx(35.453)
    rng, h = np.random.default_rng(0), 1e-4
    for _ in range(5):
        x = start + rng.normal(size=start.shape) * 0.15
        g = gradient(x)
        for i, j in zip(rng.integers(0, len(x), 6), rng.integers(0, 3, 6)):
            up, down = x.copy(), x.copy()
            up[i, j] += h
            down[i, j] -= h
            fd = (_fresh_energy(smiles, up) - _fresh_energy(smiles, down)) / (2 * h)
            assert g[i, j] == pytest.approx(fd, rel=1e-4, abs=1e-4)


def test_langevin_holds_the_set_temperature():
    """Equipartition: the mean kinetic temperature of a 10 ps trajectory (after 1 ps) is the
    thermostat's, for two temperatures."""
    smiles = "OCC(Br)(Br)Br"
    start = from_smiles(smiles).positions
    for temperature in (300.0, 500.0):
        t = [k for _, k in thermal.langevin(smiles, start, 20000, temperature, seed=2, every=10)]
        assert np.mean(t[200:]) == pytest.approx(temperature, rel=0.08)


def test_thermal_molecule_is_a_reproducible_displaced_geometry_of_the_smiles_molecule():
    smiles = "ClCCCCl"
    m0 = from_smiles(smiles)
    snaps = [thermal.thermal_molecule(smiles, 0, k) for k in (1, 2)]
    again = thermal.thermal_molecule(smiles, 0, 2)
    assert np.array_equal(again.positions, snaps[1].positions)                  # seeded by the SMILES
    dist = lambda m: np.linalg.norm(m.positions[:, None] - m.positions[None], axis=-1)  # noqa: E731
    masses = np.array([Chem.GetPeriodicTable().GetAtomicWeight(int(z)) for z in m0.numbers])
    com = lambda m: (masses[:, None] * m.positions).sum(0) / masses.sum()         # noqa: E731
    cls = np.flatnonzero(m0.numbers == 17)
    bonds = []
    for m in snaps:
        assert np.array_equal(m.numbers, m0.numbers) and m.charge == 0
        assert np.abs(dist(m) - dist(m0)).max() > 0.05                           # not the minimum
        assert np.allclose(com(m), com(m0), atol=1e-9)
        bonds += [np.sort(dist(m)[c])[1] for c in cls]
    assert all(1.6 < b < 2.05 for b in bonds) and np.ptp(bonds) > 0.005          # bonded, and spread (Å)
    assert np.abs(np.subtract(*[dist(m) for m in snaps])).max() > 0.05            # snapshots differ


def test_halide_thermal_pool_rows_are_the_scaffolds_at_their_snapshots(tmp_path):
    rows = pools.read_rows(str(POOLS / "train_halide_thermal.csv"))
    halides = pools.read_rows(str(POOLS / "train_halides.csv"))
    assert len(rows) == pools.HALIDE_SNAPSHOTS * len(halides)
    ks = [pools.thermal_snapshot(r) for r in rows]
    assert ks == sorted(ks) and set(ks) == set(range(1, pools.HALIDE_SNAPSHOTS + 1))   # snapshot 1 of all first
    assert [r["smiles"] for r in rows[:len(halides)]] == [r["smiles"] for r in halides]
    assert pools.thermal_snapshot(halides[0]) is None and pools.spice_conformation(rows[0]) is None
    # the labeller's geometry is that snapshot
    row = next(r for r in rows if r["id"] == "halide_29_Cl_t3")
    mol = label_pool.molecule_of(row)
    assert np.array_equal(mol.positions, thermal.thermal_molecule(row["smiles"], 0, 3).positions)
    # the committed file is what the documented command writes
    import shutil
    shutil.copy(POOLS / "train_halides.csv", tmp_path / "train_halides.csv")
    assert pools.main(["halide-thermal", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "train_halide_thermal.csv").read_bytes() == (POOLS / "train_halide_thermal.csv").read_bytes()
