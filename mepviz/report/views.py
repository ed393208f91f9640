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
from dataclasses import dataclass

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
                  width: str = "100%", center: float = 0.0) -> str:
    """A horizontal colour bar for [center − vmax, center + vmax] (kcal/mol/e), labelled in
    `unit`. With the default centre 0 the middle is labelled 0; otherwise the middle shows its
    value and the zero point is marked on the bar (or, for a one-signed map, named at the end
    beyond which it lies)."""
    if unit not in POTENTIAL_UNITS:
        raise ValueError(f"unknown unit {unit!r}; choose one of {sorted(POTENTIAL_UNITS)}")
    r = float(convert_potential(float(vmax), unit))
    c = float(convert_potential(float(center or 0.0), unit))
    d = UNIT_DECIMALS.get(unit, 2)

    def num(x):
        return (f"{x:+.{d}f}" if abs(x) >= 0.5 * 10 ** -d else "0").replace("-", "\u2212")
    lo, mid, hi = num(c - r), num(c), num(c + r)
    zero = ""
    if abs(c) >= 0.5 * 10 ** -d and r > 0:
        f = (0.0 - (c - r)) / (2 * r)
        if 0.0 <= f <= 1.0:
            zero = (f'<div class="mepviz-zero" data-zero="{f:.4f}" style="position:absolute;top:-3px;'
                    f'left:calc({100 * f:.2f}% - 1px);width:2px;height:18px;background:#000"></div>'
                    f'<div style="position:absolute;top:15px;left:calc({100 * f:.2f}% - 6px);'
                    'font:bold 11px sans-serif">0</div>')
            note = "black mark: 0"
        else:
            side = "right (every value is negative)" if f > 1 else "left (every value is positive)"
            zero = f'<span class="mepviz-zero" data-zero="{f:.4f}"></span>'
            note = f"0 lies beyond the {side}"
        note = (f'<div class="mepviz-zero-note" style="text-align:center;color:#444">white = {mid} '
                f'{_html.escape(unit)}, not 0 · {note}</div>')
    else:
        note = ""
    return (
        f'<div class="mepviz-colorbar" style="width:{width};font:12px sans-serif;color:#222;'
        f'margin-top:4px">'
        f'<div style="position:relative;height:12px;border:1px solid #888;background:{_css_gradient()}">'
        f'{zero}</div>'
        f'<div style="display:flex;justify-content:space-between;margin-top:{6 if zero else 0}px">'
        f'<span>{lo}</span><span>{mid}</span><span>{hi}</span></div>'
        f'<div style="text-align:center">{_html.escape(title)} ({_html.escape(unit)})'
        f' &nbsp;<span style="color:#b2182b">{"negative" if not note else "lower"}</span> · '
        f'<span style="color:#2166ac">{"positive" if not note else "higher"}</span></div>{note}</div>')


def spread_bar_html(vmax: float, unit: str = "kcal/mol/e", title: str = "spread") -> str:
    """A legend for a map of non-negative values (an ensemble's spread) drawn with
    :func:`mep_colors` on [−vmax, vmax]: only its white (0) to blue (vmax) half is used."""
    if unit not in POTENTIAL_UNITS:
        raise ValueError(f"unknown unit {unit!r}; choose one of {sorted(POTENTIAL_UNITS)}")
    r = float(convert_potential(float(vmax), unit))
    d = UNIT_DECIMALS.get(unit, 2) + 1
    stops = ", ".join(f"rgb({c[0]},{c[1]},{c[2]}) {t * 100:.0f}%" for t, c in
                      ((t, mep_colors([t], 1.0)[0]) for t in (0.0, 0.5, 1.0)))
    return (f'<div class="mepviz-colorbar mepviz-spreadbar" style="font:12px sans-serif;color:#222;margin-top:4px">'
            f'<div style="height:12px;border:1px solid #888;background:linear-gradient(to right, {stops})"></div>'
            f'<div style="display:flex;justify-content:space-between"><span>0</span><span>{r:.{d}f}</span></div>'
            f'<div style="text-align:center">{_html.escape(title)} ({_html.escape(unit)}): white = the members '
            f'agree, blue = they disagree</div></div>')


