"""Lecture-ready lessons of the Learn page (mepviz.report.learn.LESSONS), each a shareable link
``Learn?lesson=<id>`` (``&lecture=1``: lecture mode — large fonts, no sidebar, ←/→ keys step
through the lessons; ``&lesson_scale=shared-minmax|own``: the colour-scale choice).

    from appkit import lessons
    lessons.show_index()                       # links to every lesson
    if lessons.current(): lessons.show(lessons.current())

Every lesson shows its molecules side by side on ONE colour scale (its rule from the lesson,
shared by all panels); the σ-hole lesson shows DFT next to every model for CF3Cl,
chlorobenzene and iodobenzene (the stored DFT references of data/newchem/sigma_hole.npz,
the geometry they were computed at) with the cap value of each map read out.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from mepviz import MoleculeInputError
from mepviz.core import registry
from mepviz.core.paths import project_file
from mepviz.core.units import POTENTIAL_UNITS
from mepviz.ml import cards as model_cards
from mepviz.report import learn
from mepviz.surface.colors import color_scale
from mepviz.surface.extrema import halogen_caps

from . import compute, state, viewer

PARAM, LECTURE = "lesson", "lecture"
#: URL parameter of a contrast lesson's colour-scale choice (SCALE_CHOICES; absent: "shared")
SCALE_PARAM = "lesson_scale"
SIGMA_HOLE_FILE = "data/newchem/sigma_hole.npz"
ORDER = tuple(learn.LESSONS)
#: the contrast lessons' colour-scale choices (the lesson's own shared rule first)
SCALE_CHOICES = {"shared": "one scale for both ({rule})", "shared-minmax": "one scale for both, min–max",
                 "own": "each its own min–max scale"}
SCALES_SHORT = {"symmetric": "symmetric about 0", "minmax": "min–max", "mean": "centred on the mean",
                "auto": "automatic"}


def current():
    """The lesson named in the URL (``?lesson=<id>``), or None."""
    return learn.LESSONS.get(st.query_params.get(PARAM) or "")


def lecture_mode() -> bool:
    return st.query_params.get(LECTURE) in ("1", "true", "yes")


def link(lesson_id: str, lecture: bool = False) -> str:
    """The shareable link of a lesson, relative to the app (``Learn?lesson=…``)."""
    return f"Learn?{PARAM}={lesson_id}" + (f"&{LECTURE}=1" if lecture else "")


def _go(lesson_id: str | None, lecture: bool | None = None) -> None:
    if lesson_id is None:
        st.query_params.pop(PARAM, None)
        st.query_params.pop(LECTURE, None)
        st.query_params.pop(SCALE_PARAM, None)
    else:
        st.query_params[PARAM] = lesson_id
    if lecture is not None:
        if lecture:
            st.query_params[LECTURE] = "1"
        else:
            st.query_params.pop(LECTURE, None)


def show_index(container=None) -> None:
    """The lessons: a button that opens each here, and its shareable link."""
    c = container if container is not None else st
    c.subheader("Lessons (shareable links, lecture mode)")
    for ls in learn.LESSONS.values():
        a, b = c.columns([3, 2])
        a.button(ls.title, key=f"lesson_open_{ls.id}", on_click=_go, args=(ls.id,), width="stretch")
        b.markdown(f"[link]({link(ls.id)}) · [lecture mode]({link(ls.id, True)})")


LECTURE_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stSidebarNav"],
header[data-testid="stHeader"] { display: none !important; }
.stMainBlockContainer, .block-container { max-width: 100% !important; padding-top: 1rem !important; }
.stMarkdown p, .stMarkdown li, [data-testid="stCaptionContainer"] { font-size: 1.45rem !important; line-height: 1.45; }
h1 { font-size: 3rem !important; } h2, h3 { font-size: 2.2rem !important; }
button p { font-size: 1.3rem !important; }
</style>"""

KEYS_JS = """<script>
(function () {
  var doc = window.parent.document;
  if (doc.__mepvizLessonKeys) return;
  doc.__mepvizLessonKeys = true;
  doc.addEventListener("keydown", function (e) {
    var t = e.target && e.target.tagName;
    if (t === "INPUT" || t === "TEXTAREA" || t === "SELECT") return;
    var want = (e.key === "ArrowRight" || e.key === "PageDown") ? "Next lesson" :
               (e.key === "ArrowLeft" || e.key === "PageUp") ? "Previous lesson" : null;
    if (!want) return;
    var b = Array.from(doc.querySelectorAll("button")).find(function (x) { return x.innerText.indexOf(want) >= 0; });
    if (b) { e.preventDefault(); b.click(); }
  });
})();
</script>"""


