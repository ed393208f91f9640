"""Reusable page pieces: display controls, number panels, the DFT reference panel.

    from appkit import widgets
    opts = widgets.display_controls(st.sidebar)     # dict: model, surface, unit, opacity, ...
    widgets.multipole_panel(prediction)             # μ, |μ|, Θ, eigenvalues
    widgets.charges_table(prediction)
    widgets.statistics_table({"ML": mep.statistics}, unit)
    ref = widgets.reference_panel(mol)              # "Compute DFT reference" + progress
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mepviz import MoleculeInputError
from mepviz.core import registry
from mepviz.core.units import DEBYE_PER_E_ANGSTROM, POTENTIAL_UNITS, convert_potential
from mepviz.surface.colors import PLOTLY_COLORSCALE, SCALES

from . import compute, state

RANGE_MODES = {"auto": "max |V|", "p98": "98th percentile of |V|", "fixed": "fixed"}


def scale_control(container=None) -> None:
    """The colour-scale rule (key w_scale): automatic (symmetric about 0 for neutral molecules,
    min–max for ions), symmetric about 0, min–max, centred on the mean. Kept in the URL."""
    state.setting_widget(st.selectbox, "Colour scale", "scale", container=container, options=list(SCALES),
                         format_func=lambda r: SCALES[r],
                         help="Ions have one sign over their whole surface: on a scale symmetric about 0 "
                              "they are one flat colour. Min–max and centred-on-mean put white elsewhere "
                              "and mark 0 on the colour bar.")


def display_controls(container=None, *, model: bool = True, surface: bool = True,
                     unit: bool = True, opacity: bool = True, labels: bool = True,
                     rng: bool = True) -> dict:
    """Model / surface / range / unit / opacity / label controls bound to shared settings.

    Widget keys (AppTest): w_model, w_surface, w_unit, w_range_mode, w_range_fixed,
    w_opacity, w_show_charges, w_show_markers. Returns the current values as a dict.
    """
    c = container if container is not None else st
    if model:
        state.setting_widget(st.selectbox, "Model", "model", container=c, options=list(compute.model_names()),
                             format_func=lambda m: compute.MODEL_LABELS.get(m, m),
                             help="Both are the same network; the quadrupole model was also "
                                  "fitted to the DFT quadrupole moment.")
    if surface:
        state.setting_widget(st.selectbox, "Surface", "surface", container=c, options=list(compute.surface_kinds()),
                             format_func=lambda k: compute.SURFACE_LABELS.get(k, k))
        if state.get_setting("surface") == "isodensity":
            isovalue_control(c)
    if unit:
        state.setting_widget(st.selectbox, "Potential unit", "unit", container=c,
                             options=list(registry.POTENTIAL_UNIT_NAMES))
    if rng:
        scale_control(c)
        state.setting_widget(st.selectbox, "Colour range", "range_mode", container=c,
                             options=list(RANGE_MODES), format_func=lambda m: RANGE_MODES[m],
                             help="The width of the colour scale: the largest value, the 98th "
                                  "percentile, or a fixed half-width.")
        if state.get_setting("range_mode") == "fixed":
            state.setting_widget(st.number_input, "± range (kcal/mol/e)", "range_fixed", container=c,
                                 min_value=1.0, max_value=500.0, step=5.0)
    if opacity:
        state.setting_widget(st.slider, "Surface opacity", "opacity", container=c,
                             min_value=0.1, max_value=1.0, step=0.05)
    if labels:
        state.setting_widget(st.checkbox, "Label atoms with charges", "show_charges", container=c)
        state.setting_widget(st.checkbox, "Mark V_s,min / V_s,max", "show_markers", container=c)
        state.setting_widget(st.checkbox, "Mark all local extrema", "show_extrema", container=c,
                             help="Every local minimum (dark red) and maximum (dark blue) of the "
                                  "potential on the surface, as listed under Extrema & indices.")
    return {k: state.get_setting(k) for k in state.DEFAULTS}


def isovalue_control(container=None) -> None:
    """The isodensity value: 0.001 e/bohr³ (default), 0.002, or a custom value (keys
    w_isovalue, w_isovalue_custom)."""
    from .surfacekinds import ISOVALUE_RANGE, PRESET_ISOVALUES
    c = container if container is not None else st
    current = float(state.get_setting("isovalue"))
    ss = st.session_state
    if "w_isovalue" not in ss:
        ss["w_isovalue"] = current if current in PRESET_ISOVALUES else "custom"

    def _pick():
        if ss["w_isovalue"] != "custom":
            state.set_setting("isovalue", float(ss["w_isovalue"]))

    c.selectbox("Isodensity value (e/bohr³)", [*PRESET_ISOVALUES, "custom"], key="w_isovalue",
                on_change=_pick, format_func=lambda v: v if v == "custom" else f"{v:g}",
                help="0.001 e/bohr³ is the usual MEP surface (Bader); 0.002 lies closer to the nuclei.")
    if ss["w_isovalue"] == "custom":
        if "w_isovalue_custom" not in ss:
            ss["w_isovalue_custom"] = current

        def _custom():
            state.set_setting("isovalue", float(ss["w_isovalue_custom"]))

        c.number_input("Custom value (e/bohr³)", min_value=ISOVALUE_RANGE[0], max_value=ISOVALUE_RANGE[1],
                       step=0.0005, format="%.4f", key="w_isovalue_custom", on_change=_custom)


def _fmt(x: float, d: int = 3) -> str:
    x = float(x)
    if abs(x) < 0.5 * 10 ** -d:
        x = 0.0                      # no "−0.000"
    return f"{x:.{d}f}".replace("-", "−")


def about_com(charge: int) -> str:
    """' about the centre of mass' for an ion (its dipole depends on the origin), else ''."""
    return " about the centre of mass" if int(charge) else ""


def multipole_panel(dipole, quadrupole, *, title: str | None = None, container=None, charge: int = 0) -> None:
    """μ (vector and |μ| in D) and Θ (tensor and eigenvalues in D·Å) from e·Å / e·Å² arrays
    (about the centre of mass; for an ion (`charge` ≠ 0) the labels say so)."""
    c = container if container is not None else st
    mu = np.asarray(dipole, float) * DEBYE_PER_E_ANGSTROM
    th = np.asarray(quadrupole, float) * DEBYE_PER_E_ANGSTROM
    if title:
        c.markdown(f"**{title}**")
    c.metric(f"|μ| (D{', about the centre of mass' if charge else ''})", f"{np.linalg.norm(mu):.3f}")
    c.markdown(f"μ (D){about_com(charge)} = (" + ", ".join(_fmt(x) for x in mu) + ")")
    if charge:
        c.caption(f"An ion (total charge {int(charge):+d} e): its dipole depends on the origin, "
                  "μ(o) = μ(0) − Q·o; shown about the centre of mass.")
    c.markdown("Θ (D·Å), traceless, about the centre of mass:")
    c.dataframe(pd.DataFrame(th, index=["x", "y", "z"], columns=["x", "y", "z"]).round(3),
                width="content")
    ev = np.linalg.eigvalsh(0.5 * (th + th.T))
    c.markdown("Θ eigenvalues (D·Å): " + ", ".join(_fmt(x) for x in ev))


def charges_table(mol, charges, container=None, extra: dict | None = None) -> pd.DataFrame:
    """Per-atom table: index, element, charge (e), plus optional extra columns."""
    c = container if container is not None else st
    df = pd.DataFrame({"atom": np.arange(1, mol.n_atoms + 1), "element": mol.symbols,
                       "charge (e)": np.round(np.asarray(charges, float), 4)})
    for k, v in (extra or {}).items():
        df[k] = v
    c.dataframe(df, hide_index=True, width="stretch", height=min(35 * (len(df) + 1) + 3, 320))
    return df


def statistics_table(stats_by_label: dict, unit: str, container=None) -> pd.DataFrame:
    """Surface statistics (V_s,min, V_s,max, mean, σ², ...) side by side, in `unit`."""
    c = container if container is not None else st
    f = POTENTIAL_UNITS[unit]
    rows = {}
    for label, s in stats_by_label.items():
        rows[label] = {
            f"V_s,min ({unit})": s["v_min"] * f,
            f"V_s,max ({unit})": s["v_max"] * f,
            f"mean ({unit})": s["mean"] * f,
            f"σ²_tot ({unit}²)": s["variance_total"] * f * f,
            f"mean of V>0 ({unit})": s["mean_positive"] * f,
            f"mean of V<0 ({unit})": s["mean_negative"] * f,
            "positive area fraction": s["positive_fraction"],
            "points": s["n_points"],
        }
    df = pd.DataFrame(rows)
    c.dataframe(df.round(3 if unit != "V" else 4), width="stretch")
    return df


def _fmt_s(s: float | None) -> str:
    if s is None:
        return "?"
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"


def queue_caption(container=None) -> None:
    """One line: the server's DFT queue (running / waiting / limits)."""
    from .jobs import job_manager
    q = job_manager().queue_state()
    (container if container is not None else st).caption(
        f"DFT queue on this server: {q['running']} running, {q['queued']} waiting "
        f"(at most {q['max_queue']} waiting, {q['per_client']} per browser, "
        f"time budget {_fmt_s(q['budget_s'])} of CPU time per job).")


