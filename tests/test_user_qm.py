"""Bring your own QM (mepviz.io.wavefunction, mepviz.io.cube): PySCF-made Molden, .fchk and
cube files of the gallery's water (tests/data/qm/make_qm_files.py) reproduce the shipped DFT
reference map; broken files get specific messages."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mepviz import MoleculeInputError
from mepviz.io.cube import read_cube_pair
from mepviz.io.wavefunction import read_wavefunction

QM = Path(__file__).parent / "data" / "qm"


@pytest.fixture(scope="module")
def shipped():
    from appkit import gallery
    from mepviz.surface.surfaces import surface_for
    mol = gallery.load("water")
    surf = surface_for(mol, "isodensity")
    return mol, surf, gallery.precomputed_values(mol, "isodensity", surf)


def _cubes():
    return [(f, (QM / f).read_bytes()) for f in ("water_potential.cube", "water_density.cube")]


@pytest.mark.parametrize("name,tol", [("water.molden", 1e-3), ("water.fchk", 1e-3), ("cubes", 0.05)])
def test_reproduces_the_shipped_reference_map(shipped, name, tol):
    mol, surf, values = shipped
    ref = read_cube_pair(_cubes()) if name == "cubes" else read_wavefunction((QM / name).read_bytes(), name)
    m = ref.molecule                                        # geometry, charge, multiplicity
    assert (m.charge, m.multiplicity) == (mol.charge, mol.multiplicity) and np.array_equal(m.numbers, mol.numbers)
    assert np.allclose(m.positions, mol.positions, atol=1e-5)
    assert np.abs(ref.mep(surf.vertices) - values).max() < tol
    if name == "water.fchk":
        assert ref.level.startswith("B3LYP/6-31G(2DF,P)")
    own = ref.isodensity_surface()                          # the file's own density
    assert abs(own.area - surf.area) / surf.area < 0.05


def test_broken_files_get_specific_messages():
    text = (QM / "water.molden").read_text()
    with pytest.raises(MoleculeInputError, match="MO"):
        read_wavefunction(text[:text.index("[MO]")], "cut.molden")
    with pytest.raises(MoleculeInputError, match="cut2.molden"):
        read_wavefunction(text[: int(len(text) * 0.8)], "cut2.molden")
    with pytest.raises(MoleculeInputError, match="not a Molden file"):
        read_wavefunction("hello\nworld\n", "x.molden")
    with pytest.raises(MoleculeInputError, match="PNG"):
        read_wavefunction(b"\x89PNG\r\n" + b"\x00" * 50, "x.fchk")
    with pytest.raises(MoleculeInputError, match="formatted checkpoint"):
        read_wavefunction("just text\n" * 5, "x.fchk")
    cube = (QM / "water_density.cube").read_text()
    with pytest.raises(MoleculeInputError, match="truncated"):
        read_cube_pair([("d_density.cube", cube[: len(cube) // 2]), _cubes()[0]])
    with pytest.raises(MoleculeInputError, match="two files"):
        read_cube_pair(_cubes()[:1])
    lines = cube.split("\n")
    lines[3] = "   20" + lines[3][5:]
    with pytest.raises(MoleculeInputError, match="same grid|promises"):
        read_cube_pair([("d_density.cube", "\n".join(lines)), _cubes()[0]])
