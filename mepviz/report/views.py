"""Colour mapping and interactive 3D views (3Dmol.js HTML) of MEP surfaces. No Streamlit here.

- :func:`symmetric_range`, :func:`mep_colors` (from :mod:`mepviz.surface.colors`): the
  red–white–blue map of docs/physics.md, symmetric about 0.
- :func:`colorbar_html`: a legend for that map in any potential unit of ``mepviz.units``.
- :func:`mep_view_html`: a self-contained HTML snippet with a 3Dmol.js viewer showing the
  molecule as sticks, a triangulated surface with one colour per vertex, optional
  atomic-charge labels and markers at V_s,min / V_s,max, plus the colour bar.

The HTML is generated with :class:`py3Dmol.view` (3Dmol.js 2.5.5, the version py3Dmol
2.5.5 loads) but never points at a CDN: pass ``js_url`` (e.g. the app's static copy
``app/static/3dmol/3Dmol-min.js``) or leave it ``None`` to inline the vendored
``static/3dmol/3Dmol-min.js`` (≈ 540 kB) for a fully standalone file.

Every view also loads ``static/mepviz_viewer/mepviz-tools.js`` (inlined in standalone files):
it frames the whole surface and the V_s,min/V_s,max labels inside the panel on load, shows
the MEP and the nearest atom under the cursor (values sent per vertex in the displayed unit,
:func:`readout_data`), and offers a PNG at 3× screen resolution.

All potentials passed in are kcal/mol/e (the library's unit); ``unit`` only changes what
is *displayed* (colour bar, marker labels, readout).
"""
from __future__ import annotations

import hashlib
import html as _html
import json

import numpy as np

from ..core import paths
from ..core.units import POTENTIAL_UNITS, convert_potential
from ..surface.colors import COLOR_STOPS, colors_to_hex_ints, mep_colors, symmetric_range

#: the vendored 3Dmol.js (npm package 3dmol@2.5.5, BSD-3-Clause, see LICENSE.txt beside it)
STATIC_DIR = paths.static_dir()
THREEDMOL_PATH = STATIC_DIR / "3dmol" / "3Dmol-min.js"
#: URL of the vendored copy when served by Streamlit static serving (relative: works
#: from any page and under a base URL path)
THREEDMOL_APP_URL = "app/static/3dmol/3Dmol-min.js"
#: framing + value readout for every view (static/mepviz_viewer/mepviz-tools.js)
TOOLS_PATH = STATIC_DIR / "mepviz_viewer" / "mepviz-tools.js"
TOOLS_APP_URL = "app/static/mepviz_viewer/mepviz-tools.js"

#: sensible default display precision per unit
UNIT_DECIMALS = {"kcal/mol/e": 1, "kJ/mol/e": 1, "V": 3, "hartree/e": 4}


def format_potential(value_kcal: float, unit: str = "kcal/mol/e", signed: bool = True) -> str:
    """`value_kcal` (kcal/mol/e) as text in `unit`, e.g. '−35.2 kcal/mol/e'."""
    v = float(convert_potential(float(value_kcal), unit))
    d = UNIT_DECIMALS.get(unit, 2)
    s = f"{v:+.{d}f}" if signed else f"{v:.{d}f}"
    return s.replace("-", "\u2212") + f" {unit}"


def _css_gradient() -> str:
    stops = ", ".join(f"rgb({r},{g},{b}) {(t + 1) * 50:.0f}%" for t, (r, g, b) in COLOR_STOPS)
    return f"linear-gradient(to right, {stops})"