def _withdrawn() -> set:
    return st.session_state.setdefault("mepviz_dft_withdrawn", set())


def reference_panel(mol, kind: str = "isodensity", *, key: str = "dft", poll_s: float = 1.0,
                    container=None):
    """The DFT reference of `mol` and its MEP on surface `kind`: returns (ReferenceResult,
    values kcal/mol/e) when both are available (gallery, disk cache, a finished job), else
    None after showing the "Compute DFT reference" action, the job's progress or its outcome.

    Everything runs in a worker process (appkit.jobs); while a job runs, a fragment re-runs
    every `poll_s` seconds and reruns the whole page when it ends. When the reference exists
    but not yet on this surface, the MEP job starts by itself.
    """
    from . import applicability
    from .jobs import JobRefused, current_client, current_session_id, job_manager
    c = container if container is not None else st
    ref = compute.reference_result(mol)
    try:
        values = compute.reference_values(mol, kind)
    except MoleculeInputError as exc:         # no such surface for it (e.g. U on an isodensity surface)
        c.error(f"No DFT reference on this surface: {exc}", icon="🚫")
        return None
    if ref is not None and values is not None:
        return ref, values
    refusal = applicability.dft_refusal(mol)
    if refusal:
        c.error(f"No DFT reference for this molecule: {refusal}", icon="🚫")
        return None
    jm = job_manager()
    sid = current_session_id()
    jid = jm.job_id(mol, kind)
    status = jm.status(jid)
    mine = jid in _withdrawn()
    if status is not None and status.active and not mine:
        if sid not in status.owners:
            jm.submit(mol, kind, sid, client=current_client())   # watching a job started elsewhere: join it
        _progress_fragment(jid, sid, poll_s, key)
        return None
    try:
        est, calibrated = compute.estimate_reference_seconds(mol, kind)
    except MoleculeInputError as exc:
        c.warning(f"The DFT reference cannot be set up: {exc}")
        return None

    def _start():
        _withdrawn().discard(jid)
        try:
            jm.submit(mol, kind, sid, estimate_s=est, client=current_client())
        except JobRefused as exc:
            st.session_state[f"{key}_refused"] = (jid, str(exc))
        else:
            st.session_state.pop(f"{key}_refused", None)

    if status is None and ref is not None and not mine:
        _start()                          # only the potential on this surface is missing
        if jm.status(jid) is not None:
            st.rerun()
    refused = st.session_state.get(f"{key}_refused")
    if refused and refused[0] == jid:            # (for this molecule and surface only)
        c.warning(refused[1], icon="⏳")
    elif mine or (status is not None and status.state == "cancelled"):
        c.info("The DFT reference was cancelled.", icon="⏹️")
    elif status is not None and status.state == "timeout":
        c.warning(f"The DFT reference was stopped: {status.error}", icon="⏱️")
    elif status is not None and status.state == "lost":
        c.warning(status.error, icon="🔌")
    elif status is not None and status.state == "error":
        c.error(f"The DFT reference failed: {status.error}")
    what = ("the reference potential on this surface" if ref is not None else
            "B3LYP/6-31G(2df,p) with density fitting (PySCF), QM9's level of theory")
    c.caption(f"{what}; runs in a background worker, the page stays usable. Estimated "
              f"{_fmt_s(est)} of CPU time on this server ({'from its finished jobs' if calibrated else 'rough'}; "
              f"budget {_fmt_s(jm.budget_s)} of CPU time).")
    c.button("Compute DFT reference", key=f"{key}_start", type="primary", on_click=_start)
    queue_caption(c)
    return None


