/* MEPviz helpers for 3Dmol.js viewers (used by every 3D view of the app and the standalone
   HTML downloads):
   - fit(viewer): frame the whole surface (all vertices and label boxes inside the panel,
     with a margin) at the current orientation;
   - a value readout under the cursor: MEP at the surface point under the mouse (the nearest
     front-facing vertex on screen) and the nearest atom, in the unit shown.
   Data per viewer (MEPvizTools.register): {V: flat vertices Å, N: flat normals, values:
   display values per vertex, unit, decimals, atoms: [[label, x, y, z], ...],
   labels: [[x, y, z, text, fontSize], ...]}. */
(function () {
  "use strict";
  if (window.MEPvizTools) return;
  var T = {registry: []};
  var MARGIN = 0.06;        // fraction of the shorter panel side kept free on each edge
  var PICK_PX = 10;
  var READOUT_PX = 22;
  var PNG_SCALE = 3;        // PNG export: 3x the on-screen size      // height kept free at the top of the panel for the readout line         // a vertex counts as "under the cursor" within this many pixels

  /* The viewer's panel in page coordinates, as modelToScreen() reports positions: the
     canvas offset plus, in a viewer grid, the offset of this viewer's cell. */
  function panel(viewer) {
    var xr = viewer.renderer.getXRatio(), yr = viewer.renderer.getYRatio();
    var w = viewer.WIDTH / xr, h = viewer.HEIGHT / yr, off = viewer.canvasOffset();
    return {left: off.left + viewer.col * w, top: off.top + (yr - viewer.row - 1) * h, w: w, h: h};
  }
  function size(viewer) { var p = panel(viewer); return {w: p.w, h: p.h}; }

  function sample(V, maxN) {
    var n = V.length / 3, step = Math.max(1, Math.floor(n / maxN)), out = [];
    for (var i = 0; i < n; i += step) out.push({x: V[3 * i], y: V[3 * i + 1], z: V[3 * i + 2]});
    return out;
  }

  function bbox(viewer, d) {
    var pts = d.V && d.V.length ? sample(d.V, 4000) : [];
    (d.atoms || []).forEach(function (a) { pts.push({x: a[1], y: a[2], z: a[3]}); });
    if (!pts.length) return null;
    var s = viewer.modelToScreen(pts), pn = panel(viewer);
    var b = {x0: Infinity, x1: -Infinity, y0: Infinity, y1: -Infinity};
    s.forEach(function (p) {
      b.x0 = Math.min(b.x0, p.x - pn.left); b.x1 = Math.max(b.x1, p.x - pn.left);
      b.y0 = Math.min(b.y0, p.y - pn.top); b.y1 = Math.max(b.y1, p.y - pn.top);
    });
    (d.labels || []).forEach(function (l) {
      var p = viewer.modelToScreen({x: l[0], y: l[1], z: l[2]});
      p = {x: p.x - pn.left, y: p.y - pn.top};
      var fs = l[4] || 12, w = 0.52 * fs * String(l[3]).length + 14, h = fs + 10;
      b.x0 = Math.min(b.x0, p.x); b.x1 = Math.max(b.x1, p.x + w);
      b.y0 = Math.min(b.y0, p.y); b.y1 = Math.max(b.y1, p.y + h);
    });
    return b;
  }

  /* How far (panel pixels, signed) the content moves per unit of viewer.translate() in x and
     y: translate() works in whole-canvas units and its y axis points up, so it is measured. */
  function translateGain(viewer, d) {
    var c = function (b) { return [(b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2]; };
    viewer.render();
    var b0 = bbox(viewer, d);
    if (!b0) return {x: 1, y: 1};
    viewer.translate(10, 10);
    viewer.render();
    var b1 = bbox(viewer, d);
    viewer.translate(-10, -10);
    var gx = (c(b1)[0] - c(b0)[0]) / 10, gy = (c(b1)[1] - c(b0)[1]) / 10;
    return {x: Math.abs(gx) > 0.05 ? gx : 1, y: Math.abs(gy) > 0.05 ? gy : 1};
  }

  /* Run fn() with the drawing of `viewers` deferred, then draw each of them once. 3Dmol.js
     redraws the whole scene on every render(), zoom(), translate() and setView(); framing and
     scene set-up only need the updated matrices (what Renderer.render computes before it
     draws), and with a software WebGL renderer each redraw of a large surface costs ~0.1 s.
     Re-entrant: nested calls run inside the outermost one. */
  var deferring = 0;
  T.deferred = function (viewers, fn) {
    if (deferring) return fn();
    var saved = [];
    viewers.forEach(function (v) {
      var r = v.renderer;
      if (!r || saved.some(function (s) { return s.r === r; })) return;
      saved.push({r: r, own: Object.prototype.hasOwnProperty.call(r, "render"), render: r.render});
      r.render = function (scene, camera) {
        if (r.autoUpdateScene) scene.updateMatrixWorld();
        if (camera.parent === undefined) camera.updateMatrixWorld();
        camera.matrixWorldInverse.getInverse(camera.matrixWorld);
      };
    });
    deferring++;
    try {
      return fn();
    } finally {
      deferring--;
      saved.forEach(function (s) { if (s.own) s.r.render = s.render; else delete s.r.render; });
      viewers.forEach(function (v) { v.render(); });
    }
  };

  /* Frame everything registered for `viewer`: pan the centre of its screen bounding box to
     the panel centre and zoom so it fills the panel minus the margin (a few passes, since
     perspective makes the zoom slightly non-linear). */
  T.fit = function (viewer) {
    T.deferred(T.registry.indexOf(viewer) < 0 ? [viewer] : T.registry, function () { fitNow(viewer); });
  };

  function fitNow(viewer) {
    var d = viewer.__mepviz;
    if (!d) return;
    var sz = size(viewer);
    if (sz.w < 10 || sz.h < 10) return;
    // the top margin also holds the value readout line
    var m = MARGIN * Math.min(sz.w, sz.h), mt = Math.max(m, READOUT_PX), g = translateGain(viewer, d);
    for (var pass = 0; pass < 6; pass++) {
      viewer.render();
      var b = bbox(viewer, d);
      if (!b) return;
      var bw = Math.max(b.x1 - b.x0, 1), bh = Math.max(b.y1 - b.y0, 1);
      var f = Math.min((sz.w - 2 * m) / bw, (sz.h - m - mt) / bh);
      if (Math.abs(f - 1) > 0.01) { viewer.zoom(f); viewer.render(); b = bbox(viewer, d); }
      var dx = sz.w / 2 - (b.x0 + b.x1) / 2, dy = mt + (sz.h - m - mt) / 2 - (b.y0 + b.y1) / 2;
      if (Math.abs(dx) > 0.5 || Math.abs(dy) > 0.5) viewer.translate(dx / g.x, dy / g.y);
      if (Math.abs(f - 1) < 0.02 && Math.abs(dx) < 1 && Math.abs(dy) < 1) break;
    }
  }

  // -- readout ------------------------------------------------------------------------------
  function rotate(q, v) {   // quaternion q = [x, y, z, w] applied to vector v
    var x = v[0], y = v[1], z = v[2], qx = q[0], qy = q[1], qz = q[2], qw = q[3];
    var ix = qw * x + qy * z - qz * y, iy = qw * y + qz * x - qx * z;
    var iz = qw * z + qx * y - qy * x, iw = -qx * x - qy * y - qz * z;
    return [ix * qw + iw * -qx + iy * -qz - iz * -qy, iy * qw + iw * -qy + iz * -qx - ix * -qz,
            iz * qw + iw * -qz + ix * -qy - iy * -qx];
  }

  function projection(viewer, d) {
    var view = viewer.getView(), key = JSON.stringify(view) + size(viewer).w + "x" + size(viewer).h;
    if (d._proj && d._projKey === key) return d._proj;
    var n = d.V.length / 3, pts = new Array(n);
    for (var i = 0; i < n; i++) pts[i] = {x: d.V[3 * i], y: d.V[3 * i + 1], z: d.V[3 * i + 2]};
    var pn = panel(viewer), scr = viewer.modelToScreen(pts), q = view.slice(4, 8), depth = new Float64Array(n);
    scr = scr.map(function (p) { return {x: p.x - pn.left, y: p.y - pn.top}; });
    var front = new Uint8Array(n), hasN = d.N && d.N.length === d.V.length;
    for (var j = 0; j < n; j++) {
      depth[j] = rotate(q, [pts[j].x + view[0], pts[j].y + view[1], pts[j].z + view[2]])[2];
      front[j] = hasN ? (rotate(q, [d.N[3 * j], d.N[3 * j + 1], d.N[3 * j + 2]])[2] > -0.05 ? 1 : 0) : 1;
    }
    d._proj = {scr: scr, depth: depth, front: front};
    d._projKey = key;
    return d._proj;
  }

  /* The vertex under screen point (x, y) (canvas CSS pixels): among front-facing vertices
     within PICK_PX, the one nearest the viewer; -1 if the cursor is off the surface. */
  T.pick = function (viewer, x, y) {
    var d = viewer.__mepviz;
    if (!d || !d.V || !d.V.length) return -1;
    var p = projection(viewer, d), best = -1, bestDepth = -Infinity, r2 = PICK_PX * PICK_PX;
    for (var i = 0; i < p.scr.length; i++) {
      if (!p.front[i]) continue;
      var dx = p.scr[i].x - x, dy = p.scr[i].y - y;
      if (dx * dx + dy * dy <= r2 && p.depth[i] > bestDepth) { bestDepth = p.depth[i]; best = i; }
    }
    return best;
  };

  T.readoutText = function (d, i) {
    var v = d.values[i], x = d.V[3 * i], y = d.V[3 * i + 1], z = d.V[3 * i + 2];
    var txt = "V = " + (v < 0 ? "\u2212" : "+") + Math.abs(v).toFixed(d.decimals) + " " + d.unit;
    var best = null, bd = Infinity;
    (d.atoms || []).forEach(function (a) {
      var r = Math.hypot(a[1] - x, a[2] - y, a[3] - z);
      if (r < bd) { bd = r; best = a[0]; }
    });
    if (best !== null) txt += " \u00b7 nearest atom " + best + " (" + bd.toFixed(2) + " \u00c5)";
    return txt;
  };

  function attachReadout(viewer) {
    var d = viewer.__mepviz, canvas = viewer.getCanvas(), host = canvas.parentElement;
    if (viewer.__mepvizBox) viewer.__mepvizBox.style.display = (d && d.values) ? "" : "none";
    if (!d || !d.values || !host || viewer.__mepvizBox) return;
    var box = document.createElement("div");
    box.className = "mepviz-readout";
    box.style.cssText = "position:absolute;left:4px;top:2px;z-index:10;pointer-events:none;" +
      "font:12px sans-serif;background:rgba(255,255,255,0.8);color:#111;padding:1px 4px;" +
      "border-radius:3px;white-space:nowrap;max-width:calc(100% - 8px);overflow:hidden;";
    var hint = size(viewer).w < 320 ? "Hover to read V" : "Hover over the surface to read the potential";
    box.textContent = hint;
    box.style.left = (4 + viewer.col * size(viewer).w) + "px";   // its own cell of a viewer grid
    if (getComputedStyle(host).position === "static") host.style.position = "relative";
    host.appendChild(box);
    viewer.__mepvizBox = box;
    var pending = false, last = null;
    canvas.addEventListener("mousemove", function (ev) {
      last = ev;
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        var dd = viewer.__mepviz, pn = panel(viewer);
        var x = last.pageX - pn.left, y = last.pageY - pn.top;
        if (x < 0 || y < 0 || x > pn.w || y > pn.h) return;        // another cell of the grid
        var i = T.pick(viewer, x, y);
        box.textContent = i < 0 ? hint : T.readoutText(dd, i);
        box.dataset.vertex = String(i);
      });
    });
  }

  // -- PNG at print resolution --------------------------------------------------------------
  /* The view as a PNG `scale` times its size on screen (3 ≈ 300 dpi for a 10 cm figure):
     the viewer's container is enlarged, rendered, read back and restored. Returns a data URI. */
  T.png = function (viewer, scale) {
    scale = scale || PNG_SCALE;
    var canvas = viewer.getCanvas(), host = canvas.parentElement;
    var w = host.style.width, h = host.style.height, r = host.getBoundingClientRect();
    var viewers = T.registry.filter(function (v) { return v.getCanvas() === canvas; });
    host.style.width = (r.width * scale) + "px";
    host.style.height = (r.height * scale) + "px";
    var uri;
    try {
      viewers.forEach(function (v) { v.resize(); v.render(); });
      uri = viewer.pngURI();
    } finally {
      host.style.width = w; host.style.height = h;
      viewers.forEach(function (v) { v.resize(); v.render(); });
    }
    return uri;
  };

  function addPngButton(viewer) {
    var canvas = viewer.getCanvas(), host = canvas.parentElement;
    if (!host || host.__mepvizPng) return;
    host.__mepvizPng = true;            // one button per canvas (a grid shares one)
    var btn = document.createElement("button");
    btn.className = "mepviz-png";
    btn.textContent = "PNG";
    btn.title = "Download this view as a PNG at " + PNG_SCALE + "\u00d7 screen resolution";
    btn.style.cssText = "position:absolute;right:4px;top:2px;z-index:11;font:11px sans-serif;" +
      "padding:1px 6px;border:1px solid #999;border-radius:3px;background:rgba(255,255,255,0.85);cursor:pointer;";
    btn.addEventListener("click", function () {
      var a = document.createElement("a");
      a.href = T.png(viewer);
      a.download = (document.title && document.title !== "MEPviz 3D viewer" ? document.title : "mepviz-view")
        .replace(/[^A-Za-z0-9._-]+/g, "_") + ".png";
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
    host.appendChild(btn);
  }

  T.register = function (viewer, data) {
    viewer.__mepviz = data;
    if (T.registry.indexOf(viewer) < 0) T.registry.push(viewer);
  };

  /* After zoomTo()/render: frame and attach the readout of every registered viewer. */
  T.finish = function (viewers, fit) {
    var vs = viewers || T.registry;
    T.deferred(T.registry.concat(vs.filter(function (v) { return T.registry.indexOf(v) < 0; })), function () {
      vs.forEach(function (v) {
        try {
          if (fit !== false) fitNow(v);
          attachReadout(v);
          addPngButton(v);
        } catch (e) { console.warn("MEPviz view tools:", e); }
      });
    });
  };

  T.refit = function (viewer) { viewer.zoomTo(); T.fit(viewer); };

  /* Camera preset (mepviz.report.views.CameraPreset): bring cam.center to the rotation centre
     and turn the model by cam.quat (direction -> +z, towards the viewer); framing follows in
     finish()/fit(). */
  T.orient = function (viewer, cam) {
    if (!cam || !cam.quat) return;
    var v = viewer.getView();
    v[0] = -cam.center[0]; v[1] = -cam.center[1]; v[2] = -cam.center[2];
    v[4] = cam.quat[0]; v[5] = cam.quat[1]; v[6] = cam.quat[2]; v[7] = cam.quat[3];
    viewer.setView(v);
    viewer.__mepvizCamera = cam.key;
  };
  window.MEPvizTools = T;
})();
