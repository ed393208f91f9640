"""AppTest: submitting the sidebar SMILES box (Enter or "Load SMILES") always loads the box's
SMILES, also when the text is unchanged (issue 13: "pressing Enter on the same SMILES does
nothing")."""
from __future__ import annotations

from tests.apptest_support import (EXPLORE, app_env, enter_smiles, errors, load_gallery,  # noqa: F401
                                   new_app, no_exceptions, sidebar_summary)


def _version(at) -> int:
    return at.session_state["mepviz_molecule_counter"]


def _submit_unchanged(at):
    """Enter in the box without editing it: the form is submitted with the same text."""
    at.sidebar.button(key="smiles_load").click().run()
    no_exceptions(at)
    return at


def test_unchanged_smiles_reloads_the_molecule(app_env):
    at = new_app(EXPLORE)
    enter_smiles(at, "OCC")
    box = at.sidebar.text_input(key="smiles_input")
    assert box.value == "CCO" and "C2H6O" in sidebar_summary(at)     # the box shows the canonical form
    v = _version(at)
    _submit_unchanged(at)
    assert _version(at) == v + 1                                      # loaded again (a re-render)
    assert at.session_state["mepviz_molecule_source"] == "SMILES CCO"
    assert not errors(at)


def test_unchanged_smiles_replaces_a_charge_edit(app_env):
    """The box says CCO, the loaded molecule is the edited cation: submitting brings back CCO."""
    at = new_app(EXPLORE)
    enter_smiles(at, "CCO")
    [w for w in at.sidebar.number_input if w.label.startswith("Total charge")][0].set_value(1).run()
    assert "charge +1" in sidebar_summary(at)
    assert at.sidebar.text_input(key="smiles_input").value == "CCO"
    _submit_unchanged(at)
    assert at.session_state["mepviz_molecule"].charge == 0 and "charge +0" in sidebar_summary(at)


def test_unchanged_smiles_after_gallery_load(app_env):
    """After a gallery load the box shows the example's SMILES; submitting it loads that SMILES
    (RDKit geometry) in place of the gallery's shipped geometry."""
    at = new_app(EXPLORE)
    load_gallery(at, "water")
    assert at.session_state["mepviz_molecule_source"].startswith("gallery:")
    smiles = at.sidebar.text_input(key="smiles_input").value
    assert smiles
    _submit_unchanged(at)
    assert at.session_state["mepviz_molecule_source"] == f"SMILES {smiles}"
    assert at.sidebar.selectbox(key="gallery_pick").value is None


def test_bad_smiles_submitted_twice_keeps_the_molecule(app_env):
    at = new_app(EXPLORE)
    enter_smiles(at, "CCO")
    v = _version(at)
    enter_smiles(at, "C1CC(")
    _submit_unchanged(at)
    assert _version(at) == v and "C2H6O" in sidebar_summary(at)
    assert any("Invalid SMILES" in e for e in errors(at))