def lecture_setup() -> None:
    """Lecture mode: large fonts and no sidebar (CSS), ←/→ (PageUp/PageDown) step through lessons."""
    st.html(LECTURE_CSS)


def keyboard() -> None:
    st.iframe(KEYS_JS, height=1)


def navigation(lesson) -> None:
    """Previous / next lesson buttons, lecture-mode toggle, the back link and the shareable link."""
    k = ORDER.index(lesson.id)
    lecture = lecture_mode()
    c1, c2, c3, c4 = st.columns([1, 1, 1, 2])
    c1.button("◀ Previous lesson", key="lesson_prev", disabled=k == 0, width="stretch",
              on_click=_go, args=(ORDER[max(k - 1, 0)],))
    c2.button("Next lesson ▶", key="lesson_next", disabled=k == len(ORDER) - 1, width="stretch",
              on_click=_go, args=(ORDER[min(k + 1, len(ORDER) - 1)],))
    c3.button("Leave lecture mode" if lecture else "Lecture mode", key="lesson_lecture", width="stretch",
              on_click=_go, args=(lesson.id, not lecture))
    c4.button("All lessons / the Learn page", key="lesson_back", on_click=_go, args=(None,))
    st.caption(f"Lesson {k + 1} of {len(ORDER)} · link: {link(lesson.id)} · "
               "keys ← / → step through the lessons.")
    keyboard()


@st.cache_data(show_spinner=False, max_entries=32)
def _molecule(smiles: str, name: str):
    from mepviz.io import from_smiles
    return replace(from_smiles(smiles), name=name)


@st.cache_data(show_spinner=False, max_entries=4)
def _sigma_hole_set(path: str):
    from mepviz.report.metrics import load_test_set
    return {t.mol.name: t for t in load_test_set(path)}


def lesson_models() -> tuple[str, ...]:
    """The paper's pair, then the default model when it is another one (e.g. MEP-trained)."""
    return registry.PAPER_PAIR + tuple(m for m in (registry.DEFAULT_MODEL,)
                                       if m not in registry.PAPER_PAIR and model_cards.weights_present(m))


def show(lesson) -> None:
    """Render one lesson (its title, text, side-by-side panels on one scale, what to look for)."""
    if lecture_mode():
        lecture_setup()
    st.header(lesson.title)
    navigation(lesson)
    st.markdown(lesson.text)
    unit = state.get_setting("unit")
    if lesson.sigma_hole:
        _sigma_hole(lesson, unit)
    else:
        _contrast(lesson, unit)
    st.info(lesson.look_for, icon="👀")


def _contrast(lesson, unit: str) -> None:
    models = lesson_models()
    model = st.radio("Model", models, index=models.index(registry.DEFAULT_MODEL) if registry.DEFAULT_MODEL in models
                     else len(models) - 1, horizontal=True, key="lesson_model",
                     format_func=registry.model_label)
    maps = {}
    for label, smi in lesson.molecules:
        try:
            mol = _molecule(smi, label)
            maps[label] = (mol, compute.mep_map(mol, model, "isodensity"))
        except (MoleculeInputError, compute.ModelUnavailable) as exc:
            st.warning(f"{label}: {exc}")
    if not maps:
        return
    if "lesson_scale" not in st.session_state and st.query_params.get(SCALE_PARAM) in SCALE_CHOICES:
        st.session_state["lesson_scale"] = st.query_params[SCALE_PARAM]          # a shared link's choice
    how = st.radio("Colour scale", list(SCALE_CHOICES), horizontal=True, key="lesson_scale",
                   format_func=lambda k: SCALE_CHOICES[k].format(rule=SCALES_SHORT.get(lesson.scale, lesson.scale)))
    if how == "shared":
        st.query_params.pop(SCALE_PARAM, None)
    else:
        st.query_params[SCALE_PARAM] = how
    charge = max((abs(m.charge) for m, _ in maps.values()), default=0)
    shared = color_scale(*(mp.values for _, mp in maps.values()),
                         rule=lesson.scale if how == "shared" else "minmax", charge=charge)
    if how == "own":
        st.caption(f"Each molecule on its own min–max colour scale (white at the middle of its range, 0 marked "
                   f"on its bar): the structure within each, not a comparison of the two. "
                   f"{registry.model_label(model)}, ρ = 0.001 e/bohr³ isodensity surface.")
    else:
        st.caption(f"Both molecules on one colour scale ({compute.scale_caption(shared, unit)}), "
                   f"{registry.model_label(model)}, ρ = 0.001 e/bohr³ isodensity surface.")
    # both molecules in ONE 3D view (one iframe: 3Dmol.js loads once), each panel on its own camera
    cols = st.columns(len(maps))
    for col, (label, (mol, mp)) in zip(cols, maps.items()):
        q = f", charge {mol.charge:+d}" if mol.charge else ""
        col.markdown(f"**{label}** ({mol.formula}{q})")
    scales = [color_scale(mp.values, rule="minmax") if how == "own" else shared for _, mp in maps.values()]
    viewer.show_mep_side_by_side(
        [mol for mol, _ in maps.values()], [mp.surface for _, mp in maps.values()],
        [mp.values for _, mp in maps.values()],
        vmax=[sc.half_width for sc in scales] if how == "own" else shared.half_width,
        center=[sc.center for sc in scales] if how == "own" else shared.center,
        unit=unit, statistics=[mp.statistics for _, mp in maps.values()], height=420,
        element_id=f"lesson-{lesson.id}-views", title=[f"{label} MEP" for label in maps] if how == "own" else "MEP")


