"""Colour scales for ions (mepviz.surface.colors.color_scale, the legend's zero mark), the
σ-hole cap geometry (mepviz.surface.extrema.halogen_caps) and camera presets."""
from __future__ import annotations

import numpy as np
import pytest

from mepviz.report import views
from mepviz.surface.colors import color_scale, mep_colors


def test_ion_scales_spread_the_colours_and_mark_zero():
    v = np.linspace(-162.0, -81.0, 200)            # an anion: one sign everywhere
    sym = color_scale(v, rule="auto", charge=0)
    assert sym.center == 0 and sym.half_width == pytest.approx(162.0)
    mm = color_scale(v, rule="auto", charge=-1)
    assert mm.rule == "minmax" and (mm.lo, mm.hi) == pytest.approx((-162.0, -81.0))
    distinct = lambda sc: len({tuple(c // 24) for c in sc.colors(v)})      # noqa: E731  coarse colour bins
    assert distinct(mm) > 2 * distinct(sym)
    assert mm.zero_fraction > 1                      # 0 beyond the blue end
    bar = views.colorbar_html(mm.half_width, center=mm.center)
    assert "0 lies beyond the right" in bar and "not 0" in bar
    mean = color_scale(np.array([-10.0, 20.0, 50.0]), rule="mean")
    assert mean.center == pytest.approx(20.0) and mean.half_width == pytest.approx(30.0)
    bar = views.colorbar_html(mean.half_width, center=mean.center)
    assert 'class="mepviz-zero" data-zero="0.1667"' in bar
    assert (mep_colors([5.0], 10.0, center=5.0) == 255).all()        # white at the centre


def test_caps_and_camera_presets():
    from mepviz.io import from_smiles
    from mepviz.surface.extrema import halogen_caps
    from mepviz.surface.surfaces import surface_for
    mol = from_smiles("Clc1ccccc1")
    surf = surface_for(mol, "isodensity")
    caps = halogen_caps(mol.numbers, mol.positions, surf.vertices)
    assert len(caps) == 1 and caps[0].symbol == "Cl"
    x, a = caps[0].halogen, caps[0].partner
    axis = (mol.positions[x] - mol.positions[a]) / np.linalg.norm(mol.positions[x] - mol.positions[a])
    field = surf.vertices @ axis                        # largest far out along C→Cl
    k = caps[0].cap_point(field)
    assert caps[0].value(field) == pytest.approx(field[k]) and caps[0].max_angle_deg(field) < 15
    presets = {p.key: p for p in views.camera_presets(mol, caps=caps)}
    cap = presets[f"cap:{x + 1}"]
    q = np.array(cap.quaternion())
    # the quaternion turns the C→Cl direction towards the viewer (+z)
    w, u = q[3], q[:3]
    d = np.asarray(cap.direction)
    rotated = d + 2 * w * np.cross(u, d) + 2 * np.cross(u, np.cross(u, d))
    assert rotated == pytest.approx([0, 0, 1], abs=1e-9)
    spec = views.mep_view_spec(mol, surf, field, camera=cap)
    assert spec["camera"]["key"] == cap.key