def _progress_fragment(jid: str, sid: str, poll_s: float, key: str):
    from .jobs import job_manager

    @st.fragment(run_every=poll_s)
    def _poll():
        jm = job_manager()
        s = jm.status(jid)
        if s is None or not s.active:
            st.rerun(scope="app")
        if s.state == "queued":
            st.progress(0.0, text=f"DFT reference waiting in the queue: position {s.position} "
                                  f"(estimate {_fmt_s(s.estimate_s)} once it starts)")
        else:
            eta = s.remaining_s
            budget = (f"CPU time {_fmt_s(s.used_s)} of its budget of {_fmt_s(jm.budget_s)}"
                      + (f", estimate {_fmt_s(s.estimate_s)}" if s.estimate_s is not None else ""))
            if eta is not None:
                left = f", about {_fmt_s(eta)} left ({budget})"
            elif s.estimate_s is not None:
                left = f", longer than estimated ({budget}; it stops at the budget)"
            else:
                left = f" ({budget})"
            st.progress(min(max(s.fraction, 0.0), 1.0),
                        text=f"DFT reference running: {s.message} — {_fmt_s(s.elapsed_s)} elapsed{left}")
        if sid in s.owners and st.button("Cancel", key=f"{key}_cancel"):
            jm.cancel(jid, sid)
            _withdrawn().add(jid)
            st.rerun(scope="app")
        if len(s.owners) > 1:
            st.caption(f"{len(s.owners)} browser sessions are waiting for this job; it stops when "
                       "none of them wants it any more.")
        queue_caption()

    _poll()