def _round_list(a, decimals: int) -> list:
    return np.round(np.asarray(a, float), decimals).ravel().tolist()


class _View:
    """py3Dmol.view with a deterministic id and a hook for raw JavaScript.

    A deterministic id means an unchanged view produces identical HTML, so a Streamlit
    rerun does not reload the iframe.
    """

    def __init__(self, js_url: str, width, height, viewergrid=None, linked: bool = True):
        import py3Dmol
        self.v = py3Dmol.view(width=width, height=height, js=js_url, viewergrid=viewergrid,
                              linked=linked)

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


def _mesh_js(surface, value_sets, vmax, opacity, decimals, targets, tools=None, center=0.0) -> str:
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
        "CS": json.dumps([colors_to_hex_ints(mep_colors(v, vmax, center)).tolist() for v in value_sets]),
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


def _extrema_items(mol, extrema, unit: str) -> list:
    """(sphere spec, label box [x, y, z, text, font size]) for each local extremum: a small
    sphere (dark red minimum, dark blue maximum) labelled with its value and nearest atom."""
    out = []
    for e in extrema or []:
        c = dict(zip("xyz", map(float, e.position)))
        atom = f" {mol.symbols[e.atom]}{e.atom + 1}" if 0 <= getattr(e, "atom", -1) < mol.n_atoms else ""
        text = format_potential(e.value, unit).split(" ")[0] + atom
        out.append(({"center": c, "radius": 0.13, "color": MARKER_COLORS["v_min" if e.kind == "min" else "v_max"]},
                    [c["x"], c["y"], c["z"], text, 9]))
    return out


def _extremum_label_style(box, color: str) -> dict:
    return {"position": {"x": box[0], "y": box[1], "z": box[2]}, "fontSize": box[4], "fontColor": "white",
            "backgroundColor": color, "backgroundOpacity": 0.7, "inFront": True}


# --------------------------------------------------------------------------- camera presets
@dataclass(frozen=True)
class CameraPreset:
    """A view to turn the camera to: look at `center` (Å) from the side `direction` points to
    (unit vector from the centre towards the viewer). `key` identifies it in selectors and
    URLs ("vmax", "atom:3", "bond:1-7", "cap:7"), `label` says it in words."""

    key: str
    label: str
    center: tuple
    direction: tuple

    def quaternion(self) -> list[float]:
        """[x, y, z, w] of the rotation taking `direction` to +z (towards the viewer in 3Dmol.js)."""
        return rotation_to_z(self.direction)

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "center": [float(x) for x in self.center],
                "direction": [float(x) for x in self.direction], "quat": self.quaternion()}


def rotation_to_z(direction) -> list[float]:
    """Unit quaternion [x, y, z, w] rotating the unit vector `direction` onto +z."""
    u = np.asarray(direction, float)
    u = u / np.linalg.norm(u)
    z = np.array([0.0, 0.0, 1.0])
    c = float(np.clip(u @ z, -1.0, 1.0))
    if c > 1 - 1e-12:
        return [0.0, 0.0, 0.0, 1.0]
    if c < -1 + 1e-12:
        return [1.0, 0.0, 0.0, 0.0]               # half turn about x
    axis = np.cross(u, z)
    axis /= np.linalg.norm(axis)
    half = 0.5 * np.arccos(c)
    return [*(axis * np.sin(half)).tolist(), float(np.cos(half))]


def _unit(v):
    v = np.asarray(v, float)
    n = np.linalg.norm(v)
    return v / n if n > 1e-9 else np.array([0.0, 0.0, 1.0])


