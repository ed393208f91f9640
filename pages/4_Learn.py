"""Learn page (teaching): how atomic charges, dipoles and quadrupoles build up the MEP, and
how the molecular monopole, dipole and quadrupole terms decay with distance."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import appkit
from appkit import compute, lessons, state, viewer, widgets
from mepviz import MoleculeInputError
from mepviz.core import registry
from mepviz.core.units import DEBYE_PER_E_ANGSTROM, POTENTIAL_UNITS, convert_potential
from mepviz.io import from_smiles
from mepviz.report import learn, metrics, views
from mepviz.report.learn import offset_line_profile
from mepviz.surface.colors import color_scale

VIEW_HEIGHT = 340
EXAMPLES = {"water": ("O", "water"), "acetate (anion)": ("CC(=O)[O-]", "acetate"),
            "ammonium (cation)": ("[NH4+]", "ammonium"), "carbon dioxide": ("O=C=O", "carbon dioxide"),
            "benzene": ("c1ccccc1", "benzene")}
ORDER_TITLES = {0: "1 · Charges only", 1: "2 · + atomic dipoles", 2: "3 · + atomic quadrupoles"}
ORDER_TEXT = {
    0: "Each atom is a point charge qᵢ. This is what classical force fields use.",
    1: "Each atom also gets a small arrow pᵢ: its electron cloud is pushed to one side "
       "(lone pairs, bonds).",
    2: "Each atom also gets a quadrupole θᵢ: its cloud is stretched or squashed "
       "(π clouds, lone-pair lobes). This is the full model.",
}
LINE_STYLE = {
    "atomic q+p+θ": dict(color="black", width=3),
    "atomic q": dict(color="#999999", width=2, dash="dot"),
    "atomic q+p": dict(color="#666666", width=2, dash="dash"),
    "monopole": dict(color="#7570b3", width=2),
    "dipole": dict(color="#d95f02", width=2),
    "quadrupole": dict(color="#1b9e77", width=2),
    "multipole sum": dict(color="#e7298a", width=2, dash="dashdot"),
}
LINE_NAMES = {
    "atomic q+p+θ": "full model MEP (all atomic multipoles)",
    "atomic q": "atomic charges only",
    "atomic q+p": "atomic charges + dipoles",
    "monopole": "molecular charge Q: k·Q/r  (~1/r)",
    "dipole": "molecular dipole μ: k·μ·r̂/r²  (~1/r²)",
    "quadrupole": "molecular quadrupole Θ: k·r̂·Θ·r̂/r³  (~1/r³)",
    "multipole sum": "Q + μ + Θ terms together",
}

mol = appkit.page_setup("Learn: where the electrostatic potential comes from",
                        url_keep=(lessons.PARAM, lessons.LECTURE, lessons.SCALE_PARAM))
lesson = lessons.current()
if lesson is not None:
    lessons.show(lesson)
    st.stop()


def _load_example(smiles: str, name: str):
    try:
        m = from_smiles(smiles)
    except MoleculeInputError as exc:   # pragma: no cover - fixed, known-good SMILES
        state.set_input_error(str(exc))
        return
    state.set_molecule(replace(m, name=name), f"Learn example: {name}")


st.markdown(
    "The **molecular electrostatic potential** (MEP) is the energy a small positive test "
    "charge would feel near the molecule. **Red** regions are negative — they attract protons "
    "and cations (lone pairs, π clouds); **blue** regions are positive — they attract anions "
    "and lone pairs (acidic hydrogens). The network describes every atom by a few numbers — a "
    "charge, a dipole, a quadrupole — and adds up their potentials. Below you can switch these "
    "pieces on one by one, and see how fast each kind of term fades with distance.")

lessons.show_index()
st.divider()
st.subheader("Your molecule, piece by piece")
ex_cols = st.columns(len(EXAMPLES) + 1)
ex_cols[0].markdown("**Try:**")
for col, (label, (smi, name)) in zip(ex_cols[1:], EXAMPLES.items()):
    col.button(label, key=f"learn_ex_{name}", on_click=_load_example, args=(smi, name),
               width="stretch")
mol = state.get_molecule()

if mol is None:
    st.info("Pick an example above or enter a molecule in the sidebar.")
    st.stop()

c1, c2, c3, c4 = st.columns(4)
_models = lessons.lesson_models()
model = c1.radio("Model", _models, index=_models.index(registry.DEFAULT_MODEL) if registry.DEFAULT_MODEL in _models
                 else len(_models) - 1, horizontal=True, key="learn_model",
                 format_func=lambda m: f"{m} model")
state.setting_widget(st.selectbox, "Surface", "surface", container=c2, options=list(compute.surface_kinds()),
                     format_func=lambda k: compute.SURFACE_LABELS.get(k, k))
state.setting_widget(st.selectbox, "Potential unit", "unit", container=c3, options=list(POTENTIAL_UNITS))
widgets.scale_control(c4)
kind, unit = compute.current_kind(), state.get_setting("unit")

try:
    maps = {order: compute.mep_map(mol, model, kind, order=order) for order in (0, 1, 2)}
except MoleculeInputError as exc:
    st.error(f"The models cannot handle this molecule: {exc}", icon="🚫")
    st.stop()
except compute.ModelUnavailable as exc:
    st.error(str(exc), icon="🚫")
    st.stop()
pred = maps[2].prediction
surf = maps[2].surface

# ------------------------------------------------------------------ 1. build-up on the surface
st.header("1 · Building the MEP up, one kind of term at a time")
sc = color_scale(*(m.values for m in maps.values()), rule=state.get_setting("scale"), charge=mol.charge)
vmax = sc.half_width
st.caption(f"Same molecule, same surface, one colour scale for all three: {compute.scale_caption(sc, unit)}.")
cols = st.columns(3)
for col, order in zip(cols, (0, 1, 2)):
    col.markdown(f"**{ORDER_TITLES[order]}**")
    viewer.show_mep(mol, surf, maps[order].values, vmax=vmax, center=sc.center, unit=unit,
                    opacity=state.get_setting("opacity"), markers=False,
                    height=VIEW_HEIGHT, container=col, element_id=f"learn-order-{order}")
    col.caption(ORDER_TEXT[order])

full = maps[2].values
rows = []
for order in (0, 1, 2):
    st_ = maps[order].statistics
    rows.append({"terms": learn.ORDER_LABELS[order],
                 f"V_s,min ({unit})": float(convert_potential(st_["v_min"], unit)),
                 f"V_s,max ({unit})": float(convert_potential(st_["v_max"], unit)),
                 f"mean |difference from full| ({unit})":
                     float(convert_potential(np.abs(maps[order].values - full).mean(), unit))})
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="learn_orders",
             column_config={c: st.column_config.NumberColumn(format="%.2f") for c in rows[0] if c != "terms"})
missing = float(convert_potential(np.abs(maps[0].values - full).mean(), unit))
st.markdown(
    f"On this surface, leaving out the atomic dipoles and quadrupoles changes the potential by "
    f"**{missing:.3g} {unit}** on average. The differences are largest next to lone pairs and "
    "π systems — exactly where a point charge cannot describe the shape of the electron cloud. "
    "A model fitted only to the dipole moment has no reason to get these shapes right; fitting "
    "the quadrupole moment too pins them down.")

# ------------------------------------------------------------------ 2. decay along a line
st.header("2 · How each term fades with distance")
st.markdown(
    "Far from a molecule, its potential is a sum of simple terms around its centre of mass: "
    "the total charge Q gives **k·Q/r**, the dipole μ gives a term falling as **1/r²**, the "
    "quadrupole Θ one falling as **1/r³**. So far away an ion looks like a point charge, a "
    "neutral polar molecule like its dipole, and a molecule without a dipole (CO₂, benzene) "
    "like its quadrupole. Close to the molecule these terms are *not* a good description — "
    "there the atomic multipoles (black curve) are needed.")
d1, d2, d3 = st.columns([1, 2, 1])
mu_d = pred.dipole_magnitude_debye
terms = learn.significant_terms(mol.charge, mu_d,
                                float(np.abs(pred.quadrupole_eigenvalues(debye=True)).max()))
directions = [d for d in ("dipole", "quadrupole") if d in terms] + ["x", "y", "z"]
direction = d1.selectbox("Line from the centre of mass along", directions,
                         key="learn_direction",
                         format_func={"dipole": "the dipole direction", "quadrupole": "the main quadrupole axis",
                                      "x": "x", "y": "y", "z": "z"}.get)
r_lo, r_hi = d2.select_slider("Distance range (Å)", options=[0.5, 1, 2, 3, 5, 10, 20, 50, 100, 200],
                              value=(1, 50), key="learn_range")
loglog = d3.checkbox("log–log axes", value=True, key="learn_loglog",
                     help="On log–log axes a 1/rⁿ law is a straight line of slope −n; |V| is shown.")
if r_hi <= r_lo:
    st.warning("Choose a range whose end is beyond its start.")
    st.stop()

CLEARANCE = 0.5    # Å: the line never passes closer than this to a nucleus
prof = offset_line_profile(mol, pred, direction, r_min=float(r_lo), r_max=float(r_hi), n=240,
                           clearance=CLEARANCE)
shift = float(np.linalg.norm(prof.attrs["offset"]))
if shift > 0:
    st.caption(f"The straight line from the centre of mass would pass through (or within {CLEARANCE} Å "
               f"of) a nucleus, where the potential of a point multipole diverges; it is shifted "
               f"sideways by {shift:.1f} Å so that it stays at least {prof.attrs['clearance']:.2f} Å "
               "from every nucleus. r is the distance from the centre of mass.")
shown = ["atomic q+p+θ", "atomic q", "atomic q+p", *terms, "multipole sum"]
if len(terms) < 2:
    shown.remove("multipole sum")         # the sum of one term is that term
hidden = [t for t in ("dipole", "quadrupole") if t not in terms]
if hidden:
    st.caption("Not drawn: the molecular " + " and ".join(hidden) + " term" + ("s" if len(hidden) > 1 else "")
               + f" — zero for this molecule (|μ| = {mu_d:.2g} D; a numerical zero, not physics).")
fig = go.Figure()
for c in shown:
    y = convert_potential(prof[c].to_numpy(), unit)
    if loglog:
        y = np.abs(y)
        y = np.where(y > 0, y, np.nan)
    fig.add_trace(go.Scatter(x=prof["r"], y=y, mode="lines", name=LINE_NAMES[c], line=LINE_STYLE[c]))
fig.update_layout(xaxis_title="distance from the centre of mass r (Å)",
                  yaxis_title=(f"|V| ({unit})" if loglog else f"V ({unit})"), height=460,
                  margin=dict(l=10, r=10, t=30, b=10), legend=dict(font=dict(size=11)))
if loglog:
    fig.update_xaxes(type="log")
    fig.update_yaxes(type="log", exponentformat="power")
st.plotly_chart(fig, key="learn_line")
st.download_button("Download these curves (CSV)",
                   lambda p=prof, u=unit: learn.profile_csv(p, u),
                   f"mep_line_{(mol.name or mol.formula).replace(' ', '_')[:30]}_{direction}.csv", "text/csv",
                   key="learn_csv")

slopes = learn.decay_slopes(prof, [c for c in ("monopole", "dipole", "quadrupole", "atomic q+p+θ")
                                     if c in shown], r_from=max(float(r_lo), 10.0))
expected = {"monopole": "−1", "dipole": "−2", "quadrupole": "−3", "atomic q+p+θ": "the slowest term wins"}
st.dataframe(pd.DataFrame([{"term": LINE_NAMES[c], "measured log–log slope": s,
                            "expected": expected[c] if np.isfinite(s) else "— (this term is zero here)"}
                           for c, s in slopes.items()]),
             hide_index=True, width="stretch", key="learn_slopes",
             column_config={"measured log–log slope": st.column_config.NumberColumn(format="%.2f")})
note = (f"This molecule has total charge {mol.charge:+d}, so far away its potential approaches the "
        f"point-charge law k·Q/r." if mol.charge else
        "This molecule is neutral: there is no 1/r term. " +
        (f"Its dipole ({mu_d:.2f} D) dominates far away (slope −2)." if mu_d > 0.05 else
         "It has no dipole, so the quadrupole dominates far away (slope −3)."))
st.info(note + " Slopes are measured beyond 10 Å (or the range start); dips on the log–log plot "
        "are places where the potential changes sign.", icon="💡")

full_slope = slopes.get("atomic q+p+θ", float("nan"))
if mol.charge == 0 and mu_d > 0.05 and np.isfinite(full_slope):
    far = offset_line_profile(mol, pred, direction, r_min=200.0, r_max=2000.0, n=60, clearance=CLEARANCE)
    far_slope = learn.decay_slopes(far, ["atomic q+p+θ"], r_from=200.0)["atomic q+p+θ"]
    sum_slope = learn.decay_slopes(prof, ["multipole sum"], r_from=max(float(r_lo), 10.0))["multipole sum"]
    with st.expander(f"Why is the measured slope {full_slope:.2f} and not exactly −2?"):
        st.markdown(
            "The slope is measured over a finite range, where the dipole term a/r² is not yet alone: "
            "the quadrupole adds b/r³ (and higher terms add less). For V = a/r² + b/r³ the local "
            "slope is d ln|V|/d ln r = −2 − (b/a)/(r + b/a): it approaches −2 only as r grows, "
            "from above or below depending on the sign of b/a along this line.\n\n"
            f"- the dipole + quadrupole sum measured over the same range: slope **{sum_slope:.2f}**\n"
            f"- the full model between 200 and 2000 Å: slope **{far_slope:.3f}** → −2\n\n"
            "So the full model is not wrong about the far field; the range 10–50 Å is just not yet "
            "\"far\" compared with the ratio of the quadrupole to the dipole of this molecule.")

with st.expander("The formulas"):
    st.markdown(
        "With k = 332.06 kcal·Å/(mol·e²), and sᵢ = R − rᵢ the vector from atom i to the point R:\n\n"
        "- atomic multipoles: V(R) = k Σᵢ [ qᵢ/sᵢ + pᵢ·sᵢ/sᵢ³ + Σ_αβ θᵢ,αβ sᵢ,α sᵢ,β / sᵢ⁵ ]\n"
        "- molecular multipoles about the centre of mass (r = R − R_com): "
        "V ≈ k [ Q/r + μ·r/r³ + Σ_αβ Θ_αβ r_α r_β / r⁵ ]\n\n"
        "Θ is the traceless (Buckingham) quadrupole Θ = ½ Σ q (3 r rᵀ − r² I). "
        f"For this molecule ({model} model), about the centre of mass: Q = {mol.charge:+d} e, |μ| = {mu_d:.3f} D, "
        "Θ eigenvalues = " + ", ".join(f"{v:.3f}" for v in pred.quadrupole_eigenvalues(debye=True))
        + " D·Å.")

# ------------------------------------------------------------------ 3. what a quadrupole is
st.header("3 · What is a quadrupole? Benzene and CO₂")
st.markdown(
    "Put a charge +q at each end of a line and −2q in its middle: the total charge is zero and, "
    "by symmetry, so is the dipole — yet the arrangement still has an electric field. Its leading "
    "term is the **quadrupole** Θ = ½ Σ q (3 r rᵀ − r² I), and its potential falls off as 1/r³. "
    "Carbon dioxide (O=C=O) is such a molecule with the signs reversed: its negative oxygens sit "
    "at the ends and the positive carbon in the middle, so Θ along the axis is **negative**. "
    "Benzene is the other classic: the π electrons make clouds of negative charge above and below "
    "the ring, the hydrogens a positive rim — again Θ along the axis (the ring normal) is negative. "
    "Neither molecule has a dipole; what you see on their surfaces is (mostly) their quadrupole.")
QUAD_EXAMPLES = {"carbon dioxide": ("O=C=O", -4.3), "benzene": ("c1ccccc1", -8.7)}


@st.cache_data(show_spinner=False)
def _quad_example(smiles: str):
    return from_smiles(smiles)


qcols = st.columns(2)
qmaps = {}
for (name, (smi, _)) in QUAD_EXAMPLES.items():
    try:
        m = _quad_example(smi)
        qmaps[name] = (m, compute.mep_map(m, model, "isodensity"))
    except (MoleculeInputError, compute.ModelUnavailable) as exc:
        st.warning(f"{name}: {exc}")
if qmaps:
    qsc = color_scale(*(mp.values for _, mp in qmaps.values()), rule="symmetric")
    qv = qsc.half_width
    for col, (name, (m, mp)) in zip(qcols, qmaps.items()):
        axis_theta = metrics.largest_principal_value(mp.prediction.quadrupole) * DEBYE_PER_E_ANGSTROM
        col.markdown(f"**{name.capitalize()}** — |μ| = {mp.prediction.dipole_magnitude_debye:.2f} D, "
                     f"Θ along its axis = **{axis_theta:+.2f} D·Å** ({model} model; measured in the gas "
                     f"phase: about {QUAD_EXAMPLES[name][1]:+.1f} D·Å)")
        viewer.show_mep(m, mp.surface, mp.values, vmax=qv, unit=unit, statistics=mp.statistics,
                        height=VIEW_HEIGHT, container=col, element_id=f"learn-quad-{name.split()[0]}",
                        title=f"{name} MEP")
    st.caption("Both on one colour scale. Red (negative) at the ends of CO₂ and on the faces of "
               "benzene, blue (positive) around CO₂'s carbon and benzene's hydrogen rim: the "
               "signature of a negative axial quadrupole. Cations bind to benzene's face (cation–π); "
               "CO₂ approaches a partner side-on through its carbon.")