def extrema_error(model: str) -> dict:
    """Typical test-set errors (kcal/mol/e) of the model's surface extrema, from
    weights/evaluation.json (``models/<model>/extrema``: v_min_mae, v_max_mae) when the
    evaluation wrote them; {} otherwise."""
    try:
        from mepviz.report.metrics import load_evaluation
        doc = load_evaluation() or {}
    except (ValueError, OSError):
        return {}
    ext = ((doc.get("models") or {}).get(model) or {}).get("extrema") or {}
    return {k: float(ext[k]) for k in ("v_min_mae", "v_max_mae") if isinstance(ext.get(k), (int, float))}


def surface_analysis(mol, surface, values, unit: str, *, label: str, key: str,
                     model: str | None = None, container=None) -> None:
    """Local surface extrema (V_s,min / V_s,max with nearest atoms), Murray–Politzer indices
    and the area-vs-potential histogram of `values` (kcal/mol/e) on `surface`."""
    import plotly.graph_objects as go

    from mepviz.surface.extrema import area_histogram, politzer_indices
    c = container if container is not None else st
    f = POTENTIAL_UNITS[unit]
    ext = compute.local_extrema(surface, values, mol.positions)
    err = extrema_error(model) if model else {}
    rows = []
    for e in ext:
        row = {"": "V_s,min" if e.kind == "min" else "V_s,max", f"V ({unit})": e.value * f,
               "nearest atom": f"{mol.symbols[e.atom]}{e.atom + 1}", "distance (Å)": e.atom_distance}
        if err:
            typ = err.get(f"v_{e.kind}_mae")
            row[f"typical error ({unit})"] = None if typ is None else typ * f
        rows.append(row)
    c.markdown(f"**Local surface extrema — {label}** ({sum(e.kind == 'min' for e in ext)} minima, "
               f"{sum(e.kind == 'max' for e in ext)} maxima)")
    c.dataframe(pd.DataFrame(rows).round(3), hide_index=True, width="stretch", key=f"{key}_extrema",
                height=min(35 * (len(rows) + 1) + 3, 300))
    if model and err:
        c.caption("Typical error: mean absolute error of this model's V_s,min / V_s,max against "
                  "DFT on the test set (weights/evaluation.json).")
    elif model:
        c.caption("ML extrema: read them with the model's MEP error in mind (Compare page, "
                  "test-set results); each is the lowest/highest value within 1 Å on the surface.")
    p = politzer_indices(values, getattr(surface, "vertex_areas", None))
    c.markdown("**Murray–Politzer indices**")
    c.dataframe(pd.DataFrame({"index": [
        f"V̄s ({unit})", f"V̄s⁺ ({unit})", f"V̄s⁻ ({unit})", f"σ²₊ ({unit}²)", f"σ²₋ ({unit}²)",
        f"σ²tot ({unit}²)", "ν (balance, 0–0.25)", f"Π ({unit})", "positive area (Å²)", "negative area (Å²)"],
        "value": [p["mean"] * f, p["mean_positive"] * f, p["mean_negative"] * f,
                  p["sigma2_positive"] * f * f, p["sigma2_negative"] * f * f, p["sigma2_total"] * f * f,
                  p["nu"], p["pi"] * f, p["positive_area"], p["negative_area"]]}).round(4),
        hide_index=True, width="stretch", key=f"{key}_politzer")
    edges, hist = area_histogram(np.asarray(values) * f, surface.vertex_areas)
    centers = 0.5 * (edges[1:] + edges[:-1])
    fig = go.Figure(go.Bar(x=centers, y=hist, width=np.diff(edges),
                           marker=dict(color=centers, colorscale=PLOTLY_COLORSCALE,
                                       cmin=-np.abs(centers).max(), cmax=np.abs(centers).max())))
    fig.update_layout(xaxis_title=f"MEP ({unit})", yaxis_title="surface area (Å²)", height=260,
                      margin=dict(l=10, r=10, t=10, b=10))
    c.plotly_chart(fig, key=f"{key}_hist")


