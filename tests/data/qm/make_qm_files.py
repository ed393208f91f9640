"""Regenerate the "bring your own QM" test files of this folder with PySCF:

    OMP_NUM_THREADS=1 python tests/data/qm/make_qm_files.py

For the gallery's water (its QM9 geometry), at the app's reference level (B3LYP/6-31G(2df,p),
density fitting, grid level 1, as mepviz.physics.reference.ReferenceEngine runs it):

- water.molden        — pyscf.tools.molden.from_scf (what any program's Molden file holds);
- water.fchk          — the same wavefunction as a Gaussian formatted checkpoint, written by
                        IOData (qc-iodata) from that Molden file with the level set
                        (PySCF writes no .fchk);
- water_density.cube, water_potential.cube — pyscf.tools.cubegen density and MEP of the SCF
                        density on one 40 × 40 × 40 grid (5 bohr margin), a pair as Gaussian's
                        cubegen writes them.

tests/test_user_qm.py checks that each reproduces the gallery's shipped DFT map.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

GRID = 40
MARGIN_BOHR = 5.0


def main() -> int:
    from iodata import dump_one, load_one
    from pyscf.tools import cubegen, molden

    from mepviz.io import from_xyz
    from mepviz.physics.reference import ReferenceEngine, _build_pyscf_mol

    mol = from_xyz((ROOT / "mepviz" / "data" / "gallery" / "water.xyz").read_text())[0]
    engine = ReferenceEngine(cache_dir=None)
    pmol = _build_pyscf_mol(mol.numbers, mol.positions, mol.charge, mol.multiplicity, engine.basis,
                            engine.max_memory_mb)
    mf = engine._make_mf(pmol, open_shell=False)
    mf.kernel()
    assert mf.converged
    molden.from_scf(mf, str(HERE / "water.molden"))
    data = load_one(str(HERE / "water.molden"))
    data.lot, data.obasis_name, data.title = "B3LYP", "6-31G(2df,p)", "water, PySCF SCF via Molden"
    dump_one(data, str(HERE / "water.fchk"))
    dm = mf.make_rdm1()
    cubegen.density(pmol, str(HERE / "water_density.cube"), dm, nx=GRID, ny=GRID, nz=GRID, margin=MARGIN_BOHR)
    cubegen.mep(pmol, str(HERE / "water_potential.cube"), dm, nx=GRID, ny=GRID, nz=GRID, margin=MARGIN_BOHR)
    for f in sorted(HERE.glob("water*")):
        print(f"{f.name}: {f.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
