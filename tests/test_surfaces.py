"""Surfaces: promolecular density, isodensity / vdW meshes, MK shell points."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mepviz import Molecule, MoleculeInputError
from mepviz.elements import bondi_radii
from mepviz.surfaces import (
    Surface, atom_contractions, atomic_density, edge_use_counts, isodensity_surface, mesh_from_grid,
    promolecular_density, promolecular_density_gradient, shell_points, surface_for,
    vdw_surface,
)
from mepviz.units import BOHR_ANGSTROM

ROOT = Path(__file__).resolve().parents[1]

WATER = Molecule([8, 1, 1], [[0.0, 0.0, 0.1173], [0.0, 0.7572, -0.4692], [0.0, -0.7572, -0.4692]],
                 name="water")
_ang = np.arange(6) * np.pi / 3
_c = np.c_[1.397 * np.cos(_ang), 1.397 * np.sin(_ang), np.zeros(6)]
BENZENE = Molecule([6] * 6 + [1] * 6, np.vstack([_c, _c * (1.397 + 1.087) / 1.397]), name="benzene")
CH3CL = Molecule([6, 17, 1, 1, 1], [[0, 0, 0], [0, 0, 1.78], [1.03, 0, -0.36],
                                    [-0.515, 0.892, -0.36], [-0.515, -0.892, -0.36]], name="CH3Cl")


@pytest.fixture(scope="module")
def qm9_test():
    d = np.load(ROOT / "data" / "qm9" / "test.npz", allow_pickle=False)
    return {k: d[k] for k in d.files}


def _split(d, key, count_key, i):
    off = np.concatenate([[0], np.cumsum(d[count_key])])
    return d[key][off[i]:off[i + 1]]


def qm9_molecule(d, i) -> Molecule:
    return Molecule(_split(d, "z", "atom_count", i), _split(d, "pos", "atom_count", i),
                    name=str(d["smiles"][i]))


# ------------------------------------------------------------------ density model
def test_density_table_provenance():
    doc = json.loads((ROOT / "mepviz" / "data" / "atomic_densities.json").read_text())
    assert "PySCF" in doc["provenance"] and "B3LYP" in doc["provenance"]
    for sym in ("H", "C", "N", "O", "F", "P", "S", "Cl", "Br", "I"):
        assert sym in doc["elements"], sym
        assert doc["elements"][sym]["scf_converged"]
    # in-molecule contractions are mild and documented
    lam = [doc["elements"][s].get("contraction", 1.0) for s in ("H", "C", "N", "O", "F")]
    assert all(0.7 < x <= 1.1 for x in lam)
    assert 0.5 < doc["elements"]["H"]["contraction_polar"] < lam[0]
    assert "contraction_provenance" in doc


def test_free_hydrogen_density_is_close_to_exact_1s():
    # contraction 1 -> free atom: compare with exp(-2r)/pi, r in bohr
    r_bohr = np.linspace(0.5, 3.0, 11)
    exact = np.exp(-2 * r_bohr) / np.pi
    assert np.allclose(atomic_density(1, r_bohr * BOHR_ANGSTROM), exact, rtol=0.1)
    # a contracted atom keeps its electron count
    r = np.linspace(0, 8, 20001)
    for lam in (1.0, 0.8):
        n = np.trapezoid(4 * np.pi * r ** 2 * atomic_density(8, r, lam), r) / BOHR_ANGSTROM ** 3
        assert abs(n - 8) < 0.02


def test_polar_hydrogens_are_contracted_more():
    lam = atom_contractions(WATER.numbers, WATER.positions)
    assert lam[1] == lam[2] < atom_contractions(BENZENE.numbers, BENZENE.positions)[-1]


@pytest.mark.parametrize("mol", [WATER, BENZENE, CH3CL,
                                 Molecule([35, 1], [[0, 0, 0], [0, 0, 1.414]], name="HBr")],
                         ids=lambda m: m.name)
def test_promolecular_density_integrates_to_electron_count(mol):
    from pyscf import gto
    from pyscf.dft import gen_grid

    pm = gto.M(atom=[(int(z), p) for z, p in zip(mol.numbers, mol.positions)], basis="sto-3g",
               unit="Angstrom", spin=mol.n_electrons % 2, verbose=0)
    grids = gen_grid.Grids(pm)
    grids.level = 3
    grids.build()
    rho = promolecular_density(mol.numbers, mol.positions, grids.coords * BOHR_ANGSTROM)
    n = float(grids.weights @ rho)
    assert abs(n - mol.n_electrons) < 0.02 * mol.n_electrons, n


def test_promolecular_density_on_reference_dft_isosurfaces(qm9_test):
    # test.npz holds vertices of the true B3LYP/6-31G(2df,p) rho = 0.001 surfaces; the
    # (tuned on train.npz molecules) promolecular density must be close to 0.001 there.
    # The free-atom promolecule (no contraction) gives an rms of ~0.5 here.
    logs = []
    for i in range(0, 100, 5):
        mol = qm9_molecule(qm9_test, i)
        pts = _split(qm9_test, "iso_points", "iso_count", i)
        r = np.log(promolecular_density(mol.numbers, mol.positions, pts) / 1e-3)
        assert abs(np.median(r)) < 0.25, (i, np.median(r))
        logs.append(r)
    logs = np.concatenate(logs)
    assert np.sqrt(np.mean(logs ** 2)) < 0.2
    assert abs(np.median(logs)) < 0.1


def test_density_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    pts = BENZENE.positions[rng.integers(0, 12, 20)] + rng.normal(scale=1.2, size=(20, 3))
    rho, g = promolecular_density_gradient(BENZENE.numbers, BENZENE.positions, pts)
    assert np.allclose(rho, promolecular_density(BENZENE.numbers, BENZENE.positions, pts))
    h = 1e-5
    fd = np.stack([(promolecular_density(BENZENE.numbers, BENZENE.positions, pts + h * e)
                    - promolecular_density(BENZENE.numbers, BENZENE.positions, pts - h * e)) / (2 * h)
                   for e in np.eye(3)], axis=1)
    assert np.allclose(g, fd, rtol=1e-3, atol=1e-8 * np.abs(fd).max())


def test_unsupported_element_gets_clear_error():
    mol = Molecule([26, 1], [[0, 0, 0], [0, 0, 1.6]])   # Fe: no tabulated density
    with pytest.raises(MoleculeInputError, match="Fe"):
        isodensity_surface(mol)
    assert vdw_surface(mol, 1.4).n_vertices > 0        # vdW surfaces work for any element


# --------------------------------------------------------------------- meshes
def _assert_closed(s: Surface):
    assert s.faces is not None and len(s.faces) > 0
    counts = edge_use_counts(s.faces)
    assert np.all(counts == 2), np.bincount(counts)
    assert s.is_closed()
    # no degenerate or unused vertices, finite geometry
    assert np.all(np.isfinite(s.vertices)) and np.all(s.vertex_areas > 0)
    assert len(np.unique(s.faces)) == s.n_vertices


def test_isodensity_surfaces_are_closed(qm9_test):
    for mol in (WATER, BENZENE, qm9_molecule(qm9_test, 0), qm9_molecule(qm9_test, 7)):
        s = isodensity_surface(mol)
        _assert_closed(s)
        assert s.kind == "isodensity 0.001"
        # Euler characteristic of a sphere-like surface: V - E + F = 2
        e = len(edge_use_counts(s.faces))
        assert s.n_vertices - e + s.n_faces == 2
        assert s.normals.shape == s.vertices.shape and np.allclose(np.linalg.norm(s.normals, axis=1), 1)


def test_many_qm9_surfaces_are_closed_and_too_small_padding_is_enlarged(qm9_test):
    for i in range(0, 100, 10):
        mol = qm9_molecule(qm9_test, i)
        assert isodensity_surface(mol, spacing=0.3).is_closed(), i
        assert vdw_surface(mol, 1.6, spacing=0.3).is_closed(), i
    small = isodensity_surface(WATER, padding=0.5)
    assert small.is_closed() and abs(small.area / isodensity_surface(WATER).area - 1) < 0.005


def test_vdw_surfaces_are_closed(qm9_test):
    for mol in (WATER, BENZENE, qm9_molecule(qm9_test, 0)):
        for scale in (1.4, 2.0):
            s = vdw_surface(mol, scale)
            _assert_closed(s)


def test_isodensity_vertices_on_surface_and_normals_outward():
    for mol in (WATER, BENZENE, CH3CL):
        s = isodensity_surface(mol)
        rho = promolecular_density(mol.numbers, mol.positions, s.vertices)
        assert np.allclose(rho, 1e-3, rtol=0.01)
        out = promolecular_density(mol.numbers, mol.positions, s.vertices + 0.05 * s.normals)
        inn = promolecular_density(mol.numbers, mol.positions, s.vertices - 0.05 * s.normals)
        assert np.all(out < rho) and np.all(inn > rho)
        # faces are wound counter-clockwise seen from outside: face normals agree with normals
        v = s.vertices[s.faces]
        fn = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
        assert np.mean(np.einsum("ij,ij->i", fn, s.normals[s.faces].mean(1)) > 0) > 0.99
        # enclosed volume by the divergence theorem is positive for outward winding
        assert np.einsum("ij,ij->", v[:, 0], np.cross(v[:, 1], v[:, 2])) > 0


def test_single_atom_vdw_sphere_area():
    for z, scale in ((8, 1.4), (1, 1.0), (17, 2.0)):
        mol = Molecule([z], [[0.1, -0.2, 0.3]])
        r = bondi_radii([z])[0] * scale
        for as_points in (False, True):
            s = vdw_surface(mol, scale, as_points=as_points)
            assert abs(s.area / (4 * np.pi * r * r) - 1) < 0.01, (z, scale, as_points, s.area)
            d = np.linalg.norm(s.vertices - mol.positions[0], axis=1)
            assert np.allclose(d, r)
            assert np.allclose(s.normals, (s.vertices - mol.positions[0]) / r)


def test_vdw_surface_area_against_points_and_scale_validation():
    mesh = vdw_surface(BENZENE, 1.4)
    pts = vdw_surface(BENZENE, 1.4, spacing=0.1, as_points=True)
    assert pts.faces is None and pts.kind == "vdW ×1.4"
    assert abs(mesh.area / pts.area - 1) < 0.02
    assert vdw_surface(BENZENE, 2.0).area > mesh.area
    for bad in (0.5, 3.5, float("nan")):
        with pytest.raises(ValueError, match="scale"):
            vdw_surface(WATER, bad)


def test_mesh_from_grid_analytic_sphere_and_orientation():
    h = 0.1
    ax = np.arange(-2.0, 2.0 + h / 2, h)
    x, y, z = np.meshgrid(ax, ax, ax, indexing="ij")
    r = np.sqrt((x - 0.05) ** 2 + y ** 2 + z ** 2)
    dens = np.exp(-2.0 * r)                       # level e^-2 -> sphere of radius 1
    origin = (ax[0], ax[0], ax[0])
    for s in (mesh_from_grid(dens, origin, h, np.exp(-2.0), kind="x"),
              mesh_from_grid(dens, origin, h, np.exp(-2.0), log=True),
              mesh_from_grid(r, origin, h, 1.0, outside="above")):
        _assert_closed(s)
        assert abs(s.area / (4 * np.pi) - 1) < 0.01
        c = np.array([0.05, 0.0, 0.0])
        radial = (s.vertices - c) / np.linalg.norm(s.vertices - c, axis=1)[:, None]
        assert np.all(np.einsum("ij,ij->i", s.normals, radial) > 0.9)
    # vertices interpolated in log space are closer to the surface for exponential decay
    err = [np.abs(np.linalg.norm(mesh_from_grid(dens, origin, h, np.exp(-2.0), log=log).vertices
                                 - [0.05, 0, 0], axis=1) - 1).max() for log in (False, True)]
    assert err[1] < 2e-3 and err[1] < 0.5 * err[0], err
    with pytest.raises(ValueError, match="range"):
        mesh_from_grid(dens, origin, h, 5.0)


def test_determinism():
    a, b = isodensity_surface(BENZENE), isodensity_surface(BENZENE)
    assert np.array_equal(a.vertices, b.vertices) and np.array_equal(a.faces, b.faces)
    assert np.array_equal(a.normals, b.normals) and np.array_equal(a.vertex_areas, b.vertex_areas)
    p1, s1 = shell_points(WATER)
    p2, s2 = shell_points(WATER)
    assert np.array_equal(p1, p2) and np.array_equal(s1, s2)


# areas (Å²) of the true B3LYP/6-31G(2df,p) (density fitting) rho = 0.001 surfaces of these
# geometries, marching cubes at 0.2 Å on log rho (one-off PySCF check, see the
# make_atomic_densities.py docstring); 6-31G / 6-31G* give 42.6 / 124.5-124.8.
DFT_AREA = {"water": 42.71, "benzene": 125.05}


@pytest.mark.parametrize("mol", [WATER, BENZENE], ids=lambda m: m.name)
def test_isodensity_area_matches_dft(mol):
    area = isodensity_surface(mol, spacing=0.2).area
    assert abs(area / DFT_AREA[mol.name] - 1) < 0.03, area


def test_isodensity_area_is_resolution_converged():
    areas = [isodensity_surface(BENZENE, spacing=h).area for h in (0.15, 0.2, 0.3)]
    assert max(areas) / min(areas) - 1 < 0.01


# ------------------------------------------------------------------ shell points
def test_shell_points(qm9_test):
    mol = qm9_molecule(qm9_test, 0)
    pts, scale = shell_points(mol, density=1.0)
    assert pts.shape == (len(scale), 3)
    assert set(np.unique(scale)) == {1.4, 1.6, 1.8, 2.0}
    for s in (1.4, 1.6, 1.8, 2.0):
        p = pts[scale == s]
        radii = bondi_radii(mol.numbers) * s
        d = np.linalg.norm(p[:, None, :] - mol.positions[None, :, :], axis=2)
        # on some atom's sphere, inside none
        assert np.all(np.abs(d - radii).min(1) < 1e-9)
        assert np.all(d >= radii - 1e-9)
        # about one point per Å² of exposed area (exposed area from a dense point set)
        area = vdw_surface(mol, s, spacing=0.1, as_points=True).area
        assert 0.9 < len(p) / area < 1.1
    # counts comparable with the reference data's MK points for this molecule
    ref = _split(qm9_test, "shell_scale", "shell_count", 0)
    assert 0.85 < len(pts) / len(ref) < 1.15
    more, _ = shell_points(mol, scales=(1.4,), density=4.0)
    assert 3.5 < len(more) / (scale == 1.4).sum() < 4.5


# ------------------------------------------------------------------ dispatch
def test_surface_for():
    assert surface_for(WATER, "isodensity").kind == "isodensity 0.001"
    assert surface_for(WATER, "isodensity 0.002").kind == "isodensity 0.002"
    assert surface_for(WATER, "isodensity 0.002").area < surface_for(WATER, "isodensity").area
    for k, want in (("vdw1.4", "vdW ×1.4"), ("vdw2.0", "vdW ×2"), ("vdW ×1.6", "vdW ×1.6")):
        assert surface_for(WATER, k).kind == want
    assert surface_for(WATER, "vdw1.8", as_points=True).faces is None
    with pytest.raises(ValueError, match="unknown surface kind"):
        surface_for(WATER, "sas")


def test_density_gradient_cutoff_only_drops_negligible_atoms():
    """With a cutoff each atom is summed only where its own density exceeds it: ρ changes by
    less than n_atoms × cutoff, and the refined isosurface moves by a negligible amount."""
    from mepviz.inputs import from_smiles
    from mepviz.surfaces import isodensity_surface, promolecular_density_gradient
    mol = from_smiles("CCCCCCCCCCCC(=O)O")           # long: most atom–vertex pairs are far apart
    v = isodensity_surface(mol, refine=False).vertices
    rho, g = promolecular_density_gradient(mol.numbers, mol.positions, v)
    rho_c, g_c = promolecular_density_gradient(mol.numbers, mol.positions, v, cutoff=1e-6)
    assert np.all(np.abs(rho - rho_c) <= mol.n_atoms * 1e-6)
    assert np.all(rho_c <= rho * (1 + 1e-12))                     # up to summation order
    assert np.abs(rho - rho_c).max() > 0                               # some pairs were skipped
    np.testing.assert_allclose(g_c, g, atol=mol.n_atoms * 1e-5)


def test_tabulated_density_grid_matches_the_exact_grid():
    """The float32 r²-table grid (used to place marching-cubes vertices before refinement)
    agrees with the exact float64 grid around the isovalue, up to ~1e-3 relative plus the
    contributions the cutoff drops (≤ n_atoms × cutoff); the refined surface built on it
    sits on the exact promolecular isosurface."""
    from mepviz.inputs import from_smiles
    from mepviz.surfaces import isodensity_surface, promolecular_density_gradient, promolecular_density_grid
    mol = from_smiles("c1ccccc1Br")
    exact, o1, _ = promolecular_density_grid(mol.numbers, mol.positions, 0.25, 3.0)
    fast, o2, _ = promolecular_density_grid(mol.numbers, mol.positions, 0.25, 3.0, cutoff=1e-6,
                                            tabulated=True)
    assert fast.dtype == np.float32 and exact.dtype == np.float64
    np.testing.assert_allclose(o1, o2)
    band = (exact > 1e-4) & (exact < 1e-2)            # a decade either side of 0.001
    assert band.sum() > 1000
    err = np.abs(fast[band] - exact[band])
    assert np.all(err <= 1e-3 * exact[band] + mol.n_atoms * 1e-6)
    assert np.median(err / exact[band]) < 1e-3
    with pytest.raises(ValueError, match="cutoff"):
        promolecular_density_grid(mol.numbers, mol.positions, 0.25, 3.0, tabulated=True)
    surf = isodensity_surface(mol)
    rho, _ = promolecular_density_gradient(mol.numbers, mol.positions, surf.vertices)
    assert np.abs(np.log(rho / 0.001)).max() < 0.02
