"""Molecule input widgets shared by every page (results go to appkit.state).

- :func:`molecule_sidebar`: compact input in the sidebar — gallery, SMILES box, file
  upload (XYZ incl. multi-frame with a frame picker, SDF/MOL), total charge — plus a
  summary of the current molecule. Every page calls it (through ``page_setup``).
- :func:`molecule_editor`: the Ketcher drawing editor (streamlit-ketcher through
  appkit.ketcher, bundled, works offline), for the main area of a page.
- :func:`show_input_error`: the pending input error as ``st.error`` (called by page_setup).

Bad input never replaces the current molecule: the specific MoleculeInputError message is
shown and everything else stays as it was.

Widget keys (for AppTest): ``gallery_pick`` (selectbox) + ``gallery_load`` (button),
``smiles_input`` (text_input in the form ``smiles_form``) + ``smiles_load`` (its submit button;
Enter in the box submits too, and every submit loads the box's SMILES again, changed or not),
``mol_upload`` (file_uploader),
``frame_pick`` (number_input), ``total_charge_<n>`` (number_input labelled "Total charge (e)").
"""
from __future__ import annotations

import hashlib
from dataclasses import replace

import streamlit as st

from mepviz import Molecule, MoleculeInputError

from . import gallery, state
from .text import plain

SMILES_KEY = "smiles_input"
UPLOAD_KEY = "mol_upload"
FRAMES_KEY = "mepviz_upload_frames"
SYNCED_KEY = "mepviz_inputs_synced"
GALLERY_ID_KEY = "mepviz_gallery_id"
UPLOAD_SEEN_KEY = "mepviz_upload_seen"


@st.cache_data(max_entries=256, show_spinner=False)
def _from_smiles(smiles: str) -> Molecule:
    """mepviz.io.from_smiles, cached: it is deterministic, and the conformer search takes
    up to a second for a flexible 50-atom molecule (errors are raised again, not cached)."""
    from mepviz.io import from_smiles
    return from_smiles(smiles)


def _load_smiles(smiles: str, source: str = "SMILES") -> bool:
    smiles = (smiles or "").strip()
    if not smiles:
        return False
    try:
        mol = _from_smiles(smiles)
    except MoleculeInputError as exc:
        state.set_input_error(str(exc))
        return False
    state.set_molecule(mol, f"{source} {smiles}")
    return True


def _on_smiles():
    """Submit of the SMILES form (button or Enter): load the box's SMILES, even when unchanged."""
    _load_smiles(st.session_state.get(SMILES_KEY, ""))


def _on_gallery():
    gid = st.session_state.get("gallery_pick")
    if not gid:
        return
    try:
        mol = gallery.load(gid)
    except (MoleculeInputError, KeyError, OSError) as exc:
        state.set_input_error(f"Could not load the gallery molecule {gid!r}: {exc}")
        return
    state.set_molecule(mol, f"gallery: {gallery.entry(gid)['label']}")
    st.session_state[GALLERY_ID_KEY] = gid


def _file_id(uploaded) -> str:
    data = uploaded.getvalue()
    return hashlib.sha1(data).hexdigest() + ":" + uploaded.name


def _handle_upload(uploaded) -> None:
    """Parse a newly uploaded file once; remember multi-frame results for the frame picker."""
    from mepviz.io import read_file
    fid = _file_id(uploaded)
    if st.session_state.get(UPLOAD_SEEN_KEY) == fid:
        return
    st.session_state[UPLOAD_SEEN_KEY] = fid
    st.session_state[FRAMES_KEY] = None
    try:
        mols = read_file(uploaded.getvalue(), uploaded.name)
    except MoleculeInputError as exc:
        state.set_input_error(str(exc))
        return
    if not mols:
        state.set_input_error(f"{uploaded.name}: no molecules found in the file.")
        return
    if len(mols) > 1:
        st.session_state[FRAMES_KEY] = (uploaded.name, mols)
        st.session_state["frame_pick"] = 1
    _set_frame(uploaded.name, mols, 0)


def _set_frame(name: str, mols: list, index: int) -> None:
    mol = mols[index]
    if not mol.name:
        mol = replace(mol, name=name)
    label = f"file {name}" + (f" (frame {index + 1} of {len(mols)})" if len(mols) > 1 else "")
    state.set_molecule(mol, label)


def _on_frame():
    frames = st.session_state.get(FRAMES_KEY)
    if not frames:
        return
    name, mols = frames
    i = int(st.session_state.get("frame_pick", 1)) - 1
    _set_frame(name, mols, max(0, min(i, len(mols) - 1)))


def _on_charge():
    mol = state.get_molecule()
    if mol is None:
        return
    q = int(st.session_state.get(_charge_key(), mol.charge))
    if q == mol.charge:
        return
    n_el = int(mol.numbers.sum()) - q
    mult = 1 if n_el % 2 == 0 else 2
    new = replace(mol, charge=q, multiplicity=mult)
    try:
        from mepviz.io import validate
        validate(new, max_atoms=None)
    except MoleculeInputError as exc:
        state.set_input_error(str(exc))
        st.session_state[_charge_key()] = mol.charge     # allowed inside a callback
        return
    state.set_molecule(new, state.get_source().split(" [charge")[0] + f" [charge {q:+d}]")


def _charge_key() -> str:
    # a fresh widget per molecule, initialised with that molecule's charge
    return f"total_charge_{state.molecule_version()}"


