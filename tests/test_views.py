"""mepviz.views: colour map, colour bar, 3Dmol.js HTML (offline, per-vertex colours)."""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pytest

from mepviz import Molecule, views
from mepviz.units import KCAL_MOL_TO_VOLT


def _water():
    return Molecule([8, 1, 1], [[0, 0, 0.1173], [0, 0.7572, -0.4692], [0, -0.7572, -0.4692]], name="water")


def _tetra_surface():
    v = np.array([[1.0, 1, 1], [-1, -1, 1], [-1, 1, -1], [1, -1, -1]]) * 2
    f = np.array([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]])
    return SimpleNamespace(vertices=v, faces=f, normals=v / np.linalg.norm(v, axis=1, keepdims=True))


def test_colour_map_red_white_blue_and_symmetric():
    c = views.mep_colors([-10.0, 0.0, 10.0, -20.0, 20.0], vmax=10.0)
    assert tuple(c[1]) == (255, 255, 255)                 # 0 -> white
    assert c[0][0] > c[0][2] and c[0][0] > 150              # negative -> red
    assert c[2][2] > c[2][0] and c[2][2] > 150              # positive -> blue
    np.testing.assert_array_equal(c[3], c[0])               # saturates beyond the range
    np.testing.assert_array_equal(c[4], c[2])
    # symmetric: |V| equal -> same distance from white
    a, b = views.mep_colors([-5.0, 5.0], 10.0).astype(int)
    assert abs((255 - a).sum() - (255 - b).sum()) < 60


def test_symmetric_range_shared_between_arrays():
    assert views.symmetric_range([-3.0, 1.0], [2.0, 5.0]) == 5.0
    assert views.symmetric_range(np.r_[np.ones(99), 100.0], percentile=98) < 100
    assert views.symmetric_range([0.0]) > 0


def test_colorbar_units():
    assert "kcal/mol/e" in views.colorbar_html(30.0)
    html_v = views.colorbar_html(30.0, "V")
    assert "(V)" in html_v and f"{30 * KCAL_MOL_TO_VOLT:.3f}" in html_v
    with pytest.raises(ValueError):
        views.colorbar_html(1.0, "furlongs")


def test_view_html_offline_with_per_vertex_colours_labels_and_markers():
    mol, surf = _water(), _tetra_surface()
    vals = np.array([-30.0, -5.0, 5.0, 30.0])
    stats = {"v_min": -30.0, "v_min_position": surf.vertices[0].tolist(),
             "v_max": 30.0, "v_max_position": surf.vertices[3].tolist()}
    html = views.mep_view_html(mol, surf, vals, charges=[-0.8, 0.4, 0.4], statistics=stats,
                               unit="kJ/mol/e")
    assert "cdn" not in html.lower() and "https://" not in html
    assert views.THREEDMOL_APP_URL in html
    cols = re.search(r"CS=\[(\[[^\]]*\])\]", html).group(1)
    assert cols.count(",") == 3                               # one colour per vertex
    assert html.count("addLabel") == 3 + 2                    # charges + V_s,min/max
    assert html.count("addSphere") == 2
    assert "Vs,min \\u2212125.5 kJ/mol/e" in html             # −30 kcal/mol/e in kJ/mol/e (JSON-escaped)
    assert 'data-vertices="4"' in html
    # deterministic (no reload on Streamlit reruns)
    assert html == views.mep_view_html(mol, surf, vals, charges=[-0.8, 0.4, 0.4], statistics=stats,
                                       unit="kJ/mol/e")
    with pytest.raises(ValueError):
        views.mep_view_html(mol, surf, vals[:3])


def test_inline_standalone_html_needs_no_server():
    if not views.THREEDMOL_PATH.exists():
        pytest.skip("vendored 3Dmol.js missing")
    html = views.standalone_html(views.mep_view_html(_water(), _tetra_surface(), [1.0, -1, 2, -2],
                                                     js_url=None))
    assert "app/static" not in html and "https://cdn" not in html
    assert len(html) > 500_000                                # 3Dmol.js inlined
    assert (views.STATIC_DIR / "3dmol" / "LICENSE.txt").exists()