def slice_panel(mol, prediction, vmax: float, unit: str, *, key: str = "slice", container=None,
                center: float = 0.0):
    """A 2D contour map of the ML MEP in a plane through the centre of mass (plotly), with the
    ρ = 0.001 e/bohr³ outline and the atoms near the plane; on the colour scale ±`vmax`
    (kcal/mol/e) of the 3D views. The slice is cached (compute.mep_slice); render the panel
    only where it is seen (e.g. inside an expander whose ``.open`` is True)."""
    import plotly.graph_objects as go

    from mepviz.surface.slices import PLANES
    c = container if container is not None else st
    ss = st.session_state
    labels = {"molecular": "molecular plane (two largest principal axes)", "xy": "xy", "xz": "xz", "yz": "yz"}
    kept = f"mepviz_{key}_plane"       # the choice survives the panel being closed (widget not rendered)

    def _keep():
        ss[kept] = ss[f"{key}_plane"]
    plane = c.selectbox("Plane through the centre of mass", PLANES, format_func=labels.get, key=f"{key}_plane",
                        index=PLANES.index(ss.get(kept, PLANES[0])), on_change=_keep)
    sl = compute.mep_slice(mol, prediction, plane)
    f = POTENTIAL_UNITS[unit]
    r = vmax * f
    c0 = center * f
    # float32 (7 significant digits) is plenty for a contour map and halves what the browser gets
    z = np.clip(np.nan_to_num(sl.values * f, nan=c0, posinf=c0 + r * 10, neginf=c0 - r * 10),
                c0 - 2 * r, c0 + 2 * r).astype(np.float32)
    fig = go.Figure()
    fig.add_trace(go.Contour(x=sl.a, y=sl.b, z=z, colorscale=PLOTLY_COLORSCALE, zmin=c0 - r, zmax=c0 + r,
                             contours=dict(start=c0 - r, end=c0 + r, size=r / 8), line=dict(width=0.5),
                             colorbar=dict(title=dict(text=unit, side="right")), name="MEP",
                             hovertemplate=f"%{{z:.2f}} {unit}<extra></extra>"))
    fig.add_trace(go.Contour(x=sl.a, y=sl.b, z=sl.density.astype(np.float32), showscale=False, hoverinfo="skip",
                             contours=dict(start=0.001, end=0.001, size=1, coloring="lines"),
                             line=dict(color="black", width=2), name="ρ = 0.001"))
    if sl.atoms:
        fig.add_trace(go.Scatter(x=[t[1] for t in sl.atoms], y=[t[2] for t in sl.atoms], mode="markers+text",
                                 text=[t[0] for t in sl.atoms], textposition="top center",
                                 marker=dict(color="black", size=6), name="atoms", hoverinfo="text"))
    fig.update_layout(height=460, margin=dict(l=10, r=10, t=10, b=10), showlegend=False,
                      xaxis_title="in-plane axis 1 (Å)", yaxis_title="in-plane axis 2 (Å)")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    c.plotly_chart(fig, key=f"{key}_fig")
    c.caption(f"Contours every {r / 8:.{3 if unit in ('V', 'hartree/e') else 1}f} {unit}; black line: the "
              "ρ = 0.001 e/bohr³ (promolecular) surface in this plane; labelled atoms lie within 1 Å of it. "
              "Inside the surface the point-multipole potential grows steeply towards the nuclei (clipped).")


def camera_control(mol, statistics=None, caps=None, *, key: str = "w_camera", container=None):
    """A selectbox of camera presets (mepviz.report.views.camera_presets: the whole molecule,
    onto V_s,max / V_s,min, down each halogen's bond onto its σ-hole, onto an atom, down a
    bond); returns the chosen :class:`~mepviz.report.views.CameraPreset` or None (default view).
    The choice is kept per molecule in the shared "camera" setting."""
    from mepviz.report.views import camera_presets
    c = container if container is not None else st
    presets = {p.key: p for p in camera_presets(mol, statistics, caps)}
    options = ["default", *presets]
    current = state.get_setting("camera")
    if current not in options:
        current = "default"
    if st.session_state.get(key) not in options:
        st.session_state[key] = current

    def _keep():
        state.set_setting("camera", st.session_state[key])
    pick = c.selectbox("Camera", options, key=key, on_change=_keep,
                       format_func=lambda k: "whole molecule" if k == "default" else presets[k].label,
                       help="Turn the view: onto V_s,max or V_s,min, down a halogen's bond onto its "
                            "σ-hole cap, onto an atom, or down a bond.")
    return presets.get(pick)


