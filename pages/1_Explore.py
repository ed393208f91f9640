"""Explore: the ML MEP on a 3D surface, the numbers behind it, and the DFT reference."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import appkit
from appkit import applicability, compute, userqm, viewer, widgets
from mepviz import MoleculeInputError
from mepviz.core.units import DEBYE_PER_E_ANGSTROM, POTENTIAL_UNITS
from mepviz.io import export as vx
from mepviz.ml.applicability import Refused
from mepviz.report import metrics, views
from mepviz.surface.colors import PLOTLY_COLORSCALE
from mepviz.surface.statistics import surface_statistics

mol = appkit.page_setup("Explore", icon="🔬",
                        intro="The molecular electrostatic potential predicted by the equivariant "
                              "network, on the molecule's surface: red = negative (attracts protons "
                              "and cations), blue = positive.")
if mol is None:
    st.info("Choose a molecule in the sidebar: an example from the gallery, a SMILES string or a file — "
            "or bring your own quantum chemistry below.")
    userqm.upload_panel(st)
    st.stop()

st.sidebar.header("Display")
opts = widgets.display_controls(st.sidebar)
model, kind, unit = opts["model"], compute.current_kind(), opts["unit"]
ufac = POTENTIAL_UNITS[unit]

# -- ML prediction ---------------------------------------------------------------------------
mep = None
ml_error = None
view_col, num_col = st.columns([3, 2], gap="medium")
try:
    mep = compute.mep_map(mol, model, kind)      # assessed once, by the predictor
except Refused:
    pass                                         # its verdict is shown below
except (MoleculeInputError, compute.ModelUnavailable) as exc:
    ml_error = f"Not computed with the {model} model: {exc}"
with view_col:
    applicability.show(mep.applicability if mep is not None else compute.model_verdict(mol, model), model)

if mep is not None:
    pred = mep.prediction
    sc = compute.map_scale(mol, kind, opts["range_mode"], opts["range_fixed"], model=model)
    vmax = sc.half_width
    caps = compute.halogen_caps(mol, mep.surface)
    with view_col:
        st.subheader(f"{compute.MODEL_LABELS.get(model, model)} · {compute.surface_label(kind)}")
        camera = widgets.camera_control(mol, mep.statistics, caps)
        view_kw = dict(vmax=vmax, center=sc.center, unit=unit, opacity=opts["opacity"],
                       charges=pred.charges if opts["show_charges"] else None,
                       statistics=mep.statistics, markers=opts["show_markers"],
                       title=f"ML MEP ({model} model)")
        extrema = None
        if opts["show_extrema"]:
            extrema = compute.local_extrema(mep.surface, mep.values, mol.positions)
        viewer.show_mep_live(mol, mep.surface, mep.values, key="explore_main", extrema=extrema,
                             camera=camera, **view_kw)
        s = mep.statistics
        st.caption(
            f"{mep.surface.n_vertices} vertices, area {mep.surface.area:.1f} Å² · "
            f"V_s,min {views.format_potential(s['v_min'], unit)} · "
            f"V_s,max {views.format_potential(s['v_max'], unit)} · "
            f"{compute.scale_caption(sc, unit)}. Drag to rotate, scroll to zoom.")
        if caps:
            widgets.cap_readout(mol, caps, {f"{model} model": mep.values}, unit)
        from mepviz.core.registry import ENSEMBLES
        if model in ENSEMBLES:
            unc_box = st.expander("Uncertainty map: where independently trained models disagree",
                                  key="explore_unc_open", on_change="rerun")
            if unc_box.open:
                with unc_box:
                    widgets.uncertainty_panel(mol, model, kind, unit, opacity=opts["opacity"])
        # computed only while open: a grid of MEP values, sent to the browser only when seen
        slice_box = st.expander("2D contour slice through a plane", key="explore_slice_open", on_change="rerun")
        if slice_box.open:
            with slice_box:
                widgets.slice_panel(mol, pred, vmax, unit, key="explore_slice", center=sc.center)
        with st.expander("Downloads: view, structure, cubes, surface"):
            stem = f"{(mol.formula or 'molecule')}_{model}"
            d1, d2, d3 = st.columns(3)
            viewer.download_view_button(mol, mep.surface, mep.values, f"{stem}_mep.html",
                                        key="dl_view", container=d1, **view_kw)
            d2.download_button("Structure (SDF, 3D, charges)",
                               lambda: vx.sdf_3d(mol, charges=pred.charges), f"{stem}.sdf",
                               "chemical/x-mdl-sdfile", key="dl_sdf")
            d3.download_button("Surface (PLY, coloured)",
                               lambda: vx.surface_ply(mep.surface, mep.values, vmax, unit), f"{stem}_surface.ply",
                               "application/octet-stream", key="dl_ply")
            e1, e2, e3 = st.columns(3)
            e1.download_button("Surface points + MEP (CSV)",
                               lambda: vx.surface_csv(mep.surface, mep.values, unit), f"{stem}_surface.csv",
                               "text/csv", key="dl_surface_csv")
            cubes = lambda: vx.mep_and_density_cubes(pred)          # noqa: E731
            e2.download_button("MEP cube", lambda: cubes()[0], f"{stem}_mep.cube", "chemical/x-cube",
                               key="dl_mep_cube")
            e3.download_button("Density cube (promolecular)", lambda: cubes()[1], f"{stem}_density.cube",
                               "chemical/x-cube", key="dl_density_cube")
            st.caption("PNG: the button in the corner of each 3D view (3× screen resolution). Cubes: "
                       "hartree/e and e/bohr³ on one grid (bohr); MEP values are clipped near the nuclei, "
                       "where point multipoles diverge — map the MEP onto the density's 0.001 isosurface.")
    with num_col:
        st.subheader("Numbers")
        t_mom, t_q, t_s, t_x = st.tabs(["Dipole & quadrupole", "Atomic charges", "Surface statistics",
                                        "Extrema & indices"], key="explore_numbers", on_change="rerun")
        with t_mom:
            widgets.multipole_panel(pred.dipole, pred.quadrupole, charge=mol.charge)
        with t_q:
            widgets.charges_table(mol, pred.charges, extra={
                "|p| (D)": np.round(np.linalg.norm(pred.atomic_dipoles, axis=1) * DEBYE_PER_E_ANGSTROM, 3)})
            st.caption(f"Sum of charges: {pred.charges.sum():+.4f} e (total charge {mol.charge:+d}).")
        with t_s:
            widgets.statistics_table({"ML": mep.statistics}, unit)
        if t_x.open:                    # the extrema search runs only when this tab is shown
            with t_x:
                widgets.surface_analysis(mol, mep.surface, mep.values, unit, label=f"{model} model",
                                         key="ml", model=model)
else:
    with view_col:
        if ml_error:
            st.error(ml_error, icon="🚫")
        st.caption("The DFT reference below may still work for this molecule.")
        viewer.show_molecule(mol)

# -- DFT reference (the app's, or the user's own QM) ----------------------------------------------
st.divider()
uq = userqm.current(mol)
if uq is not None:
    st.header("Your reference")
    try:
        with st.spinner("Mapping your reference's MEP on the isodensity surface of its density…"):
            surf, v_ref = userqm.surface_values(uq)
    except MoleculeInputError as exc:
        st.error(f"Your reference cannot be mapped: {exc}", icon="🚫")
        st.stop()
    got, ref_label, ref_col = (uq, v_ref), "Your reference", "yours"
    st.caption(f"{uq.source} — level of theory: {uq.level}. MEP on the ρ = 0.001 e/bohr³ isodensity surface "
               f"of the file's density ({surf.n_vertices} vertices); the ML maps below are evaluated on the "
               "same vertices. " + " ".join(f"{n[0].upper()}{n[1:]}." for n in uq.notes))
else:
    st.header("DFT reference")
    got, ref_label, ref_col = widgets.reference_panel(mol, kind), "DFT reference", "DFT"
    if got is not None:
        surf = compute.surface(mol, kind)
userqm.upload_panel(st)
if got is not None:
    ref, v_ref = got
    ml_vals = ml_stats = None
    if mep is not None:
        ml_vals = mep.values if uq is None else mep.prediction.mep(surf.vertices)
        ml_stats = mep.statistics if uq is None else surface_statistics(surf.vertices, ml_vals, surf.vertex_areas)
    if uq is None:
        applicability.show(compute.dft_verdict(mol), None)
        from appkit import gallery
        origin = ("shipped with the gallery" if gallery.reference_for(mol) is not None
                  else f"computed in {ref.wall_time:.0f} s" if ref.wall_time else "from the disk cache")
        st.caption(f"{ref.method.upper()}/{ref.basis} with density fitting (PySCF), "
                   f"E = {ref.energy:.6f} Eh, {origin}.")
    ref_stats = surface_statistics(surf.vertices, v_ref, surf.vertex_areas)
    sc = compute.map_scale(mol, kind, opts["range_mode"], opts["range_fixed"], model=model,
                           extra=[v_ref, ml_vals] if uq is not None else ())
    R = sc.half_width
    if mep is not None:
        diff = ml_vals - v_ref
        D = compute.difference_range(diff, mode=opts["range_mode"])
        met = compute.error_metrics(ml_vals, v_ref)
        m1, m2, m3, m4 = st.columns(4)
        m1.metric(f"MAE ({unit})", f"{met['mae'] * ufac:.3g}")
        m2.metric(f"RMSE ({unit})", f"{met['rmse'] * ufac:.3g}")
        m3.metric(f"max |error| ({unit})", f"{met['max_abs'] * ufac:.3g}")
        m4.metric("Pearson r", f"{met['r']:.4f}")
        g1, g2 = st.columns([2, 1])
        g1.markdown(f"**Predicted ({model}) | {ref_label}** — the same colour scale as above; "
                    "the two views rotate together.")
        viewer.show_mep_grid(mol, surf, [ml_vals, v_ref],
                             titles=[f"Predicted ({model} model)", ref_label],
                             vmax=R, center=sc.center, unit=unit, opacity=opts["opacity"],
                             statistics=[ml_stats, ref_stats],
                             markers=opts["show_markers"], marker_labels="short",
                             title="MEP", container=g1, element_id="explore-grid",
                             camera=camera if uq is None else None)
        g2.markdown("**Difference (predicted − reference)** — on its own scale")
        viewer.show_mep(mol, surf, diff, vmax=D, unit=unit, opacity=opts["opacity"], markers=False,
                        height=340, container=g2, title=f"ML − {ref_col}", element_id="explore-diff")
        pc, mc = st.columns([3, 2])
        with pc:
            x, y = v_ref * ufac, ml_vals * ufac
            lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
            fig = go.Figure()
            fig.add_trace(go.Scattergl(x=x, y=y, mode="markers", name="surface vertices",
                                       marker=dict(size=4, color=y, colorscale=PLOTLY_COLORSCALE,
                                                   cmin=(sc.center - R) * ufac, cmax=(sc.center + R) * ufac,
                                                   opacity=0.6)))
            fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="y = x",
                                     line=dict(color="black", dash="dash")))
            fig.update_layout(title=f"Parity: predicted vs {ref_label} MEP on the surface",
                              xaxis_title=f"{ref_label} MEP ({unit})", yaxis_title=f"ML MEP ({unit})",
                              height=420, margin=dict(l=10, r=10, t=40, b=10), showlegend=False)
            st.plotly_chart(fig, key="parity")
        with mc:
            if getattr(ref, "dipole_com", None) is not None:
                st.markdown(f"**Moments: ML vs {ref_label}**")
                tab = pd.DataFrame({"ML": metrics.moment_row(pred.dipole, pred.quadrupole),
                                    ref_col: metrics.moment_row(ref.dipole_com, ref.quadrupole)},
                                   index=metrics.MOMENT_ROWS)
                st.dataframe(tab.round(3), width="stretch")
            if mol.charge:
                st.caption("μ and Θ of this ion about the centre of mass (an ion's dipole depends on the origin).")
            if caps:
                widgets.cap_readout(mol, compute.halogen_caps(mol, surf),
                                    {f"{model} model": ml_vals, ref_col: v_ref}, unit)
            widgets.statistics_table({"ML": ml_stats, ref_col: ref_stats}, unit)
    else:
        c1, c2 = st.columns([3, 2])
        with c1:
            viewer.show_mep(mol, surf, v_ref, vmax=R, center=sc.center, unit=unit, opacity=opts["opacity"],
                            statistics=ref_stats, markers=opts["show_markers"], title="DFT MEP")
        with c2:
            if getattr(ref, "dipole_com", None) is not None:
                widgets.multipole_panel(ref.dipole_com, ref.quadrupole, title=f"{ref_label} moments", charge=mol.charge)
            widgets.statistics_table({ref_col: ref_stats}, unit)
    dft_box = st.expander("DFT surface extrema, Murray–Politzer indices and area histogram",
                          key="explore_dft_analysis_open", on_change="rerun")
    if dft_box.open:
        with dft_box:
            widgets.surface_analysis(mol, surf, v_ref, unit, label="DFT reference", key="dft")