def camera_presets(mol, statistics=None, caps=None, bonds=None) -> list[CameraPreset]:
    """The camera presets of a view: onto V_s,max and V_s,min (from `statistics`: looking at the
    point from outside, along nearest atom → point), down each halogen's A→X bond onto its
    σ-hole cap (`caps`: :func:`mepviz.surface.extrema.halogen_caps`), onto each atom (from the
    centre of mass outwards) and down each bond both ways (`bonds`: (i, j) pairs, default
    ``mol.bonds``): "bond:i-j" looks at atom j from beyond it, back along i → j."""
    pos = np.asarray(mol.positions, float)
    com = mol.center_of_mass
    sym = mol.symbols
    out = []
    for key, word in (("v_max", "V_s,max"), ("v_min", "V_s,min")):
        p = (statistics or {}).get(f"{key}_position")
        if p is None:
            continue
        p = np.asarray(p, float)
        k = int(np.argmin(np.linalg.norm(pos - p, axis=1)))
        out.append(CameraPreset(key.replace("_", ""), f"onto {word} (near {sym[k]}{k + 1})", tuple(p),
                                tuple(_unit(p - pos[k]))))
    for cap in caps or []:
        x, a = cap.halogen, cap.partner
        out.append(CameraPreset(f"cap:{x + 1}", f"σ-hole of {sym[x]}{x + 1}: down {sym[a]}{a + 1}→{sym[x]}{x + 1}",
                                tuple(pos[x]), tuple(_unit(pos[x] - pos[a]))))
    for i in range(mol.n_atoms):
        d = pos[i] - com
        out.append(CameraPreset(f"atom:{i + 1}", f"onto atom {sym[i]}{i + 1}", tuple(pos[i]),
                                tuple(_unit(d if np.linalg.norm(d) > 0.3 else [0, 0, 1.0]))))
    pairs = bonds if bonds is not None else [(int(b[0]), int(b[1])) for b in getattr(mol, "bonds", ()) or ()]
    for i, j in pairs:
        for a, b in ((i, j), (j, i)):          # both ways: look at b from beyond it, back along a→b
            out.append(CameraPreset(f"bond:{a + 1}-{b + 1}", f"down the bond {sym[a]}{a + 1}→{sym[b]}{b + 1}",
                                    tuple(pos[b]), tuple(_unit(pos[b] - pos[a]))))
    return out


_CAMERA_JS = """(function(){ var cam=%s; var vw=viewer_UNIQUEID;
  if (window.MEPvizTools && MEPvizTools.orient) MEPvizTools.orient(vw, cam); })();"""
_CAMERA_GRID_JS = """(function(){ var cam=%s; var g=viewergrid_UNIQUEID;
  for (var r=0;r<g.length;r++) for (var c=0;c<g[r].length;c++)
    if (window.MEPvizTools && MEPvizTools.orient) MEPvizTools.orient(g[r][c], cam); })();"""


