"""Bring your own QM: a Molden file, a Gaussian .fchk or a pair of cube files (density +
potential) uploaded on Explore becomes the reference of its molecule (mepviz.io.wavefunction,
mepviz.io.cube): the MEP on the isodensity surface of the file's density, shown next to the
ML maps with the same difference map, parity plot and statistics as the app's own DFT.

    from appkit import userqm
    userqm.upload_panel(st)                 # the uploader; a good file sets the current molecule
    ref = userqm.current(mol)               # the user's reference of this molecule, or None
    surf, values = userqm.surface_values(ref)
"""
from __future__ import annotations

import streamlit as st

from mepviz import MoleculeInputError
from mepviz.io.cube import CUBE_EXTENSIONS, read_cube_pair
from mepviz.io.wavefunction import WAVEFUNCTION_EXTENSIONS, read_wavefunction, wavefunction_format

from . import state

KEY = "mepviz_user_qm"
ERROR_KEY = "mepviz_user_qm_error"
TYPES = sorted({e.rsplit(".", 1)[-1] for e in (*WAVEFUNCTION_EXTENSIONS, *CUBE_EXTENSIONS)})


def read_files(files):
    """The user's reference from uploaded files [(name, bytes)]: one Molden / .fchk file, or
    two cube files. Raises MoleculeInputError with the reason."""
    files = list(files)
    if not files:
        raise MoleculeInputError("no file given.")
    cubes = [f for f in files if f[0].lower().endswith(CUBE_EXTENSIONS)]
    waves = [f for f in files if wavefunction_format(f[0])]
    if waves and len(files) == 1:
        return read_wavefunction(waves[0][1], waves[0][0])
    if cubes and len(cubes) == len(files):
        if len(cubes) != 2:
            raise MoleculeInputError(f"a cube reference needs two files, the density and the potential "
                                     f"({len(cubes)} given).")
        return read_cube_pair(cubes)
    raise MoleculeInputError("upload one Molden (.molden) or Gaussian formatted checkpoint (.fchk) file, "
                             "or two cube files (.cube: the density and the potential), got "
                             + ", ".join(n for n, _ in files) + ".")


def _load():
    ups = st.session_state.get("qm_upload") or []
    if not ups:
        return
    try:
        ref = read_files([(u.name, u.getvalue()) for u in ups])
    except MoleculeInputError as exc:
        st.session_state[ERROR_KEY] = str(exc)
        return
    st.session_state[ERROR_KEY] = None
    st.session_state[KEY] = ref
    state.set_molecule(ref.molecule, f"your QM: {ref.source}")


def upload_panel(container=None) -> None:
    """The uploader (key qm_upload): a readable file becomes the current molecule and its reference."""
    c = container if container is not None else st
    box = c.expander("Bring your own QM: Molden, Gaussian .fchk, or a density + potential cube pair")
    box.file_uploader("Wavefunction or cube files", type=TYPES, accept_multiple_files=True, key="qm_upload",
                      on_change=_load, help="Molden files from any program (read by PySCF), Gaussian .fchk (read "
                                            "by IOData), or two .cube files: the electron density and the "
                                            "electrostatic potential on one grid.")
    box.caption("The molecule and its total charge come from the file; its MEP is mapped on the "
                "ρ = 0.001 e/bohr³ surface of the file's own density and compared with the ML maps below.")
    err = st.session_state.get(ERROR_KEY)
    if err:
        box.error(f"That file cannot be used: {err}", icon="🚫")


def current(mol):
    """The uploaded reference whose molecule is `mol` (same geometry and charge), or None."""
    ref = st.session_state.get(KEY)
    if ref is None or mol is None or ref.molecule.key() != mol.key():
        return None
    return ref


def surface_values(ref):
    """(isodensity surface of the file's density, the file's MEP on it, kcal/mol/e), computed once."""
    cache = st.session_state.setdefault("mepviz_user_qm_maps", {})
    k = id(ref)
    if k not in cache:
        cache.clear()
        surf = ref.isodensity_surface()
        cache[k] = (surf, ref.mep(surf.vertices))
    return cache[k]
