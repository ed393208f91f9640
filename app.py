"""MEPviz — landing page and molecule input (shared by every page through session state).

Run:  streamlit run app.py
"""
from __future__ import annotations

import streamlit as st

import appkit
from appkit import compute, molinput, viewer

mol = appkit.page_setup(
    "MEPviz", icon="⚡",
    intro="Molecular electrostatic potentials in milliseconds, from an equivariant network that "
          "predicts atomic charges, dipoles and quadrupoles — next to the DFT reference.")

st.markdown(
    "Pick a molecule in the sidebar (example gallery, SMILES, or an XYZ/SDF/MOL file) or draw one "
    "below, then open **Explore** to see its MEP on the molecular surface. "
    "Red regions are negative (they attract protons and cations), blue regions positive; white is 0.")

st.subheader("Draw a molecule")
st.caption("Draw (or open/paste a structure), then press **Apply** below the editor to load it. "
           "Works offline.")
molinput.molecule_editor(key="ketcher", height=460)

st.subheader("Current molecule")
left, right = st.columns([1, 1], gap="medium")
with left:
    if mol is None:
        st.info("No molecule loaded yet.")
    else:
        st.markdown(molinput.molecule_summary(mol))
        if mol.smiles:
            st.code(mol.smiles, language=None)
        try:
            pred = compute.prediction(mol, appkit.state.get_setting("model"))
            st.metric("|μ| predicted (D)", f"{pred.dipole_magnitude_debye:.3f}")
        except appkit.MoleculeInputError as exc:
            st.warning(str(exc))
        except compute.ModelUnavailable as exc:
            st.warning(str(exc))
    st.page_link("pages/1_Explore.py", label="Explore the MEP →", icon="🔬")
with right:
    if mol is not None:
        viewer.show_molecule(mol, height=300)

with st.expander("About MEPviz"):
    st.markdown(
        "- **Models**: two variants of one equivariant message-passing network (PiNet2-style), "
        "trained on QM9 (elements H, C, N, O, F). The *dipole* model is fitted to molecular dipoles "
        "only; the *quadrupole* model to dipoles and quadrupoles — which reproduces the DFT MEP "
        "much better (Muuga, Knijff, Zhang 2026).\n"
        "- **MEP** from atomic multipoles: V(R) = kₑ Σᵢ [qᵢ/s + pᵢ·s/s³ + Σ θᵢ,αβ s_α s_β/s⁵].\n"
        "- **Reference**: PySCF B3LYP/6-31G(2df,p) with density fitting (QM9's level), computed in "
        "the background and cached; gallery molecules ship theirs.\n"
        "- **Surface**: ρ = 0.001 e/bohr³ isodensity (promolecular density) or scaled vdW surfaces.")
