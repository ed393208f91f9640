"""MEPviz — the landing page (Home): molecule input, a live MEP of the current molecule.

Served by app.py (navigation): streamlit run app.py
"""
from __future__ import annotations

import streamlit as st

import appkit
from appkit import compute, molinput, viewer

mol = appkit.page_setup(
    "MEPviz", icon="⚡",
    intro="Molecular electrostatic potentials in milliseconds, from an equivariant network that "
          "predicts atomic charges, dipoles and quadrupoles — next to the DFT reference.")

EXAMPLE = "pyridine"      # shown at once on the first visit, before any molecule is chosen

st.markdown(
    "Pick a molecule in the sidebar (example gallery, SMILES, or an XYZ/SDF/MOL file) or draw one "
    "below, then open **Explore** for the numbers and the DFT reference. "
    "Red regions are negative (they attract protons and cations), blue regions positive; white is 0.")

shown = mol
if shown is None:
    try:
        from appkit import gallery
        shown = gallery.load(EXAMPLE)
    except (KeyError, OSError, appkit.MoleculeInputError):
        shown = None
left, right = st.columns([2, 3], gap="medium")
with left:
    st.subheader("Current molecule" if mol is not None else "An example")
    if mol is None:
        st.info("No molecule loaded yet — here is the MEP of pyridine. Choose your own in the sidebar.")
    if shown is not None:
        st.markdown(molinput.molecule_summary(shown))
        if shown.smiles:
            st.text(shown.smiles)     # plain text: st.code would load a 1.5 MB highlighter
    st.page_link("pages/1_Explore.py", label="Explore the MEP →", icon="🔬")
with right:
    if shown is not None:
        model = appkit.state.get_setting("model")
        try:
            mep = compute.mep_map(shown, model, "isodensity")
        except (appkit.MoleculeInputError, compute.ModelUnavailable) as exc:
            st.warning(str(exc))
            viewer.show_molecule(shown, height=300)
        else:
            st.metric(f"|μ| predicted (D{', about the centre of mass' if shown.charge else ''})",
                      f"{mep.prediction.dipole_magnitude_debye:.3f}")
            sc = compute.map_scale(shown, "isodensity", model=model)
            viewer.show_mep_live(shown, mep.surface, mep.values, key="home_view", height=360,
                                 vmax=sc.half_width, center=sc.center, statistics=mep.statistics,
                                 title=f"ML MEP ({model} model)")

compute.warm_up()      # the networks load in the background while the visitor looks

st.subheader("Draw a molecule")
# the editor (several MB of JavaScript) loads on demand, so the first page shows its MEP at once
if st.toggle("Open the drawing editor", key="home_draw", value=False):
    st.caption("Draw (or open/paste a structure), then press **Apply** below the editor to load it. "
               "Works offline.")
    molinput.molecule_editor(key="ketcher", height=460)

with st.expander("About MEPviz"):
    from mepviz.core import registry
    from mepviz.report import claims
    _cards = {m: compute.model_card(m) for m in registry.MODEL_NAMES}
    st.markdown(
        "- **Models**: variants of one equivariant message-passing network (PiNet2-style) that differ "
        f"in what they were fitted to; the paper's pair (Muuga, Knijff, Zhang 2026) is the "
        f"*{registry.PAPER_PAIR[0]}* and the *{registry.PAPER_PAIR[1]}* model; maps use the "
        f"*{registry.DEFAULT_MODEL}* model unless you choose another. From their model cards:\n"
        + "".join(f"  - {d}\n" for d in claims.model_descriptions(_cards))
        + "  Molecules outside a model's training chemistry get a visible note.\n"
        "- **MEP** from atomic multipoles: V(R) = kₑ Σᵢ [qᵢ/s + pᵢ·s/s³ + Σ θᵢ,αβ s_α s_β/s⁵]; a model "
        "with a charge-penetration term adds each atom's smeared valence cloud (docs/physics.md).\n"
        "- **Reference**: PySCF B3LYP/6-31G(2df,p) with density fitting (QM9's level), computed in "
        "the background and cached; gallery molecules ship theirs.\n"
        "- **Surface**: ρ = 0.001 e/bohr³ isodensity (promolecular density) or scaled vdW surfaces.")
