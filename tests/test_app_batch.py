"""AppTest tests of the Batch page (pages/3_Batch.py)."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from mepviz import export, limits, registry
from tests.pagehelpers import app, dataframe_with, no_exception, texts, weights_fixture

SMILES = ["O", "CO", "C=O", "c1ccncc1"]
PAGE = "3_Batch.py"


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    yield from weights_fixture(tmp_path_factory)


@pytest.fixture(scope="module")
def molecules():
    from mepviz.inputs import from_smiles
    return [from_smiles(s, name=s) for s in SMILES]


@pytest.fixture(scope="module")
def xyz_text(molecules):
    return "".join(m.to_xyz(comment=m.name) for m in molecules)


@pytest.fixture(scope="module")
def at_loaded(weights):
    """The page after its first run (models not yet needed), shared to save start-up time."""
    at = app(PAGE)
    at.run()
    return at


def upload(at, name: str, data: bytes):
    at.file_uploader(key="batch_upload").set_value((name, data, "application/octet-stream"))
    at.run()
    no_exception(at)
    return at


def test_states_limits_before_upload(at_loaded):
    at = at_loaded
    no_exception(at)
    info = " ".join(texts(at.info))
    assert f"{limits.MAX_FRAMES} molecules" in info
    assert f"{limits.MAX_ATOMS} atoms per molecule" in info
    assert not at.error and not at.dataframe


def test_example_file(weights):
    at = app(PAGE)
    at.run()
    at.checkbox(key="batch_example").check().run()
    no_exception(at)
    table = dataframe_with(at, "mu_abs_D_quadrupole")
    assert len(table) == 11
    assert table.set_index("name").loc["acetate", "charge"] == -1
    errors = at.dataframe[0].value
    assert list(errors["record"]) == [9] and "do not support Si" in errors["error"].iloc[0]
    assert any("11 of 12 molecules" in s for s in texts(at.success))
    # an upload takes precedence over the example
    at.file_uploader(key="batch_upload").set_value(("one.xyz", b"3\nwater\nO 0 0 0.117\nH 0 0.757 -0.469\n"
                                                    b"H 0 -0.757 -0.469\n", "text/plain")).run()
    assert len(dataframe_with(at, "mu_abs_D_quadrupole")) == 1


def test_good_xyz_with_bad_records(at_loaded, xyz_text, molecules):
    from mepviz.inputs import from_xyz
    from mepviz.predict import get_predictor
    bad = ("5\nsilane\nSi 0 0 0\nH 0.86 0.86 0.86\nH -0.86 -0.86 0.86\nH -0.86 0.86 -0.86\n"
           "H 0.86 -0.86 -0.86\n")
    truncated = "4\nshort\nC 0 0 0\nH 0 0 1.09\n"
    at = upload(at_loaded, "set.xyz", (xyz_text + bad + truncated).encode())
    assert not at.error
    assert any("4 of 6 molecules" in s for s in texts(at.success))
    assert any("2 of 6 records could not be processed" in s for s in texts(at.warning))
    table = dataframe_with(at, "mu_abs_D_quadrupole")
    assert len(table) == 4
    assert list(table["name"]) == SMILES
    errors = at.dataframe[0].value
    assert list(errors["record"]) == [5, 6]
    assert "do not support Si" in errors["error"].iloc[0]
    assert "truncated" in errors["error"].iloc[1]
    # numbers agree with the library on the same geometry (read back from the same XYZ text)
    mol = from_xyz(molecules[0].to_xyz())[0]
    for model in registry.PAPER_PAIR:
        pred = get_predictor(model).predict(mol)
        assert table[f"mu_abs_D_{model}"].iloc[0] == pytest.approx(pred.dipole_magnitude_debye, abs=1e-6)
        ev = pred.quadrupole_eigenvalues(debye=True)
        np.testing.assert_allclose(table[[f"theta_{i}_DA_{model}" for i in (1, 2, 3)]].iloc[0], ev, atol=1e-6)
    assert np.all(table["Vs_min_kcal_quadrupole"] <= table["Vs_max_kcal_quadrupole"])
    assert [c.key for c in at.get("plotly_chart")] == ["batch_pair_mu_abs_D", "batch_pair_Vs_min_kcal"]
    assert "mu_x_D_dipole" not in table.columns          # components are optional
    at.checkbox(key="batch_components").check().run()
    full = dataframe_with(at, "mu_x_D_dipole")
    pred = get_predictor("dipole").predict(mol)
    np.testing.assert_allclose(full[["mu_x_D_dipole", "mu_y_D_dipole", "mu_z_D_dipole"]].iloc[0],
                               pred.dipole_debye, atol=1e-6)
    labels = [b.label for b in at.download_button]
    assert labels == ["Table (CSV)", "Everything (JSON)", "Charges (SDF)", "Charges (PQR)",
                      "MEP cube file", "Density cube file", "Charges of this molecule (PQR)"]
    # the downloads' contents (same functions the buttons call) parse back
    result = at.session_state["batch_page"]["result"]
    csv = pd.read_csv(io.StringIO(export.batch_csv(result)))
    assert len(csv) == 6 and list(csv["record"]) == [1, 2, 3, 4, 5, 6]       # the 2 failed records too
    assert csv["error"].notna().sum() == 2 and "Si" in csv["error"].iloc[4]
    pqr = export.read_pqr(export.charges_pqr(result.molecules, result.predictions))
    assert [round(p["charges"].sum(), 6) for p in pqr] == [0.0] * 4
    cube = export.mep_cube(result.predictions[0]["quadrupole"])
    assert len(cube.splitlines()) > 10
    # the SDF: RDKit reads back every molecule in 3D with the model's charges summing to Q
    from rdkit import Chem
    from mepviz import export as vx
    text = "".join(vx.sdf_3d(m, charges=vx.rounded_charges(p["quadrupole"].charges, m.charge))
                   for m, p in zip(result.molecules, result.predictions))
    sup = Chem.SDMolSupplier()
    sup.SetData(text, removeHs=False)
    mols = list(sup)
    assert len(mols) == 4 and all(m.GetConformer().Is3D() for m in mols)
    assert [round(sum(map(float, m.GetProp("MEPviz_atomic_charges").split())), 4) for m in mols] == [0.0] * 4


def test_sdf_upload_and_surface_choice(at_loaded, molecules):
    from rdkit import Chem
    sio = io.StringIO()
    w = Chem.SDWriter(sio)
    for smi in ["CCO", "CC(=O)[O-]", "NC=O"]:
        m = Chem.AddHs(Chem.MolFromSmiles(smi))
        from rdkit.Chem import AllChem
        AllChem.EmbedMolecule(m, randomSeed=7)
        m.SetProp("_Name", smi)
        w.write(m)
    w.close()
    at = upload(at_loaded, "three.sdf", sio.getvalue().encode())
    table = dataframe_with(at, "mu_abs_D_quadrupole")
    assert list(table["name"]) == ["CCO", "CC(=O)[O-]", "NC=O"]
    assert list(table["charge"]) == [0, -1, 0]
    iso = table["Vs_max_kcal_quadrupole"].to_numpy()
    at.selectbox(key="batch_surface").set_value("vdw2.0").run()
    no_exception(at)
    table2 = dataframe_with(at, "mu_abs_D_quadrupole")
    assert len(table2) == 3 and not np.allclose(table2["Vs_max_kcal_quadrupole"], iso)
    # the per-molecule picker and its model picker work
    at.selectbox(key="batch_sel").set_value(1).run()
    at.selectbox(key="batch_cube_model").set_value("dipole").run()
    no_exception(at)


@pytest.mark.parametrize("name,data,message", [
    ("junk.xyz", bytes(range(256)) * 20, "binary data"),
    ("notes.xyz", b"this is not a molecule file\nat all\n", "not an XYZ file"),
    ("image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "unsupported file type '.png'"),
    ("empty.sdf", b"   \n", "is empty"),
])
def test_bad_files_show_specific_error_and_page_recovers(at_loaded, xyz_text, name, data, message):
    at = at_loaded
    upload(at, name, data)
    errs = texts(at.error)
    assert errs and message in errs[0] and errs[0].startswith("Cannot process this file")
    assert not at.dataframe
    upload(at, "good.xyz", xyz_text.encode())
    assert not at.error
    assert len(dataframe_with(at, "mu_abs_D_quadrupole")) == len(SMILES)


def test_oversize_batch(at_loaded, molecules, xyz_text):
    at = at_loaded
    many = molecules[0].to_xyz() * (limits.MAX_FRAMES + 1)
    upload(at, "many.xyz", many.encode())
    errs = texts(at.error)
    assert errs and f"{limits.MAX_FRAMES + 1} molecules" in errs[0]
    assert f"limit is {limits.MAX_FRAMES}" in errs[0]
    upload(at, "good.xyz", xyz_text.encode())
    assert len(dataframe_with(at, "mu_abs_D_quadrupole")) == len(SMILES)


def test_oversize_molecule_and_all_records_bad(at_loaded):
    at = at_loaded
    n = limits.MAX_ATOMS + 1
    big = f"{n}\nchain\n" + "".join(f"C {1.5 * i:.3f} 0 0\n" for i in range(n))
    upload(at, "big.xyz", big.encode())
    errs = texts(at.error)
    assert errs and "1 of 1 records could not be processed" in errs[0]
    problems = at.dataframe[0].value["error"].iloc[0]
    assert "200" in problems and "atoms" in problems
    assert not at.download_button


def test_smiles_list_upload_with_thumbnails(at_loaded):
    """A .smi list is accepted like the sidebar: one 3D conformer per SMILES (the same one the
    sidebar makes), bad SMILES listed as errors, a 2D picture per molecule."""
    from mepviz.inputs import from_smiles
    from mepviz.predict import get_predictor
    text = "smiles name\nO water\nc1ccncc1 pyridine\nnot-a-smiles((\nCC(=O)[O-] acetate\n"
    at = upload(at_loaded, "lib.smi", text.encode())
    no_exception(at)
    assert not at.error
    table = dataframe_with(at, "mu_abs_D_quadrupole")
    assert list(table["name"]) == ["water", "pyridine", "acetate"]
    assert list(table["charge"]) == [0, 0, -1]
    assert all(str(u).startswith("data:image/svg+xml;base64,") for u in table["structure"])
    assert "Invalid SMILES" in at.dataframe[0].value["error"].iloc[0]
    mu = get_predictor("quadrupole").predict(from_smiles("c1ccncc1")).dipole_magnitude_debye
    assert table["mu_abs_D_quadrupole"].iloc[1] == pytest.approx(mu, abs=1e-4)
