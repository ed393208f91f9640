"""Thermal conformations for labels: Langevin dynamics on the MMFF94 surface (RDKit).

SPICE samples its monomers by force-field dynamics at 500 K, so its bond lengths spread by
about ±0.1 Å (C–Cl 1.67–1.92 Å among the test monomers), while every label made from a SMILES
sits at the MMFF minimum. A σ-hole's depth follows the C–X bond, so the sp³ halide scaffolds
are also labelled at thermal snapshots made here: start from the app's SMILES geometry
(mepviz.io.smiles.from_smiles: canonical atom order, lowest-MMFF conformer), thermalise, then take
one snapshot every `interval_fs`. Integrator: BAOAB Langevin (Leimkuhler & Matthews 2013),
units Å, fs, amu, kcal/mol; deterministic for a seed.
"""
from __future__ import annotations

import numpy as np
from rdkit import Chem
from rdkit.Chem import AllChem

#: Boltzmann constant, kcal/mol/K
KB_KCAL = 0.0019872043
#: 1 kcal/mol/Å/amu as an acceleration in Å/fs²
KCAL_PER_AMU_TO_A_FS2 = 4.184e-4

TEMPERATURE_K = 500.0        # SPICE's sampling temperature
TIMESTEP_FS = 0.5
FRICTION_PER_FS = 1.0e-2     # 10/ps: holds small molecules at the set temperature
EQUILIBRATION_FS = 2000.0
INTERVAL_FS = 1000.0


def _mmff_gradient(smiles: str, positions: np.ndarray):
    """(gradient function x → dE/dx in kcal/mol/Å, masses amu) of MMFF94 for `smiles` with H
    in the canonical atom order of from_smiles. The positions go through the conformer and
    ``Initialize()`` on every call: RDKit's ``CalcGrad(positions)`` keeps state between calls
    and returns wrong gradients from the second call on (tests/test_thermal.py)."""
    from rdkit.Geometry import Point3D

    from mepviz.io.embed import _canonical_order
    mol = _canonical_order(Chem.AddHs(Chem.MolFromSmiles(smiles)))
    conf = Chem.Conformer(mol.GetNumAtoms())
    for k, p in enumerate(np.asarray(positions, float)):
        conf.SetAtomPosition(k, p.tolist())
    conf = mol.GetConformer(mol.AddConformer(conf, assignId=True))
    props = AllChem.MMFFGetMoleculeProperties(mol)
    if props is None:
        raise ValueError(f"MMFF94 has no parameters for {smiles!r}")
    ff = AllChem.MMFFGetMoleculeForceField(mol, props)

    def gradient(x: np.ndarray, _keep=(mol, props)) -> np.ndarray:
        for k, p in enumerate(x):
            conf.SetAtomPosition(k, Point3D(*p))
        ff.Initialize()
        return np.asarray(ff.CalcGrad()).reshape(x.shape)
    return gradient, np.array([a.GetMass() for a in mol.GetAtoms()])


def langevin(smiles: str, positions: np.ndarray, steps: int, temperature: float = TEMPERATURE_K,
             seed: int = 0, dt: float = TIMESTEP_FS, friction: float = FRICTION_PER_FS, every: int = 1):
    """Yield (positions Å, kinetic temperature K) every `every` steps of BAOAB Langevin
    dynamics on MMFF94 from `positions` (atoms in from_smiles order), velocities drawn at
    `temperature`."""
    gradient, m = _mmff_gradient(smiles, positions)
    rng = np.random.default_rng(seed)
    kt = KB_KCAL * temperature * KCAL_PER_AMU_TO_A_FS2          # Å²/fs² · amu
    sd = np.sqrt(kt / m)[:, None]
    x = np.array(positions, float)
    v = rng.normal(size=x.shape) * sd
    accel = lambda x: -gradient(x) / m[:, None] * KCAL_PER_AMU_TO_A_FS2    # noqa: E731
    a = accel(x)
    c1 = np.exp(-friction * dt)
    c2 = np.sqrt(1.0 - c1 * c1)
    dof = 3 * len(m) - 3                                          # all but the centre of mass
    for step in range(1, steps + 1):
        v += 0.5 * dt * a
        x += 0.5 * dt * v
        v = c1 * v + c2 * sd * rng.normal(size=x.shape)
        x += 0.5 * dt * v
        a = accel(x)
        v += 0.5 * dt * a
        if step % every == 0:
            v_int = v - (m[:, None] * v).sum(0) / m.sum()           # without the centre-of-mass drift
            kin = 0.5 * (m[:, None] * v_int ** 2).sum() / KCAL_PER_AMU_TO_A_FS2
            yield x.copy(), 2.0 * kin / (dof * KB_KCAL)


def thermal_positions(smiles: str, positions: np.ndarray, n: int, seed: int = 0,
                      temperature: float = TEMPERATURE_K) -> np.ndarray:
    """(n, atoms, 3) Å: snapshots 1…n of one trajectory (EQUILIBRATION_FS, then one every
    INTERVAL_FS), the centre of mass kept where it started."""
    first, every = int(EQUILIBRATION_FS / TIMESTEP_FS), int(INTERVAL_FS / TIMESTEP_FS)
    steps = first + (n - 1) * every
    m = _mmff_gradient(smiles, positions)[1]
    com0 = (m[:, None] * positions).sum(0) / m.sum()
    out = []
    for k, (x, _) in enumerate(langevin(smiles, positions, steps, temperature, seed, every=every), start=1):
        if k * every >= first:                  # EQUILIBRATION_FS is a whole number of intervals
            out.append(x - (m[:, None] * x).sum(0) / m.sum() + com0)
    return np.array(out)


def thermal_molecule(smiles: str, charge: int, snapshot: int, name: str = ""):
    """The app's SMILES geometry of `smiles` at thermal snapshot `snapshot` ≥ 1 (seeded by
    the SMILES and nothing else, so a pool row always gives the same geometry)."""
    from mepviz.core.molecule import Molecule
    from mepviz.io.smiles import from_smiles
    start = from_smiles(smiles, charge=charge, name=name or smiles)
    seed = int.from_bytes(smiles.encode(), "little") % (2 ** 32)
    pos = thermal_positions(smiles, start.positions, snapshot, seed=seed)[snapshot - 1]
    return Molecule(start.numbers, pos, charge=charge, name=name or smiles)