def molecule_summary(mol: Molecule) -> str:
    """One line of Markdown: name (as plain text), formula, atoms, charge, multiplicity."""
    name = mol.name or mol.smiles or mol.formula
    extra = f", multiplicity {mol.multiplicity}" if mol.multiplicity != 1 else ""
    return f"**{plain(name)}** — {mol.formula}, {mol.n_atoms} atoms, charge {mol.charge:+d}{extra}"


def charge_bounds(charge: int) -> tuple[int, int]:
    """Range of the total-charge widget: −4…+4, widened to include the molecule's own charge
    (a −6 anion must not break the widget; the applicability check says what is wrong)."""
    return min(-4, int(charge)), max(4, int(charge))


def _sync_inputs() -> None:
    """Before the input widgets render: once per newly loaded molecule, put its SMILES in the
    SMILES box and its gallery id in the gallery picker, so the inputs show what is loaded."""
    ss = st.session_state
    version = state.molecule_version()
    if ss.get(SYNCED_KEY) == version:
        return
    ss[SYNCED_KEY] = version
    mol = state.get_molecule()
    if mol is None:
        return
    ss[SMILES_KEY] = mol.smiles or ""
    if not state.get_source().startswith("gallery:"):
        ss[GALLERY_ID_KEY] = None
    ss["gallery_pick"] = ss.get(GALLERY_ID_KEY)


def molecule_sidebar(show_charge: bool = True) -> Molecule | None:
    """Render the shared molecule input in the sidebar; returns the current molecule."""
    state.init()
    _sync_inputs()
    sb = st.sidebar
    sb.header("Molecule")
    ents = gallery.entries()
    if ents:
        ids = [e["id"] for e in ents]
        labels = {e["id"]: e["label"] for e in ents}
        if "gallery_pick" not in st.session_state:
            st.session_state["gallery_pick"] = st.session_state.get(GALLERY_ID_KEY)
        with sb.form("gallery_form", border=False):
            st.selectbox("Gallery", ids, format_func=lambda i: labels.get(i, i), key="gallery_pick",
                         placeholder="Choose an example")
            st.form_submit_button("Load example", on_click=_on_gallery, key="gallery_load")
    with sb.form("smiles_form", border=False):
        # a form, so that Enter on an unchanged SMILES still submits (and reloads the molecule)
        st.text_input("SMILES", key=SMILES_KEY, placeholder="e.g. c1ccncc1 — press Enter",
                      help="Type a SMILES string and press Enter; hydrogens and a 3D geometry "
                           "(RDKit ETKDG + MMFF) are added. Enter again reloads it.")
        st.form_submit_button("Load SMILES", on_click=_on_smiles, key="smiles_load")
    uploaded = sb.file_uploader("Upload XYZ / SDF / MOL", key=UPLOAD_KEY,
                                help="Multi-frame XYZ and multi-record SDF files get a frame picker. "
                                     "The XYZ comment line may carry charge= and multiplicity=. "
                                     "Accepted: .xyz, .sdf, .mol, .smi, .txt (max 5 MB).")
    if uploaded is not None:
        _handle_upload(uploaded)
    else:
        st.session_state[UPLOAD_SEEN_KEY] = None
    frames = st.session_state.get(FRAMES_KEY)
    if uploaded is not None and frames and state.get_source().startswith(f"file {frames[0]}"):
        name, mols = frames
        sb.number_input(f"Frame (1–{len(mols)})", min_value=1, max_value=len(mols), step=1,
                        key="frame_pick", on_change=_on_frame)
    mol = state.get_molecule()
    if mol is not None:
        sb.markdown(molecule_summary(mol))
        if state.get_source():
            sb.caption(f"from {plain(state.get_source())}")
        if show_charge:
            lo, hi = charge_bounds(mol.charge)
            sb.number_input("Total charge (e)", min_value=lo, max_value=hi, step=1, value=int(mol.charge),
                            key=_charge_key(),
                            on_change=_on_charge,
                            help="The models and the DFT reference use this total charge; "
                                 "the spin multiplicity follows (singlet / doublet).")
    else:
        sb.info("No molecule yet: pick an example, type a SMILES or upload a file.")
    return state.get_molecule()


def show_input_error(container=None) -> None:
    """Show the pending input error (if any) as st.error; it stays until the next good input."""
    err = state.get_input_error()
    if err:
        (container or st).error(f"Input problem: {err}", icon="⚠️")


def molecule_editor(key: str = "ketcher", height: int = 460) -> None:
    """The Ketcher drawing editor; "Apply" in the editor loads the drawn molecule."""
    try:
        import streamlit_ketcher  # noqa: F401
    except ImportError:   # pragma: no cover
        st.info("The drawing editor (streamlit-ketcher) is not installed.")
        return
    from .ketcher import st_ketcher
    mol = state.get_molecule()
    start = (mol.smiles if mol is not None and mol.smiles else "") or ""
    # a fresh editor per molecule, so it opens with the current molecule loaded
    drawn = st_ketcher(start, height=height, key=f"{key}_{state.molecule_version()}")
    last_key = f"mepviz_{key}_last"
    if drawn and drawn != start and drawn != st.session_state.get(last_key):
        st.session_state[last_key] = drawn
        if _load_smiles(drawn, source="drawing"):
            st.rerun()