def mep_view_html(mol, surface=None, values=None, *, vmax: float | None = None,
                  unit: str = "kcal/mol/e", opacity: float = 0.85, charges=None,
                  statistics: dict | None = None, markers: bool = True,
                  width: str | int = "100%", height: int = 420, js_url: str | None = THREEDMOL_APP_URL,
                  colorbar: bool = True, title: str = "MEP", decimals: int = 3,
                  element_id: str = "mepviz-view", marker_labels: str = "full", center: float = 0.0,
                  extrema=None, camera=None) -> str:
    """HTML for an interactive 3Dmol.js view of `mol` with its MEP surface.

    mol: a :class:`mepviz.Molecule` (drawn as sticks). surface: an object with
    ``vertices`` (V, 3) Å, ``faces`` (F, 3) and optionally ``normals`` (V, 3); values:
    (V,) MEP in kcal/mol/e at the vertices; vmax: half-width of the colour range in
    kcal/mol/e (default max |V|). charges: (N,) atomic charges (e) shown as labels.
    statistics: ``surface_statistics`` dict; with `markers`, spheres + labels mark
    V_s,min and V_s,max (`marker_labels`: "full", "short" = value only, "none"). js_url: where the browser loads 3Dmol.js from (None: inline the
    vendored file). Without a surface, only the molecule is shown. center: the white point of
    the colour range (kcal/mol/e; :class:`mepviz.surface.colors.ColorScale`). extrema: local
    extrema (:func:`mepviz.surface.extrema.local_extrema`) marked and labelled with their atoms;
    camera: a :class:`CameraPreset` (:func:`camera_presets`) to look from.
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
        ext_boxes = [b for _, b in _extrema_items(mol, extrema, unit)]
        view.raw(_mesh_js(surface, [vals], vmax, opacity, decimals, [None],
                          [readout_data(mol, vals, unit, boxes + ext_boxes)], center))
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
    if have_surface:
        for sphere, box in _extrema_items(mol, extrema, unit):
            v.addSphere(sphere)
            v.addLabel(box[3], _extremum_label_style(box, sphere["color"]))
    v.zoomTo()
    if camera is not None:
        view.raw(_CAMERA_JS % json.dumps(camera.as_dict()))
    body = view.html(inline_js=inline)
    bar = colorbar_html(vmax, unit, title, center=center) if (colorbar and have_surface) else ""
    return (f'<div id="{_html.escape(element_id)}" class="mepviz-view" '
            f'data-vertices="{len(values) if have_surface else 0}" '
            f'data-formula="{_html.escape(mol.formula)}" data-natoms="{mol.n_atoms}">{body}{bar}</div>')


def mep_view_spec(mol, surface=None, values=None, *, vmax: float | None = None,
                  unit: str = "kcal/mol/e", opacity: float = 0.85, charges=None,
                  statistics: dict | None = None, markers: bool = True, marker_labels: str = "full",
                  height: int = 420, colorbar: bool = True, title: str = "MEP",
                  decimals: int = 3, extrema=None, center: float = 0.0, camera=None) -> dict:
    """The same view as :func:`mep_view_html`, as plain JSON-able data for a persistent
    viewer (the app's live 3Dmol.js component, static/mepviz_viewer/index.html): molecule
    (XYZ text), mesh (flat vertex/normal/face lists and one 0xRRGGBB colour per vertex),
    labels, marker spheres, colour bar HTML. `extrema`: local surface extrema
    (mepviz.extrema.Extremum) marked by small spheres (dark red minima, dark blue maxima),
    each labelled with its value and nearest atom. `center`: the white point of the colour
    range; `camera`: a :class:`CameraPreset` the viewer turns to (``spec["camera"]``).
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
                "C": colors_to_hex_ints(mep_colors(vals, vmax, center)).ravel()}
        arrays = [*mesh.values(), vals]
        spec["mesh"] = {k: a.tolist() for k, a in mesh.items()}
        if colorbar:
            spec["colorbar"] = colorbar_html(vmax, unit, title, center=center)
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
    for sphere, box in _extrema_items(mol, extrema, unit) if have_surface else []:
        spec["spheres"].append(sphere)
        spec["labels"].append({"text": box[3], "style": _extremum_label_style(box, sphere["color"])})
        boxes.append(box)
    spec["camera"] = camera.as_dict() if camera is not None else None
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
                  element_id: str = "mepviz-grid", center: float = 0.0, camera=None) -> str:
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
    view.raw(_mesh_js(surface, sets, vmax, opacity, decimals, [[0, c] for c in range(n)], tools, center))
    if markers:
        for c, st in enumerate(stats):
            if st:
                _add_markers(v, st, unit, marker_labels, viewer=(0, c))
    v.zoomTo()
    if camera is not None:
        view.raw(_CAMERA_GRID_JS % json.dumps(camera.as_dict()))
    body = view.html(inline_js=inline)
    heads = "".join(f'<div style="flex:1;text-align:center;font:600 14px sans-serif;color:#222">'
                    f'{_html.escape(t)}</div>' for t in (titles or [""] * n))
    return (f'<div id="{_html.escape(element_id)}" class="mepviz-view mepviz-grid" '
            f'data-vertices="{len(sets[0])}" data-panels="{n}" '
            f'data-formula="{_html.escape(mol.formula)}" data-natoms="{mol.n_atoms}">'
            f'<div style="display:flex;margin-bottom:4px">{heads}</div>{body}'
            f'{colorbar_html(vmax, unit, title, center=center)}</div>')