def colorbar_html(vmax: float, unit: str = "kcal/mol/e", title: str = "MEP",
                  width: str = "100%") -> str:
    """A horizontal colour bar for [−vmax, vmax] (vmax in kcal/mol/e), labelled in `unit`."""
    if unit not in POTENTIAL_UNITS:
        raise ValueError(f"unknown unit {unit!r}; choose one of {sorted(POTENTIAL_UNITS)}")
    r = float(convert_potential(float(vmax), unit))
    d = UNIT_DECIMALS.get(unit, 2)
    lo, hi = f"{-r:.{d}f}".replace("-", "\u2212"), f"+{r:.{d}f}"
    return (
        f'<div class="mepviz-colorbar" style="width:{width};font:12px sans-serif;color:#222;'
        f'margin-top:4px">'
        f'<div style="height:12px;border:1px solid #888;background:{_css_gradient()}"></div>'
        f'<div style="display:flex;justify-content:space-between">'
        f'<span>{lo}</span><span>0</span><span>{hi}</span></div>'
        f'<div style="text-align:center">{_html.escape(title)} ({_html.escape(unit)})'
        f' &nbsp;<span style="color:#b2182b">negative</span> · '
        f'<span style="color:#2166ac">positive</span></div></div>')


def _round_list(a, decimals: int) -> list:
    return np.round(np.asarray(a, float), decimals).ravel().tolist()


class _View:
    """py3Dmol.view with a deterministic id and a hook for raw JavaScript.

    A deterministic id means an unchanged view produces identical HTML, so a Streamlit
    rerun does not reload the iframe.
    """

    def __init__(self, js_url: str, width, height, viewergrid=None):
        import py3Dmol
        self.v = py3Dmol.view(width=width, height=height, js=js_url, viewergrid=viewergrid,
                              linked=True)

    def raw(self, js: str):
        # py3Dmol keeps the viewer's commands in `startjs`; append ours the same way
        self.v.startjs += js + "\n"

    def html(self, inline_js: str | None = None) -> str:
        # after the first render, record it (browser tests time "surface on screen" with it)
        end = self.v.endjs.replace(
            "});\n</script>",
            "if (window.MEPvizTools) MEPvizTools.finish();\n"
            "window.mepvizRendered = Date.now();\n"
            "var _mv = document.getElementById('3dmolviewer_UNIQUEID');\n"
            "if (_mv && _mv.parentElement) _mv.parentElement.setAttribute('data-rendered', '1');\n"
            "});\n</script>", 1)
        # 3Dmol.js renders at 2x ("upscale") on ordinary screens for smoothness; with a
        # software WebGL renderer (no GPU: SwiftShader/llvmpipe) that quadruples the cost of
        # every frame, so there it renders at 1x (antialiasing stays on)
        start = self.v.startjs.replace('{backgroundColor:"white"}',
                                       '{backgroundColor:"white", upscale: mepvizUpscale()}')
        tools = (f"<script>{TOOLS_PATH.read_text(encoding='utf-8')}</script>\n" if inline_js is not None
                 else f'<script src="{TOOLS_APP_URL}"></script>\n')
        body = _UPSCALE_JS + tools + start + end
        uid = hashlib.sha1(body.encode()).hexdigest()[:16]
        out = body.replace("UNIQUEID", uid)
        if inline_js is not None:
            out = f"<script>{inline_js}</script>\n<script>var $3Dmolpromise = Promise.resolve();</script>\n" + out
        return out


_UPSCALE_JS = """<script>
function mepvizUpscale() {
  if (window.__mepvizUpscale !== undefined) return window.__mepvizUpscale;
  var up = true;
  try {
    var gl = document.createElement('canvas').getContext('webgl');
    var ext = gl && gl.getExtension('WEBGL_debug_renderer_info');
    var name = ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : '';
    up = !/swiftshader|llvmpipe|softpipe|software/i.test(name);
    var lose = gl && gl.getExtension('WEBGL_lose_context');
    if (lose) lose.loseContext();
  } catch (e) { up = true; }
  window.__mepvizUpscale = up;
  return up;
}
</script>
"""


def _model_xyz(mol) -> str:
    lines = [str(mol.n_atoms), ""]
    lines += [f"{s} {x:.5f} {y:.5f} {z:.5f}" for s, (x, y, z) in zip(mol.symbols, mol.positions)]
    return "\n".join(lines) + "\n"


