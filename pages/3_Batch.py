"""Batch page: many molecules at once, the default model and the paper's pair, tables and downloads."""
from __future__ import annotations

import hashlib
import time

import streamlit as st

from appkit import compute
from mepviz.core import limits, paths, registry
from mepviz.core.elements import model_element_names
from mepviz.core.molecule import MoleculeInputError
from mepviz.io import export
from mepviz.io.records import split_records
from mepviz.report import batch
from mepviz.surface.names import label as surface_label

STATE = "batch_page"
EXAMPLE = paths.examples_dir() / "batch_example.xyz"


# ------------------------------------------------------------------ models (cached)
def _predictors() -> dict:
    return {name: compute.get_predictor(name) for name in registry.BATCH_MODELS}


def _column_config():
    cfg = {"record": st.column_config.NumberColumn("#", help="record number in the file"),
           "structure": st.column_config.ImageColumn("structure", width="small"),
           "n_atoms": st.column_config.NumberColumn("atoms"),
           "charge": st.column_config.NumberColumn("charge (e)")}
    for m in registry.BATCH_MODELS:
        for col, lab in batch.COLUMN_LABELS.items():
            cfg[f"{col}_{m}"] = st.column_config.NumberColumn(
                f"{lab} · {m}", format="%.2f", help=batch.COLUMN_HELP.get(col, lab) + f" — {m} model")
    return cfg


# ------------------------------------------------------------------ page
try:
    st.set_page_config(page_title="Batch predictions · MEPviz", page_icon="⚡", layout="wide")
except Exception:   # already configured
    pass
st.title("Batch predictions")
st.sidebar.caption("The batch page works on its own uploaded file; the current molecule of the "
                   "other pages is left as it is.")
st.markdown(
    "Upload one file with many molecules and get, for **the MEP-trained model and the paper's pair** "
    "(dipole and quadrupole models), the dipole moment μ, "
    "|μ|, the principal values of the quadrupole Θ (about the centre of mass) and the extreme "
    "surface potentials V_s,min / V_s,max, with downloads.")
st.info(
    f"**Limits:** one **.smi** (one SMILES per line, optional name after it), multi-molecule "
    f"**.xyz** or **.sdf** file, at most "
    f"**{limits.MAX_FRAMES} molecules** and **{limits.MAX_ATOMS} atoms per "
    f"molecule**, {limits.MAX_FILE_BYTES / 1e6:.0f} MB, {limits.MAX_BATCH_CPU_SECONDS:.0f} s of CPU per batch "
    f"(`python -m mepviz batch` has no such limit); elements {model_element_names()} "
    "(what the models were trained on). Records that cannot be read are listed and skipped; "
    "the rest of the batch goes on.", icon="ℹ️")

c1, c2 = st.columns([2, 1])
with c1:
    # no `type=` filter: a wrong file type gets the library's specific message instead
    upload = st.file_uploader("SMILES list, multi-molecule XYZ or SDF file (.smi, .xyz, .sdf)",
                              key="batch_upload")
with c2:
    surface = st.selectbox("Surface for V_s,min / V_s,max", list(registry.SURFACE_KINDS),
                           format_func=surface_label, key="batch_surface")

if upload is not None:
    filename, data = upload.name, upload.getvalue()
else:
    st.caption("Format: a multi-frame XYZ (count line, comment line, one line per atom, repeated) "
               "or an SDF with records separated by `$$$$`. An XYZ comment line may carry "
               "`charge=` and `multiplicity=`; without them a molecule is taken as neutral.")
    e1, e2 = st.columns([3, 1])
    use_example = e1.checkbox(
        "No file at hand? Use the example file (12 molecules)", key="batch_example",
        help="10 molecules from the QM9 test set, acetate with `charge=-1` on its comment line, "
             "and a silane that the models cannot handle (it is listed as an error).")
    e2.download_button("Download the example", EXAMPLE.read_bytes(), EXAMPLE.name, "chemical/x-xyz",
                       key="dl_example")
    if not use_example:
        st.session_state.pop(STATE, None)
        st.stop()
    filename, data = EXAMPLE.name, EXAMPLE.read_bytes()