def cap_readout(mol, caps, maps: dict, unit: str, container=None) -> list[dict]:
    """The σ-hole cap value of each halogen (mepviz.surface.extrema.halogen_caps: the maximum of
    V within 15° of the A→X axis beyond X) for each map in `maps` (label → values on the
    surface of `caps`), as a small table; returns its rows."""
    c = container if container is not None else st
    f = POTENTIAL_UNITS[unit]
    rows = []
    for site in caps:
        row = {"σ-hole": f"{mol.symbols[site.halogen]}{site.halogen + 1} "
                         f"(bonded to {mol.symbols[site.partner]}{site.partner + 1})"}
        for label, values in maps.items():
            row[f"cap V, {label} ({unit})"] = round(site.value(values) * f, 3 if unit in ("V", "hartree/e") else 1)
        rows.append(row)
    if rows:
        c.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        c.caption("σ-hole cap: the largest V within 15° of the A→X bond axis beyond the halogen, on "
                  "this surface (positive: a σ-hole that binds Lewis bases).")
    return rows


def uncertainty_panel(mol, model: str, kind: str, unit: str, *, container=None, opacity: float = 0.85) -> bool:
    """The spread (standard deviation) of `model`'s ensemble (mepviz.core.registry.ENSEMBLES)
    on the surface, white (members agree) to blue (they disagree), with its calibration on the
    test sets as measured in weights/evaluation*.json. False when the model has no installed
    ensemble."""
    from mepviz.core.registry import ENSEMBLES

    from . import viewer
    c = container if container is not None else st
    got = compute.ensemble_spread(mol, model, kind)
    if got is None:
        members = ENSEMBLES.get(model)
        c.info(f"No uncertainty map for the {model} model: " + (
            f"its ensemble ({', '.join(members)}) is not fully installed." if members else
            "it has no ensemble (mepviz.core.registry.ENSEMBLES)."), icon="ℹ️")
        return False
    _, spread = got
    surf = compute.surface(mol, kind)
    top = float(spread.max()) if spread.size else 1.0
    from mepviz.report.views import spread_bar_html
    viewer.show_mep(mol, surf, spread, vmax=max(top, 1e-6), center=0.0, unit=unit, opacity=opacity,
                    markers=False, height=360, container=c, colorbar=False, element_id="explore-uncertainty")
    c.html(spread_bar_html(max(top, 1e-6), unit, "ensemble spread (standard deviation)"))
    f = POTENTIAL_UNITS[unit]
    c.caption(f"Standard deviation of the MEP over the {len(ENSEMBLES[model])} independently trained members "
              f"({', '.join(ENSEMBLES[model])}): white where they agree, blue where they disagree (largest "
              f"{top * f:.2f} {unit}, mean {float(spread.mean()) * f:.2f} {unit}).")
    calibration_table(model, container=c, key="explore_calibration")
    return True


def calibration_table(model: str, *, container=None, key: str = "calibration") -> list[dict]:
    """The calibration of `model`'s uncertainty map on every test set, as written in
    weights/evaluation*.json (``uncertainty``, train.evaluate.ensemble_calibration): Spearman
    rank correlation between the ensemble spread and the true |error| against DFT. Says so
    when it has not been measured. Returns the rows shown."""
    from mepviz.ml.ensemble import calibration_rows
    from mepviz.report import claims
    c = container if container is not None else st
    try:
        rows = calibration_rows(*claims.load_documents(), model)
    except ValueError:
        rows = []
    if rows:
        c.markdown("**Does high spread mark high error?** Spearman rank correlation between the spread and the "
                   "true |error| against DFT on the test sets (1: perfect ranking, 0: none)")
        c.dataframe(pd.DataFrame(rows).round(3), hide_index=True, width="stretch", key=key)
    else:
        c.caption(f"The calibration of the {model} model's uncertainty map on the test sets has not been "
                  "measured yet (train.evaluate / train.evaluate_sets write it into weights/evaluation*.json).")
    return rows