_MESH_JS = """
(function(){
  var V=%(V)s, N=%(N)s, F=%(F)s, CS=%(CS)s, targets=%(targets)s, TOOLS=%(tools)s;
  var va=new Array(V.length/3), na=new Array(N.length/3);
  for (var i=0;i<va.length;i++) va[i]={x:V[3*i],y:V[3*i+1],z:V[3*i+2]};
  for (var i=0;i<na.length;i++) na[i]={x:N[3*i],y:N[3*i+1],z:N[3*i+2]};
  for (var k=0;k<targets.length;k++) {
    var C=CS[k], ca=new Array(C.length);
    for (var i=0;i<C.length;i++) ca[i]=$3Dmol.CC.color(C[i]);
    var vw = targets[k] === null ? viewer_UNIQUEID : viewergrid_UNIQUEID[targets[k][0]][targets[k][1]];
    // per-vertex colours: `color` as an array (one Color per vertex) survives the shape's
    // recolouring in GLShape.globj; colorArr is what addCustomGeo reads
    vw.addCustom({vertexArr:va, normalArr:na, faceArr:F, colorArr:ca, color:ca,
                  opacity:%(opacity)s, clickable:false});
    if (window.MEPvizTools) MEPvizTools.register(vw, Object.assign({V: V, N: N}, TOOLS[k]));
  }
})();
"""

_REGISTER_JS = "if (window.MEPvizTools) MEPvizTools.register(viewer_UNIQUEID, %s);"


def atom_labels(mol) -> list:
    """[[label, x, y, z], ...] with labels like "O1" (1-based, as in the charges table)."""
    return [[f"{s}{i + 1}", *np.round(p, 4).tolist()] for i, (s, p) in enumerate(zip(mol.symbols, mol.positions))]


def readout_data(mol, values=None, unit: str = "kcal/mol/e", labels=None) -> dict:
    """What the view tools need besides the mesh: values in the displayed `unit` (for the
    readout under the cursor), the atoms (nearest-atom readout, framing) and the label
    boxes to keep inside the panel ([x, y, z, text, font size])."""
    d = UNIT_DECIMALS.get(unit, 2)
    out = {"unit": unit, "decimals": d, "atoms": atom_labels(mol), "labels": list(labels or [])}
    if values is not None:
        out["values"] = np.round(np.asarray(convert_potential(np.asarray(values, float), unit)), d + 1).tolist()
    return out


def _mesh_js(surface, value_sets, vmax, opacity, decimals, targets, tools=None) -> str:
    verts = np.asarray(surface.vertices, float)
    faces = np.asarray(surface.faces, np.int64)
    normals = getattr(surface, "normals", None)
    normals = np.zeros((0, 3)) if normals is None else np.asarray(normals, float)
    for vals in value_sets:
        if len(vals) != len(verts):
            raise ValueError(f"{len(vals)} values for {len(verts)} surface vertices")
    return _MESH_JS % {
        "V": json.dumps(_round_list(verts, decimals)),
        "N": json.dumps(_round_list(normals, 3)),
        "F": json.dumps(faces.ravel().tolist()),
        "CS": json.dumps([colors_to_hex_ints(mep_colors(v, vmax)).tolist() for v in value_sets]),
        "targets": json.dumps(targets),
        "tools": json.dumps(tools if tools is not None else [{} for _ in value_sets]),
        "opacity": json.dumps(float(np.clip(opacity, 0.05, 1.0))),
    }


def marker_labels_for(statistics, unit: str, marker_labels: str = "full") -> list:
    """The V_s,min / V_s,max label boxes [x, y, z, text, font size] (for framing)."""
    out = []
    for key in ("v_min", "v_max"):
        pos = statistics.get(f"{key}_position") if statistics else None
        if pos is None or marker_labels == "none":
            continue
        label = format_potential(statistics[key], unit)
        label = label.split(" ")[0] if marker_labels == "short" else \
            ("Vs,min " if key == "v_min" else "Vs,max ") + label
        out.append([float(pos[0]), float(pos[1]), float(pos[2]), label, 12 if marker_labels == "full" else 10])
    return out


MARKER_COLORS = {"v_min": "#7b0000", "v_max": "#002a6b"}