key = (hashlib.sha256(data).hexdigest(), filename, surface)
state = st.session_state.get(STATE)
if state is None or state.get("key") != key:
    try:
        records = split_records(data, filename)
    except MoleculeInputError as exc:
        st.session_state.pop(STATE, None)
        st.error(f"Cannot process this file: {exc}", icon="🚫")
        st.stop()
    try:
        predictors = _predictors()
    except (compute.ModelUnavailable, FileNotFoundError) as exc:
        st.error(f"The models are not available: {exc}", icon="🚫")
        st.stop()
    bar = st.progress(0.0, text=f"Predicting {len(records)} molecules …")
    t0 = time.perf_counter()

    def _progress(i, n, label):
        bar.progress(min(i / max(n, 1), 1.0),
                     text=f"Molecule {min(i + 1, n)} of {n}: {label}" if i < n else "Done")

    result = batch.run_batch(records, predictors, surface=surface, progress=_progress)
    bar.empty()
    state = {"key": key, "result": result, "seconds": time.perf_counter() - t0,
             "filename": filename}
    st.session_state[STATE] = state

result: batch.BatchResult = state["result"]
n_ok, n_bad = len(result.rows), len(result.errors)
if n_ok:
    st.success(f"{n_ok} of {result.n_records} molecules predicted with all three models in "
               f"{state['seconds']:.1f} s.", icon="✅")
if n_bad:
    msg = (f"{n_bad} of {result.n_records} records could not be processed and were skipped "
           "(details below).")
    (st.warning if n_ok else st.error)(msg, icon="⚠️")
    with st.expander(f"Records with errors ({n_bad})", expanded=not n_ok or n_bad <= 10):
        st.dataframe(result.error_dataframe(), hide_index=True, width="stretch",
                     column_config={"record": st.column_config.NumberColumn("#"),
                                    "error": st.column_config.TextColumn("problem", width="large")})
if not n_ok:
    st.stop()

df = result.dataframe()
from appkit.thumbs import thumbnail

df.insert(1, "structure", [thumbnail(m) for m in result.molecules])
st.subheader("Results")
st.caption(f"Surface: {surface_label(result.surface)}. μ in debye (D) and Θ eigenvalues in D·Å (ascending, "
           "traceless: they sum to zero), both about the centre of mass (an ion's depend on the origin); "
           "potentials in kcal/mol/e.")
show_components = st.checkbox("Show the μ components (x, y, z)", value=False, key="batch_components")
shown = [c for c in df.columns if show_components or not c.startswith(("mu_x", "mu_y", "mu_z"))]
st.dataframe(df[shown], hide_index=True, width="stretch", column_config=_column_config(), key="batch_table")

if len(df) >= 2:
    with st.expander("The paper's two models across this batch", expanded=False):
        import plotly.graph_objects as go
        pc = st.columns(2)
        for col, (quantity, label) in zip(pc, (("mu_abs_D", "|μ| (D)"),
                                               ("Vs_min_kcal", "V_s,min (kcal/mol/e)"))):
            x, y = df[f"{quantity}_dipole"], df[f"{quantity}_quadrupole"]
            lo, hi = float(min(x.min(), y.min())), float(max(x.max(), y.max()))
            fig = go.Figure([go.Scatter(x=x, y=y, mode="markers", text=df["name"], name="molecule",
                                        marker=dict(color="#1b9e77", size=7, opacity=0.75)),
                             go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="equal",
                                        line=dict(color="black", dash="dash", width=1))])
            fig.update_layout(xaxis_title=f"{label}, dipole model", yaxis_title=f"{label}, quadrupole model",
                              height=340, margin=dict(l=10, r=10, t=30, b=10), showlegend=False)
            col.plotly_chart(fig, key=f"batch_pair_{quantity}")
        st.caption("Each point is one molecule; on the dashed line the dipole and quadrupole models agree. Both were "
                   "fitted to the dipole, so differences in V_s,min reflect the *shape* of the predicted "
                   "charge distribution, which only the quadrupole model was trained on.")