def _sigma_hole(lesson, unit: str) -> None:
    path = project_file(SIGMA_HOLE_FILE)
    if not path.is_file():
        st.warning(f"The stored DFT references of this lesson ({SIGMA_HOLE_FILE}) are not in this "
                   "installation; run the app from the project checkout.")
        return
    refs = _sigma_hole_set(str(path))
    models = lesson_models()
    f = POTENTIAL_UNITS[unit]
    names = [n for n in lesson.molecules if n in refs]
    shown = st.radio("Molecule", names, horizontal=True, key="lesson_sigma_molecule")
    rows = []
    for name in names:
        t = refs[name]
        mol = t.mol
        preds = {}
        for m in models:
            try:
                preds[registry.short_model_label(m)] = compute.prediction(mol, m)
            except (MoleculeInputError, compute.ModelUnavailable) as exc:
                if name == shown:
                    st.caption(f"{registry.model_label(m)}: {exc}")
        # the cap value on the stored DFT points: the evaluation's own definition
        for site in halogen_caps(mol.numbers, mol.positions, t.iso_points):
            row = {"molecule": name, "halogen": f"{site.symbol} (bonded to {mol.symbols[site.partner]})",
                   f"DFT ({unit})": site.value(t.iso_esp) * f}
            for label, p in preds.items():
                row[f"{label} ({unit})"] = site.value(p.mep(t.iso_points)) * f
            rows.append(row)
        if name != shown:
            continue
        surf = compute.surface(mol, "isodensity")
        panels = {"DFT": learn.idw_to_vertices(t.iso_points, t.iso_esp, surf.vertices)}
        panels.update({label: p.mep(surf.vertices) for label, p in preds.items()})
        sc = color_scale(*panels.values(), rule="symmetric")
        from mepviz.report.views import camera_presets
        cam = next((p for p in camera_presets(mol, caps=compute.halogen_caps(mol, surf), bonds=[])
                    if p.key.startswith("cap:")), None)
        st.subheader(f"{name} ({mol.formula})")
        viewer.show_mep_grid(mol, surf, list(panels.values()), titles=list(panels), vmax=sc.half_width,
                             center=sc.center, unit=unit, markers=False, height=340, camera=cam,
                             element_id=f"lesson-sigma-{name}", title="MEP")
    st.caption("One colour scale for the four maps (symmetric about 0), the camera down the C→X bond onto the "
               "cap. DFT: B3LYP (def2-TZVP on Br, I), its stored isodensity-point potential carried to "
               "these vertices by inverse-distance weighting.")
    if rows:
        st.markdown("**σ-hole cap value** — the largest V within 15° of the C→X axis beyond X, on the "
                    "stored DFT isodensity points (positive: a σ-hole)")
        df = pd.DataFrame(rows)
        st.dataframe(df, hide_index=True, width="stretch", key="lesson_caps",
                     column_config={c: st.column_config.NumberColumn(format="%+.1f") for c in df.columns[2:]})
        right = {c: int((np.sign(df[c]) == np.sign(df[df.columns[2]])).sum()) for c in df.columns[3:]}
        st.markdown("Caps with DFT's sign: " + ", ".join(f"{c.split(' (')[0]} {n}/{len(df)}" for c, n in right.items()))