def mep_side_by_side_html(mols, surfaces, value_sets, *, vmax=None, center=0.0,
                          unit: str = "kcal/mol/e", opacity: float = 0.85, statistics=None,
                          markers: bool = True, marker_labels: str = "full", height: int = 420,
                          js_url: str | None = THREEDMOL_APP_URL, title="MEP", decimals: int = 3,
                          element_id: str = "mepviz-side-by-side", titles=None) -> str:
    """Different molecules (each with its own surface and map) side by side in ONE 3Dmol.js
    viewer grid: one iframe, 3Dmol.js loaded once, each panel rotated on its own (the
    molecules differ, so the cameras are not linked). `vmax` / `center` (kcal/mol/e): one
    value for all panels (one shared colour scale, one colour bar) or one per panel (each its
    own scale and colour bar under its panel). `statistics`: one dict (or None) per panel
    (V_s,min / V_s,max markers); `title`: the colour bar's title, or one per panel (used when
    each panel has its own bar); `titles`: optional headings above the panels. The colours,
    markers and readout of each panel are those of :func:`mep_view_html` for that molecule alone."""
    if unit not in POTENTIAL_UNITS:
        raise ValueError(f"unknown unit {unit!r}; choose one of {sorted(POTENTIAL_UNITS)}")
    mols, surfaces = list(mols), list(surfaces)
    sets = [np.asarray(v, float).ravel() for v in value_sets]
    n = len(sets)
    if n == 0 or len(mols) != n or len(surfaces) != n:
        raise ValueError(f"{len(mols)} molecules, {len(surfaces)} surfaces, {n} maps: one of each per panel")
    per_panel = lambda x: [float(v) for v in x] if np.ndim(x) else [x] * n   # noqa: E731
    if vmax is None:
        vmax = symmetric_range(*sets)
    vmaxes = per_panel(vmax)
    centers = per_panel(0.0 if center is None else center)
    if len(vmaxes) != n or len(centers) != n:
        raise ValueError("vmax / center: one value, or one per panel")
    inline = None
    if js_url is None:
        inline = THREEDMOL_PATH.read_text(encoding="utf-8")
        js_url = "about:blank"
    view = _View(js_url, "100%", f"{int(height)}px", viewergrid=(1, n), linked=False)
    v = view.v
    stats = list(statistics) if statistics is not None else [None] * n
    for c, mol in enumerate(mols):
        v.addModel(_model_xyz(mol), "xyz", viewer=(0, c))
    v.setStyle({}, {"stick": {"radius": 0.14, "colorscheme": "Jmol"},
                    "sphere": {"scale": 0.18, "colorscheme": "Jmol"}})
    for c, (mol, surf, vals, st) in enumerate(zip(mols, surfaces, sets, stats)):
        boxes = marker_labels_for(st, unit, marker_labels) if markers else []
        view.raw(_mesh_js(surf, [vals], vmaxes[c], opacity, decimals, [[0, c]],
                          [readout_data(mol, vals, unit, boxes)], centers[c]))
        if markers and st:
            _add_markers(v, st, unit, marker_labels, viewer=(0, c))
    v.zoomTo()
    body = view.html(inline_js=inline)
    cell = '<div style="flex:1;min-width:0;padding:0 6px">{}</div>'
    heads = "".join(cell.format(f'<div style="text-align:center;font:600 14px sans-serif;color:#222">'
                                f'{_html.escape(t)}</div>') for t in titles) if titles else ""
    bar_titles = list(title) if isinstance(title, (list, tuple)) else [title] * n
    if len(set(zip(vmaxes, centers))) == 1:            # one colour scale: one bar
        bars = colorbar_html(vmaxes[0], unit, title if isinstance(title, str) else "MEP", center=centers[0])
    else:
        bars = ('<div style="display:flex">' + "".join(
            cell.format(colorbar_html(r, unit, t, center=c)) for r, c, t in zip(vmaxes, centers, bar_titles))
            + "</div>")
    return (f'<div id="{_html.escape(element_id)}" class="mepviz-view mepviz-grid mepviz-side-by-side" '
            f'data-vertices="{",".join(str(len(s)) for s in sets)}" data-panels="{n}" '
            f'data-formula="{_html.escape(",".join(m.formula for m in mols))}" '
            f'data-natoms="{",".join(str(m.n_atoms) for m in mols)}">'
            + (f'<div style="display:flex;margin-bottom:4px">{heads}</div>' if heads else "")
            + f'{body}{bars}</div>')


def standalone_html(fragment: str, title: str = "MEPviz") -> str:
    """Wrap an HTML fragment from :func:`mep_view_html` into a full page."""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_html.escape(title)}</title>"
            f"</head><body style='margin:0;font-family:sans-serif'>{fragment}</body></html>")
