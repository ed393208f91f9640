"""AppTest: the landing page (app.py) and the shared sidebar molecule input."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.apptest_support import (app_env, enter_smiles, errors, load_gallery, metric_value,  # noqa: F401
                                   new_app, no_exceptions, sidebar_summary, upload)

GOOD = Path(__file__).parent / "good_inputs"

WATER_XYZ = b"""3
water charge=0
O 0.000000 0.000000 0.117300
H 0.000000 0.757200 -0.469200
H 0.000000 -0.757200 -0.469200
"""

TWO_FRAMES = b"""3
frame one
O 0.0 0.0 0.1173
H 0.0 0.7572 -0.4692
H 0.0 -0.7572 -0.4692
4
frame two
C 0.0 0.0 0.0
O 0.0 0.0 1.21
H 0.0 0.94 -0.59
H 0.0 -0.94 -0.59
"""


def test_landing_page_without_molecule(app_env):
    at = new_app()
    no_exceptions(at)
    assert not errors(at)
    assert any("No molecule" in i.value for i in at.sidebar.info)
    assert at.text_input(key="smiles_input") is not None
    assert at.file_uploader(key="mol_upload") is not None
    labels = at.selectbox(key="gallery_pick").options
    assert len(labels) >= 9


def test_smiles_gives_molecule_and_dipole(app_env):
    at = new_app()
    enter_smiles(at, "c1ccncc1")
    no_exceptions(at)
    assert not errors(at)
    assert "C5H5N" in sidebar_summary(at) and "11 atoms" in sidebar_summary(at)
    # the number shown is the library's prediction for the same molecule
    from mepviz.inputs import from_smiles
    from mepviz.predict import get_predictor
    from mepviz.core.registry import DEFAULT_MODEL
    mu = get_predictor(DEFAULT_MODEL).predict(from_smiles("c1ccncc1")).dipole_magnitude_debye
    assert metric_value(at, "|μ| predicted") == f"{mu:.3f}"


def test_bad_smiles_shows_error_and_keeps_molecule(app_env):
    at = new_app()
    enter_smiles(at, "CCO")
    assert "C2H6O" in sidebar_summary(at)
    enter_smiles(at, "C1CC(")
    no_exceptions(at)
    errs = errors(at)
    assert errs and "Invalid SMILES 'C1CC('" in errs[0]
    assert "C2H6O" in sidebar_summary(at)          # previous molecule kept
    enter_smiles(at, "C=O")                        # and the page still works
    assert not errors(at)
    assert "CH2O" in sidebar_summary(at)


def test_upload_xyz_and_sdf(app_env):
    at = new_app()
    upload(at, "water.xyz", WATER_XYZ)
    no_exceptions(at)
    assert not errors(at)
    assert "H2O" in sidebar_summary(at)
    if (GOOD / "two_records.sdf").exists():
        upload(at, "two_records.sdf", (GOOD / "two_records.sdf").read_bytes())
        no_exceptions(at)
        assert not errors(at)
        assert at.number_input(key="frame_pick").max == 2


def test_multiframe_xyz_frame_picker(app_env):
    at = new_app()
    upload(at, "traj.xyz", TWO_FRAMES)
    no_exceptions(at)
    assert "H2O" in sidebar_summary(at)
    picker = at.number_input(key="frame_pick")
    assert picker.max == 2
    picker.set_value(2).run()
    assert "CH2O" in sidebar_summary(at)
    assert "frame 2 of 2" in " ".join(c.value for c in at.sidebar.caption)


@pytest.mark.parametrize("name,content,expect", [
    ("junk.xyz", bytes(range(256)) * 4, "junk.xyz"),
    ("junk.xyz", b"hello world\nthis is not an xyz file\n", "junk.xyz"),
    ("molecule.pdb", b"ATOM      1  O   HOH A   1       0.000   0.000   0.000\n", "Unsupported file type"),
    ("empty.sdf", b"   \n", "empty"),
])
def test_bad_files_show_specific_error(app_env, name, content, expect):
    at = new_app()
    enter_smiles(at, "CCO")
    upload(at, name, content)
    no_exceptions(at)
    errs = errors(at)
    assert errs, "expected a visible error"
    assert expect in errs[0]
    assert "C2H6O" in sidebar_summary(at)          # previous molecule kept
    enter_smiles(at, "N")
    assert "H3N" in sidebar_summary(at)


def test_gallery_and_unsupported_element_on_home(app_env):
    at = new_app()
    load_gallery(at, "water")
    no_exceptions(at)
    assert "H2O" in sidebar_summary(at)
    load_gallery(at, "dmso")                        # S: covered by the shipped models
    no_exceptions(at)
    assert "C2H6OS" in sidebar_summary(at)
    assert "do not support" not in " ".join(w.value for w in at.warning)
    enter_smiles(at, "C[Se]C")                       # Se: no model supports it
    no_exceptions(at)
    shown = " ".join(w.value for w in list(at.warning) + list(at.error))
    assert "do not support Se" in shown, shown


def test_total_charge_is_editable(app_env):
    at = new_app()
    enter_smiles(at, "c1ccncc1")
    [w for w in at.sidebar.number_input if w.label.startswith("Total charge")][0].set_value(1).run()
    no_exceptions(at)
    assert "charge +1" in sidebar_summary(at)
    assert "multiplicity 2" in sidebar_summary(at)
    assert not errors(at)


def test_drawing_editor_loads_on_demand(app_env):
    """The landing page shows the example MEP without loading Ketcher (several MB of JS);
    the toggle brings the editor in (the browser test then draws with it)."""
    at = new_app()
    no_exceptions(at)
    kinds = [type(e).__name__ for e in at.main]
    assert kinds.count("UnknownElement") == 1                  # the 3D view only
    assert at.toggle(key="home_draw").value is False
    from appkit import gallery
    assert [t.value for t in at.text] == [gallery.load("pyridine").smiles]    # SMILES as plain text
    at.toggle(key="home_draw").set_value(True).run()
    no_exceptions(at)
    assert [type(e).__name__ for e in at.main].count("UnknownElement") == 2   # + the editor