def _marker_items(statistics, unit, marker_labels):
    """(sphere, label or None) for V_s,min and V_s,max, as 3Dmol.js specs."""
    boxes = {(b[0], b[1], b[2]): b for b in marker_labels_for(statistics, unit, marker_labels)}
    out = []
    for key, color in MARKER_COLORS.items():
        pos = statistics.get(f"{key}_position")
        if pos is None:
            continue
        c = {"x": float(pos[0]), "y": float(pos[1]), "z": float(pos[2])}
        box = boxes.get((c["x"], c["y"], c["z"]))
        label = None if box is None else {"text": box[3], "style": {
            "position": c, "fontSize": box[4], "fontColor": "white", "backgroundColor": color,
            "backgroundOpacity": 0.85, "inFront": True}}
        out.append(({"center": c, "radius": 0.22, "color": color}, label))
    return out


def _add_markers(v, statistics, unit, marker_labels, **where):
    for sphere, label in _marker_items(statistics, unit, marker_labels):
        v.addSphere(sphere, **where)
        if label is not None:
            v.addLabel(label["text"], label["style"], **where)


def mep_view_html(mol, surface=None, values=None, *, vmax: float | None = None,
                  unit: str = "kcal/mol/e", opacity: float = 0.85, charges=None,
                  statistics: dict | None = None, markers: bool = True,
                  width: str | int = "100%", height: int = 420, js_url: str | None = THREEDMOL_APP_URL,
                  colorbar: bool = True, title: str = "MEP", decimals: int = 3,
                  element_id: str = "mepviz-view", marker_labels: str = "full") -> str:
    """HTML for an interactive 3Dmol.js view of `mol` with its MEP surface.

    mol: a :class:`mepviz.Molecule` (drawn as sticks). surface: an object with
    ``vertices`` (V, 3) Å, ``faces`` (F, 3) and optionally ``normals`` (V, 3); values:
    (V,) MEP in kcal/mol/e at the vertices; vmax: half-width of the colour range in
    kcal/mol/e (default max |V|). charges: (N,) atomic charges (e) shown as labels.
    statistics: ``surface_statistics`` dict; with `markers`, spheres + labels mark
    V_s,min and V_s,max (`marker_labels`: "full", "short" = value only, "none"). js_url: where the browser loads 3Dmol.js from (None: inline the
    vendored file). Without a surface, only the molecule is shown.
    """
    if unit not in POTENTIAL_UNITS:
        raise ValueError(f"unknown unit {unit!r}; choose one of {sorted(POTENTIAL_UNITS)}")
    inline = None
    if js_url is None:
        inline = THREEDMOL_PATH.read_text(encoding="utf-8")
        js_url = "about:blank"   # never loaded: the promise below is already resolved
    w = f"{width}px" if isinstance(width, int) else width
    view = _View(js_url, w, f"{int(height)}px")
    v = view.v
    v.addModel(_model_xyz(mol), "xyz")
    v.setStyle({}, {"stick": {"radius": 0.14, "colorscheme": "Jmol"},
                    "sphere": {"scale": 0.18, "colorscheme": "Jmol"}})
    have_surface = surface is not None and values is not None and len(np.asarray(values)) > 0
    if have_surface:
        vals = np.asarray(values, float).ravel()
        if vmax is None:
            vmax = symmetric_range(vals)
        boxes = marker_labels_for(statistics, unit, marker_labels) if markers else []
        view.raw(_mesh_js(surface, [vals], vmax, opacity, decimals, [None],
                          [readout_data(mol, vals, unit, boxes)]))
    else:
        view.raw(_REGISTER_JS % json.dumps(readout_data(mol)))
    if charges is not None:
        q = np.asarray(charges, float).ravel()
        for i, (qi, p) in enumerate(zip(q, mol.positions)):
            v.addLabel(f"{qi:+.2f}".replace("-", "\u2212"), {
                "position": {"x": float(p[0]), "y": float(p[1]), "z": float(p[2])},
                "fontSize": 11, "fontColor": "black", "backgroundColor": "white",
                "backgroundOpacity": 0.7, "borderThickness": 0, "inFront": True,
                "alignment": "center"})
    if markers and statistics and have_surface:
        _add_markers(v, statistics, unit, marker_labels)
    v.zoomTo()
    body = view.html(inline_js=inline)
    bar = colorbar_html(vmax, unit, title) if (colorbar and have_surface) else ""
    return (f'<div id="{_html.escape(element_id)}" class="mepviz-view" '
            f'data-vertices="{len(values) if have_surface else 0}" '
            f'data-formula="{_html.escape(mol.formula)}" data-natoms="{mol.n_atoms}">{body}{bar}</div>')