def test_grid_view_shares_mesh_and_colour_scale():
    mol, surf = _water(), _tetra_surface()
    a, b = np.array([-30.0, -5.0, 5.0, 30.0]), np.array([-10.0, 0.0, 0.0, 10.0])
    html = views.mep_grid_html(mol, surf, [a, b, a - b], titles=["ML", "DFT", "ML − DFT"])
    assert html.count("createViewerGrid") == 1 and "cols: 3" in html
    assert html.count("V=[") == 1                             # vertices sent once
    cs = re.search(r"CS=(\[\[.*?\]\])", html).group(1)
    assert cs.count("], [") == 2                              # three colour sets
    assert html.count("mepviz-colorbar") == 1 and "+30.0" in html   # one shared range
    assert "cdn" not in html.lower()


def test_side_by_side_view_two_molecules_one_viewer():
    """Two different molecules in ONE viewer grid (3Dmol.js loaded once, cameras not linked),
    each panel coloured as its own view would be; one colour bar for a shared scale, one per
    panel for panels on their own scales."""
    from mepviz.report import views as rviews
    water, surf = _water(), _tetra_surface()
    other = Molecule([7, 1, 1, 1], [[0, 0, 0], [0, 0.94, 0.38], [0.81, -0.47, 0.38], [-0.81, -0.47, 0.38]],
                     name="ammonia")
    a, b = np.array([-30.0, -5.0, 5.0, 30.0]), np.array([-10.0, 0.0, 0.0, 10.0])
    html = rviews.mep_side_by_side_html([water, other], [surf, surf], [a, b], vmax=30.0, titles=["w", "n"])
    assert html.count("createViewerGrid") == 1 and "cols: 2" in html and "control_all: false" in html
    assert html.count("3Dmol-min.js") == 1 and 'data-panels="2"' in html
    assert html.count("mepviz-colorbar") == 1 and "+30.0" in html
    alone = [views.mep_view_html(m, surf, v, vmax=30.0) for m, v in ((water, a), (other, b))]
    colours = re.compile(r"CS=(\[\[.*?\]\])")
    assert colours.findall(html) == [colours.search(x).group(1) for x in alone]
    own = rviews.mep_side_by_side_html([water, other], [surf, surf], [a, b], vmax=[30.0, 5.0], center=[0.0, 5.0],
                                      title=["water MEP", "ammonia MEP"])
    assert own.count('class="mepviz-colorbar"') == 2 and "ammonia MEP" in own
    with pytest.raises(ValueError):
        rviews.mep_side_by_side_html([water], [surf, surf], [a, b])


def test_live_view_spec_matches_html_view():
    mol, surf = _water(), _tetra_surface()
    vals = np.array([-30.0, -5.0, 5.0, 30.0])
    stats = {"v_min": -30.0, "v_min_position": surf.vertices[0].tolist(),
             "v_max": 30.0, "v_max_position": surf.vertices[3].tolist()}
    spec = views.mep_view_spec(mol, surf, vals, charges=[-0.8, 0.4, 0.4], statistics=stats, unit="V")
    html = views.mep_view_html(mol, surf, vals, charges=[-0.8, 0.4, 0.4], statistics=stats, unit="V")
    cols = json.loads(re.search(r"CS=(\[\[.*?\]\])", html).group(1))[0]
    assert spec["mesh"]["C"] == cols                               # same colours as the HTML view
    assert len(spec["labels"]) == 5 and len(spec["spheres"]) == 2
    assert "(V)" in spec["colorbar"]
    assert json.loads(json.dumps(spec)) == spec                    # JSON-able
    same_geom = views.mep_view_spec(mol, surf, vals * 2)
    assert same_geom["geom"] == spec["geom"] and same_geom["sig"] != spec["sig"]


def test_live_view_signature_follows_the_content():
    """The viewer skips a spec whose signature it has drawn: equal specs give equal signatures,
    any change of the mesh, the values or a setting a different one."""
    from types import SimpleNamespace
    mol, surf = _water(), _tetra_surface()
    vals = np.array([-30.0, -5.0, 5.0, 30.0])
    base = views.mep_view_spec(mol, surf, vals)
    assert views.mep_view_spec(mol, surf, vals.copy())["sig"] == base["sig"]
    moved = SimpleNamespace(vertices=np.asarray(surf.vertices) + 0.01, faces=surf.faces)
    assert views.mep_view_spec(mol, moved, vals)["sig"] != base["sig"]
    assert views.mep_view_spec(mol, surf, vals + 0.01, vmax=30.0)["sig"] != \
        views.mep_view_spec(mol, surf, vals, vmax=30.0)["sig"]
    assert views.mep_view_spec(mol, surf, vals, opacity=0.5)["sig"] != base["sig"]
    assert views.mep_view_spec(mol, surf, vals, unit="V")["sig"] != base["sig"]