# ------------------------------------------------------------------ downloads
stem = state["filename"].rsplit(".", 1)[0] or "batch"
st.subheader("Downloads")
charge_model = st.radio("Atomic charges in SDF / PQR from", registry.BATCH_MODELS, index=0,
                        horizontal=True, format_func=lambda m: f"{m} model", key="batch_charge_model")
d1, d2, d3, d4 = st.columns(4)
# downloads are generated when clicked (callables), so reruns stay fast for big batches
d1.download_button("Table (CSV)", lambda r=result: export.batch_csv(r), f"{stem}_mepviz.csv", "text/csv",
                   key="dl_csv")
d2.download_button("Everything (JSON)", lambda r=result: export.batch_json(r), f"{stem}_mepviz.json",
                   "application/json", key="dl_json")
# every record appears in every download, a failed one with its error (nothing silently absent)
failed = {"records": [r["record"] for r in result.rows], "errors": result.errors}
d3.download_button("Charges (SDF)",
                   lambda r=result, m=charge_model: export.charges_sdf(r.molecules, r.predictions, m, **failed),
                   f"{stem}_charges_{charge_model}.sdf", "chemical/x-mdl-sdfile", key="dl_sdf")
d4.download_button("Charges (PQR)",
                   lambda r=result, m=charge_model: export.charges_pqr(r.molecules, r.predictions, m, **failed),
                   f"{stem}_charges_{charge_model}.pqr", "chemical/x-pqr", key="dl_pqr")
st.caption("CSV: the table above (all columns), plus a row with its error for each record that failed. "
           "JSON: per molecule the full μ and Θ tensors, "
           "atomic charges and surface statistics of every model; a failed record as an entry with its error. "
           "SDF: 3D coordinates, bonds and formal charges, the chosen model's atomic charges as the "
           "property MEPviz_atomic_charges; PQR: coordinates with those charges (radii: Bondi); "
           "charges are rounded so that they add up exactly to each molecule's total charge. "
           "A failed record appears in the SDF as an empty entry with MEPVIZ_ERROR, in the PQR as a REMARK.")

st.markdown("**One molecule**: the MEP and the (promolecular) electron density on one grid as "
            "Gaussian cube files (hartree/e and e/bohr³, lengths in bohr; open both in VMD, Jmol, "
            "Avogadro, ChimeraX or GaussView and map the MEP onto the density's 0.001 isosurface; "
            "MEP values are clipped near the nuclei, where point multipoles diverge).")
labels = [f"{r['record']}: {r['name']} ({r['formula']})" for r in result.rows]
s1, s2 = st.columns([2, 1])
with s1:
    sel = st.selectbox("Molecule", range(len(labels)), format_func=labels.__getitem__, key="batch_sel")
with s2:
    cube_model = st.selectbox("Model", registry.BATCH_MODELS, index=0, key="batch_cube_model")
mol = result.molecules[sel]
pred = result.predictions[sel][cube_model]
safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in (result.rows[sel]["name"] or "mol"))[:40]
e1, e3, e2 = st.columns(3)
e1.download_button("MEP cube file", lambda p=pred: export.mep_and_density_cubes(p)[0], f"{safe}_{cube_model}.cube",
                   "chemical/x-cube", key="dl_cube")
e3.download_button("Density cube file", lambda p=pred: export.mep_and_density_cubes(p)[1], f"{safe}_density.cube",
                   "chemical/x-cube", key="dl_density_cube")
e2.download_button("Charges of this molecule (PQR)",
                   export.charges_pqr([mol], [result.predictions[sel]], cube_model),
                   f"{safe}_{cube_model}.pqr", "chemical/x-pqr", key="dl_pqr_one")