def mep_view_spec(mol, surface=None, values=None, *, vmax: float | None = None,
                  unit: str = "kcal/mol/e", opacity: float = 0.85, charges=None,
                  statistics: dict | None = None, markers: bool = True, marker_labels: str = "full",
                  height: int = 420, colorbar: bool = True, title: str = "MEP",
                  decimals: int = 3, extrema=None) -> dict:
    """The same view as :func:`mep_view_html`, as plain JSON-able data for a persistent
    viewer (the app's live 3Dmol.js component, static/mepviz_viewer/index.html): molecule
    (XYZ text), mesh (flat vertex/normal/face lists and one 0xRRGGBB colour per vertex),
    labels, marker spheres, colour bar HTML. `extrema`: local surface extrema
    (mepviz.extrema.Extremum) marked by small spheres (dark red minima, dark blue maxima).
    ``geom`` identifies the geometry (the viewer
    keeps its camera while it is unchanged); ``sig`` the whole spec."""
    if unit not in POTENTIAL_UNITS:
        raise ValueError(f"unknown unit {unit!r}; choose one of {sorted(POTENTIAL_UNITS)}")
    spec = {"xyz": _model_xyz(mol), "formula": mol.formula, "natoms": int(mol.n_atoms),
            "style": {"stick": {"radius": 0.14, "colorscheme": "Jmol"},
                      "sphere": {"scale": 0.18, "colorscheme": "Jmol"}},
            "height": int(height), "opacity": float(np.clip(opacity, 0.05, 1.0)),
            "mesh": None, "labels": [], "spheres": [], "colorbar": ""}
    have_surface = surface is not None and values is not None and len(np.asarray(values)) > 0
    if have_surface:
        vals = np.asarray(values, float).ravel()
        verts = np.asarray(surface.vertices, float)
        if len(vals) != len(verts):
            raise ValueError(f"{len(vals)} values for {len(verts)} surface vertices")
        if vmax is None:
            vmax = symmetric_range(vals)
        normals = getattr(surface, "normals", None)
        normals = np.zeros((0, 3)) if normals is None else np.asarray(normals, float)
        # unit normals to 2 decimals (< 1° of shading), the bulk of the payload with the faces
        mesh = {"V": np.round(verts, decimals).ravel(), "N": np.round(normals, 2).ravel(),
                "F": np.asarray(surface.faces, np.int64).ravel(),
                "C": colors_to_hex_ints(mep_colors(vals, vmax)).ravel()}
        arrays = [*mesh.values(), vals]
        spec["mesh"] = {k: a.tolist() for k, a in mesh.items()}
        if colorbar:
            spec["colorbar"] = colorbar_html(vmax, unit, title)
    if charges is not None:
        for qi, p in zip(np.asarray(charges, float).ravel(), mol.positions):
            spec["labels"].append({"text": f"{qi:+.2f}".replace("-", "\u2212"), "style": {
                "position": {"x": float(p[0]), "y": float(p[1]), "z": float(p[2])},
                "fontSize": 11, "fontColor": "black", "backgroundColor": "white",
                "backgroundOpacity": 0.7, "borderThickness": 0, "inFront": True,
                "alignment": "center"}})
    boxes = []
    if markers and statistics and have_surface:
        for sphere, label in _marker_items(statistics, unit, marker_labels):
            spec["spheres"].append(sphere)
            if label is not None:
                spec["labels"].append(label)
        boxes = marker_labels_for(statistics, unit, marker_labels)
    for e in (extrema or []) if have_surface else []:
        spec["spheres"].append({"center": dict(zip("xyz", map(float, e.position))), "radius": 0.13,
                                "color": MARKER_COLORS["v_min" if e.kind == "min" else "v_max"]})
    spec["tools"] = readout_data(mol, vals if have_surface else None, unit, boxes)
    spec["geom"] = hashlib.sha1(spec["xyz"].encode()).hexdigest()[:16]
    # the signature of the whole spec; the long lists enter through the arrays they are made
    # from (hashing bytes instead of their JSON text: ~40× faster for 10,000 vertices)
    light = dict(spec, mesh=None, tools=dict(spec["tools"], values=None))
    h = hashlib.sha1(json.dumps(light, sort_keys=True).encode())
    for a in arrays if have_surface else []:
        h.update(np.ascontiguousarray(a).tobytes())
    spec["sig"] = h.hexdigest()[:16]
    return spec


