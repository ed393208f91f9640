"""Compare models page: dipole vs quadrupole model on the current molecule, against DFT when
available, and the dataset-level evaluation results."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

import appkit
from appkit import applicability, compute, state, viewer, widgets
from mepviz import MoleculeInputError
from mepviz.core import registry
from mepviz.core.units import POTENTIAL_UNITS, convert_potential
from mepviz.report import tables as report_tables
from mepviz.report import views
from mepviz.surface.statistics import surface_statistics
from mepviz.report.metrics import METHOD_SHORT

from mepviz.report import claims

#: the paper's pair first, then the default map model when it is not one of them (e.g. `mep`)
MODELS = compute.compare_models()
SHORT = {m: registry.short_model_label(m) for m in MODELS}
COLORS = {"dipole": "#d95f02", "quadrupole": "#1b9e77"}
OTHER_COLORS = ("#7570b3", "#e7298a", "#66a61e")
for _k, _m in enumerate(m for m in MODELS if m not in COLORS):
    COLORS[_m] = OTHER_COLORS[_k % len(OTHER_COLORS)]
VIEW_HEIGHT = 380

mol = appkit.page_setup("Compare the models")
try:
    QM9_DOC, SETS_DOC = claims.load_documents()
except ValueError as _exc:
    QM9_DOC = SETS_DOC = None
    st.error(f"The evaluation results cannot be read: {_exc}", icon="🚫")
CLAIMS = claims.compare_claims(QM9_DOC, SETS_DOC)
st.markdown(
    "The paper's two networks have the same architecture; they differ in what they were fitted to. "
    f"The **dipole model** was fitted to {registry.MODELS[registry.PAPER_PAIR[0]].fits}; the "
    f"**quadrupole model** to {registry.MODELS[registry.PAPER_PAIR[1]].fits}. "
    + " ".join(c.text for c in CLAIMS if c.key == "paper_pair_qm9")
    + " See it on your molecule, and on every test set below.")
for _m in MODELS[len(registry.PAPER_PAIR):]:
    _said = [c.text for c in CLAIMS if c.key == f"extra_{_m}"]
    st.markdown(_said[0] if _said else
                f"Beyond the paper, the {registry.model_label(_m)} is fitted to {registry.MODELS[_m].fits}; "
                "its test-set results are not in the evaluation files yet.")

tab_mol, tab_data = st.tabs(["This molecule", "Test-set results"])


# =========================================================================== this molecule
def _settings(container):
    c1, c2, c3, c4 = container.columns(4)
    kinds = compute.surface_kinds()
    state.setting_widget(st.selectbox, "Surface", "surface", container=c1, options=list(kinds),
                         format_func=lambda k: compute.SURFACE_LABELS.get(k, k))
    state.setting_widget(st.selectbox, "Potential unit", "unit", container=c2,
                         options=list(POTENTIAL_UNITS))
    state.setting_widget(st.selectbox, "Colour range", "range_mode", container=c3,
                         options=["auto", "p98", "fixed"],
                         format_func={"auto": "max |V| of all panels", "p98": "98th percentile of |V|",
                                      "fixed": "fixed"}.get)
    if state.get_setting("range_mode") == "fixed":
        state.setting_widget(st.number_input, "Half-width of the range (kcal/mol/e)", "range_fixed",
                             container=c3, min_value=1.0, max_value=500.0, step=5.0)
    widgets.scale_control(c4)          # the same rule (and URL scale=) as Explore and Learn
    if state.get_setting("surface") == "isodensity":
        widgets.isovalue_control(c1)
    return compute.current_kind(), state.get_setting("unit"), state.get_setting("range_mode")


def _parity_figure(maps, ref_values, unit, max_points=2500):
    fig = go.Figure()
    rng = np.random.default_rng(0)
    lo, hi = np.inf, -np.inf
    ref_u = convert_potential(np.asarray(ref_values), unit)
    for m, mp in maps.items():
        vals = convert_potential(np.asarray(mp.values), unit)
        idx = np.arange(len(vals)) if len(vals) <= max_points else rng.choice(len(vals), max_points, replace=False)
        fig.add_trace(go.Scattergl(x=ref_u[idx], y=vals[idx], mode="markers", name=SHORT[m],
                                   marker=dict(size=4, opacity=0.5, color=COLORS[m])))
        lo, hi = min(lo, vals.min(), ref_u.min()), max(hi, vals.max(), ref_u.max())
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x",
                             line=dict(color="black", dash="dash", width=1)))
    fig.update_layout(xaxis_title=f"DFT MEP ({unit})", yaxis_title=f"model MEP ({unit})",
                      height=420, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h"))
    return fig


def _disagreement(container, surf, maps, unit):
    """Without a reference: where the two models disagree (quadrupole − dipole model)."""
    container.subheader("Where the two models disagree")
    diff = maps["quadrupole"].values - maps["dipole"].values
    dmax = compute.difference_range(diff)
    c1, c2 = container.columns([3, 2])
    viewer.show_mep(mol, surf, diff, vmax=dmax, unit=unit, opacity=state.get_setting("opacity"), height=VIEW_HEIGHT, container=c1,
                    title="Quadrupole model − dipole model", markers=False, element_id="compare-models-diff")
    d = convert_potential(diff, unit)
    c2.metric(f"mean |difference| ({unit})", f"{np.abs(d).mean():.3g}")
    c2.metric(f"largest |difference| ({unit})", f"{np.abs(d).max():.3g}")
    c2.caption("Blue: the quadrupole model is more positive there; red: more negative. Both models "
               "reproduce the dipole, so they differ mostly in the *shape* of the potential — near "
               "lone pairs, π clouds and polar hydrogens, where the quadrupole moment matters.")


def molecule_section(container):
    if mol is None:
        container.info("Pick an example, type a SMILES or upload a file in the sidebar to compare "
                       "the models on a molecule.")
        return
    kind, unit, range_mode = _settings(container)
    if applicability.show(compute.model_verdict(mol, MODELS[-1]), MODELS[-1], container):
        return
    try:
        maps = {m: compute.mep_map(mol, m, kind) for m in MODELS}
    except MoleculeInputError as exc:
        container.error(f"The models cannot handle this molecule: {exc}", icon="🚫")
        return
    except compute.ModelUnavailable as exc:
        container.error(str(exc), icon="🚫")
        return
    surf = maps[MODELS[0]].surface
    ref_values = compute.reference_values(mol, kind)
    ref = compute.reference_result(mol) if ref_values is not None else None

    sc = compute.map_scale(mol, kind, range_mode, state.get_setting("range_fixed"), extra=[maps[m].values for m in MODELS])
    vmax = sc.half_width
    container.caption(f"{compute.surface_label(kind)} · {surf.n_vertices} vertices · "
                      f"all panels share one colour scale: {compute.scale_caption(sc, unit)}")

    cols = container.columns(len(MODELS) + (1 if ref_values is not None else 0))
    for col, m in zip(cols, MODELS):
        col.markdown(f"**{SHORT[m]}** — fitted to {registry.MODELS[m].fits}")
        viewer.show_mep(mol, surf, maps[m].values, vmax=vmax, center=sc.center, unit=unit,
                        opacity=state.get_setting("opacity"), statistics=maps[m].statistics,
                        marker_labels="short", height=VIEW_HEIGHT, container=col, element_id=f"compare-{m}")
    ref_stats = None
    if ref_values is not None:
        ref_stats = surface_statistics(surf.vertices, ref_values, getattr(surf, "vertex_areas", None))
        cols[-1].markdown(f"**DFT reference** — {getattr(ref, 'method', 'b3lyp').upper()}/"
                          f"{getattr(ref, 'basis', '6-31g(2df,p)')}")
        viewer.show_mep(mol, surf, ref_values, vmax=vmax, center=sc.center, unit=unit,
                        opacity=state.get_setting("opacity"), statistics=ref_stats,
                        marker_labels="short", height=VIEW_HEIGHT, container=cols[-1], element_id="compare-dft")
    caps = compute.halogen_caps(mol, surf)
    if caps:
        widgets.cap_readout(mol, caps, {**{SHORT[m]: maps[m].values for m in MODELS},
                                        **({"DFT": ref_values} if ref_values is not None else {})}, unit,
                            container=container)

    # -- numbers
    container.subheader("Moments and surface statistics")
    table = report_tables.comparison_table({m: maps[m].prediction for m in MODELS},
                                     {m: maps[m].statistics for m in MODELS}, ref, ref_stats, unit)
    container.dataframe(table.style.format("{:.3f}", na_rep="—"), width="stretch", key="compare_numbers",
                        height=35 * (len(table) + 1) + 3)
    container.caption(("This is an ion: its μ depends on the origin. " if mol.charge else "")
                      + "μ about the centre of mass (origin-independent for neutral molecules), in debye; "
                      "Θ: principal values of the traceless Buckingham quadrupole about the centre of "
                      "mass, ascending, in D·Å. Surface statistics on the surface shown above.")

    # -- errors against the reference
    container.subheader("Errors against DFT")
    if ref_values is None:
        container.info(
            "No DFT reference for this molecule yet. Gallery molecules ship one; for any other "
            "molecule, compute it here or on the Explore page (it runs in the background, the "
            "page stays usable) — the error maps appear as soon as it is done.", icon="ℹ️")
        if widgets.reference_panel(mol, kind, key="compare_dft", container=container) is not None:
            # a job has just finished: rerun once so the panels above include the reference
            guard = f"compare_ref_rerun_{mol.key()}_{kind}"
            if not st.session_state.get(guard):
                st.session_state[guard] = True
                st.rerun()
        _disagreement(container, surf, maps, unit)
        return
    diffs = {m: maps[m].values - ref_values for m in MODELS}
    dmax = compute.difference_range(*diffs.values(), mode=range_mode)
    errs = report_tables.error_table({SHORT[m]: convert_potential(maps[m].values, unit) for m in MODELS},
                               convert_potential(ref_values, unit))
    container.dataframe(errs.style.format("{:.3f}"), width="stretch", key="compare_errors")
    container.caption(f"Errors of the model MEP against DFT on the {surf.n_vertices} surface vertices, "
                      f"in {unit} (r is the Pearson correlation).")
    dcols = container.columns(len(MODELS))
    for col, m in zip(dcols, MODELS):
        col.markdown(f"**{SHORT[m]} − DFT** (red: model too negative, blue: too positive)")
        viewer.show_mep(mol, surf, diffs[m], vmax=dmax, unit=unit, opacity=state.get_setting("opacity"), height=VIEW_HEIGHT, container=col,
                        title="Error", markers=False, element_id=f"compare-err-{m}")
    container.plotly_chart(_parity_figure(maps, ref_values, unit), key="compare_parity")


with tab_mol:
    molecule_section(st)


# =========================================================================== dataset
METHOD_COLORS = {"ML dipole model": COLORS["dipole"], "ML quadrupole model": COLORS["quadrupole"],
                 "Gasteiger": "#a6a6a6", "MMFF94": "#7f7f7f", "GFN2-xTB charges": "#7570b3",
                 "GFN2-xTB multipoles": "#e7298a", METHOD_SHORT["esp-fit-charges"]: "#c7e9c0",
                 METHOD_SHORT["esp-fit-multipoles"]: "#74c476", METHOD_SHORT["esp-fit-multipoles-clouds"]: "#238b45"}
LAYOUT = dict(height=380, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.25))


def _color(method: str) -> str:
    return METHOD_COLORS.get(method, "#66a61e")


def per_set_section():
    """Every variant and baseline on every test set, and the statements, from the JSON."""
    table = claims.per_set_table(QM9_DOC, SETS_DOC)
    if table.empty:
        return
    st.subheader("MEP error on every test set")
    shown = table.drop(columns="name")
    st.dataframe(shown, width="stretch", key="eval_per_set",
                 column_config={c: st.column_config.NumberColumn(format="%.2f") for c in shown.columns})
    st.caption("MEP MAE (kcal/mol/e) against DFT on the ρ = 0.001 e/bohr³ isodensity points of each test "
               "set, never trained or tuned on (weights/evaluation.json, weights/evaluation_beyond_qm9.json). "
               "None: not evaluated there (a model not trained on that chemistry is not run on it).")
    for c in CLAIMS:
        if c.key.startswith("paper_pair_") and c.key != "paper_pair_qm9":
            st.markdown(f"- {c.text}")
    caps = claims.caps_table(SETS_DOC)
    if not caps.empty:
        st.markdown("**Halogen σ-hole caps with DFT's sign** (right / caps; cap = largest V within 15° "
                    "of the A→X axis beyond the halogen)")
        st.dataframe(caps, width="stretch", key="eval_caps")
    for m in (m for m in MODELS if m in registry.ENSEMBLES):
        st.markdown(f"**Uncertainty map of the {registry.model_label(m)}** (the spread of "
                    f"{len(registry.ENSEMBLES[m])} independently trained members, Explore page)")
        widgets.calibration_table(m, key=f"eval_calibration_{m}")


def dataset_section():
    doc = QM9_DOC
    if doc is None:
        st.info("The dataset-level evaluation has not been run yet (weights/evaluation.json is "
                "missing). It is written by `python -m train.evaluate`.", icon="ℹ️")
        return
    tables = report_tables.evaluation_tables(doc)
    unit = tables.get("unit", "kcal/mol/e")
    overall = tables.get("overall")
    if overall is None or not len(overall):
        st.warning("weights/evaluation.json holds no MEP results.", icon="⚠️")
        return
    ts = tables.get("test_set", {})
    st.markdown(
        f"How far each method's MEP is from the DFT MEP on **{ts.get('n_molecules', '?')} QM9 test "
        f"molecules** never used in training — reference: {ts.get('level_of_theory', 'B3LYP/6-31G(2df,p)')}, "
        f"{ts.get('n_isodensity_points', '?')} isodensity points, {ts.get('n_shell_points', '?')} shell "
        "points. Baselines: classical charge models and semi-empirical GFN2-xTB, put through the "
        "same potential formula.")
    if tables.get("generated"):
        st.caption(f"Evaluated {tables['generated']} by train/evaluate.py.")

    st.subheader("MEP error per method")
    fig = go.Figure(go.Bar(x=overall["method"], y=overall["MAE"],
                           marker_color=[_color(m) for m in overall["method"]],
                           marker_pattern_shape=["/" if k == "bound" else "" for k in overall["kind"]],
                           text=[f"{v:.2f}" for v in overall["MAE"]], textposition="outside",
                           hovertext=overall["label"]))
    fig.update_layout(yaxis_title=f"MEP MAE on the isodensity surface ({unit})", **LAYOUT)
    st.plotly_chart(fig, key="eval_bar")
    cols = ["method", "kind", "MAE", "RMSE", "molecule-mean MAE", "shell MAE", "|μ| MAE (D)",
            "μ vector MAE (D)", "Θ MAE (D·Å)", "failed"]
    st.dataframe(overall[cols], hide_index=True, width="stretch", key="eval_overall",
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in cols[2:-1]})
    st.caption(f"MAE/RMSE in {unit}, pooled over all isodensity points; shell MAE over all 1.4–2.0 × vdW "
               "shell points; moment errors against the DFT dipole and quadrupole (about the centre of mass)."
               + (" Hatched *floor* bars: charges (or charges + dipoles + quadrupoles, or those beside the mep "
                  "model's own valence clouds) fitted to each molecule's own DFT potential — the best any "
                  "atom-centred model of that kind could do."
                  if (overall["kind"] == "bound").any() else ""))

    c1, c2 = st.columns(2)
    shells = tables.get("per_shell")
    if shells is not None and len(shells):
        with c1:
            st.subheader("Error per shell scale")
            fig = go.Figure()
            for method, g in shells.groupby("method", sort=False):
                fig.add_trace(go.Scatter(x=g["scale"], y=g["MAE"], mode="lines+markers", name=method,
                                         line=dict(color=_color(method))))
            fig.update_layout(xaxis_title="shell scale (× vdW radius)", yaxis_title=f"MEP MAE ({unit})",
                              **LAYOUT)
            st.plotly_chart(fig, key="eval_shells")
            st.caption("Points on shells at 1.4–2.0 × the van der Waals radii (as used for ESP "
                       "fitting): further out, the potential and its errors are smaller.")
    by_order = tables.get("by_order")
    if by_order is not None and len(by_order):
        with c2:
            st.subheader("Which atomic terms matter")
            fig = go.Figure()
            for method, g in by_order.groupby("method", sort=False):
                fig.add_trace(go.Bar(x=g["terms"], y=g["MAE"], name=method, marker_color=_color(method),
                                     text=[f"{v:.2f}" for v in g["MAE"]], textposition="outside"))
            fig.update_layout(barmode="group", yaxis_title=f"MEP MAE ({unit})", **LAYOUT)
            st.plotly_chart(fig, key="eval_orders")
            st.caption("The models' MEP truncated after the atomic charges, the atomic dipoles, or "
                       "with everything (see the Learn page).")

    hist = tables.get("histograms")
    if hist is not None and len(hist):
        st.subheader("Error distributions")
        with_baselines = st.checkbox("Include the baselines and floors", value=False, key="eval_hist_baselines")
        models = set(overall.loc[overall["kind"] == "model", "method"])
        fig = go.Figure()
        for method, g in hist.groupby("method", sort=False):
            if method not in models and not with_baselines:
                continue
            fig.add_trace(go.Scatter(x=g["center"], y=g["fraction"], mode="lines", name=method,
                                     line=dict(color=_color(method), shape="hvh")))
        fig.update_layout(xaxis_title=f"signed MEP error, method − DFT ({unit})",
                          yaxis_title="fraction of surface points", **LAYOUT)
        st.plotly_chart(fig, key="eval_hist")
        outside = tables.get("outside", {})
        if outside:
            st.caption("Signed errors on all isodensity points. Outside the plotted range: " +
                       ", ".join(f"{m} {100 * f:.1f} %" for m, f in outside.items()
                                 if m in models or with_baselines) + ".")

    per_mol = tables.get("per_molecule")
    if per_mol is not None and len(per_mol):
        st.subheader("Per-molecule MEP MAE")
        c3, c4 = st.columns(2)
        fig = go.Figure()
        for method, g in per_mol.groupby("method", sort=False):
            fig.add_trace(go.Box(y=g["MAE"], name=method, marker_color=_color(method), boxpoints="outliers"))
        fig.update_layout(yaxis_title=f"MAE per molecule ({unit})", showlegend=False,
                          **{k: v for k, v in LAYOUT.items() if k != "legend"})
        c3.plotly_chart(fig, key="eval_permol")
        wide = per_mol.pivot_table(index=["qm9_index", "smiles"], columns="method", values="MAE").reset_index()
        a, b = "ML dipole model", "ML quadrupole model"
        if a in wide and b in wide:
            better = int((wide[b] < wide[a]).sum())
            hi = float(max(wide[a].max(), wide[b].max()))
            fig = go.Figure([go.Scatter(x=wide[a], y=wide[b], mode="markers", text=wide["smiles"],
                                        marker=dict(color=COLORS["quadrupole"], size=7, opacity=0.7),
                                        name="molecule"),
                             go.Scatter(x=[0, hi], y=[0, hi], mode="lines", name="equal",
                                        line=dict(color="black", dash="dash", width=1))])
            fig.update_layout(xaxis_title=f"dipole model MAE ({unit})", yaxis_title=f"quadrupole model MAE ({unit})",
                              showlegend=False, **{k: v for k, v in LAYOUT.items() if k != "legend"})
            c4.plotly_chart(fig, key="eval_permol_pair")
            c4.caption(f"The quadrupole model is closer to DFT on **{better} of {len(wide)}** molecules "
                       "(points below the diagonal).")


def model_cards_section():
    cards = {m: compute.model_card(m) for m in MODELS}
    cards = {m: c for m, c in cards.items() if c}
    if not cards:
        return
    with st.expander("The models (from their model cards)"):
        st.dataframe(report_tables.model_card_table(cards), width="stretch", key="model_cards")
        st.caption("Same architecture; they differ in the loss. Full cards: weights/<model>.json.")


with tab_data:
    model_cards_section()
    per_set_section()
    dataset_section()