def mep_grid_html(mol, surface, value_sets, *, titles=None, vmax: float | None = None,
                  unit: str = "kcal/mol/e", opacity: float = 0.85, statistics=None,
                  markers: bool = True, marker_labels: str = "short", height: int = 340,
                  js_url: str | None = THREEDMOL_APP_URL, title: str = "MEP", decimals: int = 3,
                  element_id: str = "mepviz-grid") -> str:
    """Several MEP maps on the same surface side by side in ONE 3Dmol.js viewer grid:
    rotations are linked, the mesh is sent once, one colour bar (shared symmetric range,
    `vmax` kcal/mol/e, default max |V| over all maps). `statistics`: one dict (or None)
    per map for the V_s,min/V_s,max markers."""
    if unit not in POTENTIAL_UNITS:
        raise ValueError(f"unknown unit {unit!r}; choose one of {sorted(POTENTIAL_UNITS)}")
    sets = [np.asarray(v, float).ravel() for v in value_sets]
    n = len(sets)
    if n == 0:
        raise ValueError("no maps to show")
    if vmax is None:
        vmax = symmetric_range(*sets)
    inline = None
    if js_url is None:
        inline = THREEDMOL_PATH.read_text(encoding="utf-8")
        js_url = "about:blank"
    view = _View(js_url, "100%", f"{int(height)}px", viewergrid=(1, n))
    v = view.v
    xyz = _model_xyz(mol)
    for c in range(n):
        v.addModel(xyz, "xyz", viewer=(0, c))
    v.setStyle({}, {"stick": {"radius": 0.14, "colorscheme": "Jmol"},
                    "sphere": {"scale": 0.18, "colorscheme": "Jmol"}})
    stats = list(statistics) if statistics is not None else [None] * n
    tools = [readout_data(mol, vals, unit, marker_labels_for(st, unit, marker_labels) if markers else [])
             for vals, st in zip(sets, stats)]
    view.raw(_mesh_js(surface, sets, vmax, opacity, decimals, [[0, c] for c in range(n)], tools))
    if markers:
        for c, st in enumerate(stats):
            if st:
                _add_markers(v, st, unit, marker_labels, viewer=(0, c))
    v.zoomTo()
    body = view.html(inline_js=inline)
    heads = "".join(f'<div style="flex:1;text-align:center;font:600 14px sans-serif;color:#222">'
                    f'{_html.escape(t)}</div>' for t in (titles or [""] * n))
    return (f'<div id="{_html.escape(element_id)}" class="mepviz-view mepviz-grid" '
            f'data-vertices="{len(sets[0])}" data-panels="{n}" '
            f'data-formula="{_html.escape(mol.formula)}" data-natoms="{mol.n_atoms}">'
            f'<div style="display:flex;margin-bottom:4px">{heads}</div>{body}'
            f'{colorbar_html(vmax, unit, title)}</div>')


def standalone_html(fragment: str, title: str = "MEPviz") -> str:
    """Wrap an HTML fragment from :func:`mep_view_html` into a full page."""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_html.escape(title)}</title>"
            f"</head><body style='margin:0;font-family:sans-serif'>{fragment}</body></html>")
