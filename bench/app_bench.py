"""App benchmark in a real browser: cold first page, warm SMILES → coloured surface, idle server CPU.

    python bench/app_bench.py [--out bench/app_results.md]

Starts `streamlit run app.py` (the repository's .streamlit/config.toml: file watcher off) on a
free local port, drives Debian's Chromium with Playwright (never `playwright install`) and
reports medians as a Markdown table:

- cold first page: from `page.goto` of a fresh server (and a fresh browser) until the landing
  page's live MEP view is on screen, median over --cold-repeats servers (the example is drawn
  from the gallery's stored predictions; the networks load in the background meanwhile);
- warm SMILES → coloured surface: typing a SMILES into the sidebar box on Explore until a 3D
  view with that molecule's formula is rendered (median of several molecules, 40-atom included);
- the largest accepted molecule (200 atoms) from SMILES, with the peak server RSS meanwhile;
- idle server CPU: CPU seconds used by the server process (and its children) over 30 s with
  one browser tab open and nothing happening, as a percentage of one core; and its RSS.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
#: (SMILES, formula shown by the app); the last is a 40-atom drug-like molecule
MOLECULES = [("CC(=O)Oc1ccccc1C(=O)O", "C9H8O4"), ("c1ccc2ccccc2c1", "C10H8"),
             ("CN1C=NC2=C1C(=O)N(C(=O)N2C)C", "C8H10N4O2"),
             ("CC(C)Cc1ccc(cc1)C(C)C(=O)NCCc1ccccc1", "C21H27NO")]


#: the largest molecule the app accepts: 200 atoms (limits.MAX_ATOMS)
LARGEST = ("C" * 66, "C66H134")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    import psutil
    p = psutil.Process(pid)
    procs = [p] + p.children(recursive=True)
    total = 0.0
    for q in procs:
        try:
            t = q.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def _rss_mb(pid: int) -> float:
    import psutil
    p = psutil.Process(pid)
    return sum(q.memory_info().rss for q in [p] + p.children(recursive=True)) / 2 ** 20


_VIEW_INFO = """() => { const v = document.querySelector('.mepviz-view'); if (!v) return null;
    return {formula: v.dataset.formula, vertices: +v.dataset.vertices,
            rendered: !!window.mepvizRendered && !!window.$3Dmol, canvas: !!v.querySelector('canvas')}; }"""


def _wait_view(page, formula: str, timeout_s: float) -> None:
    """Until a MEPviz 3D view (srcdoc iframe) of `formula` has drawn its coloured surface."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        for h in page.query_selector_all("iframe"):
            try:
                f = h.content_frame()
                info = f.evaluate(_VIEW_INFO) if f is not None else None
            except Exception:       # noqa: BLE001 - frames come and go while Streamlit reruns
                continue
            if info and info["formula"] == formula and info["rendered"] and info["canvas"] and info["vertices"] > 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"no rendered view of {formula} within {timeout_s} s")


def _start_server():
    """(process, url) of a fresh `streamlit run app.py` on a free port, once it answers."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    return proc, url


def _cold_first_page(p, url):
    """(s to the SMILES box, s to the landing page's live example MEP) in a new browser."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    t0 = time.perf_counter()
    page.goto(url + "/")
    page.get_by_label("SMILES", exact=True).wait_for(timeout=180_000)
    t_box = time.perf_counter() - t0
    _wait_view(page, "C5H5N", 180)            # the landing page's live example (pyridine)
    return browser, page, t_box, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "bench" / "app_results.md"))
    ap.add_argument("--idle-seconds", type=float, default=30.0)
    ap.add_argument("--cold-repeats", type=int, default=3, help="fresh servers for the cold first page")
    a = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright
    rows = []
    proc = None
    try:
        with sync_playwright() as p:
            boxes, meps = [], []
            for k in range(max(1, a.cold_repeats)):
                if proc is not None:
                    browser.close()
                    proc.terminate()
                    proc.wait(timeout=20)
                proc, url = _start_server()
                browser, page, t_box, t_mep = _cold_first_page(p, url)
                boxes.append(t_box)
                meps.append(t_mep)
            n = len(meps)
            spread = lambda x: f"median of {n} fresh servers ({', '.join(f'{v:.2f}' for v in x)} s)"  # noqa: E731
            rows.append(("cold first page: SMILES box on screen", f"{statistics.median(boxes):.2f} s", spread(boxes)))
            rows.append(("cold first page: live example MEP on screen", f"{statistics.median(meps):.2f} s", spread(meps)))
            page.goto(url + "/Explore")     # the last server: now warm
            page.get_by_label("SMILES", exact=True).wait_for(timeout=60_000)
            times = []
            for smi, formula in MOLECULES:
                box = page.get_by_label("SMILES", exact=True)
                box.fill(smi)
                t0 = time.perf_counter()
                box.press("Enter")
                _wait_view(page, formula, 60)
                times.append(time.perf_counter() - t0)
                rows.append((f"warm SMILES → coloured surface, {formula}", f"{times[-1]:.2f} s", "Explore page"))
            rows.append(("warm SMILES → coloured surface, median", f"{statistics.median(times):.2f} s",
                         f"{len(times)} molecules"))
            # the largest molecule the app accepts (limits.MAX_ATOMS = 200 atoms): peak server RSS
            import threading
            peak = [_rss_mb(proc.pid)]
            done = threading.Event()

            def sample():
                while not done.is_set():
                    peak[0] = max(peak[0], _rss_mb(proc.pid))
                    time.sleep(0.05)
            th = threading.Thread(target=sample, daemon=True)
            th.start()
            box = page.get_by_label("SMILES", exact=True)
            box.fill(LARGEST[0])
            t0 = time.perf_counter()
            box.press("Enter")
            _wait_view(page, LARGEST[1], 180)
            t_big = time.perf_counter() - t0
            done.set()
            th.join()
            rows.append((f"largest accepted molecule ({LARGEST[1]}, 200 atoms): SMILES → surface",
                         f"{t_big:.2f} s", "Explore page"))
            rows.append(("peak server RSS while loading it", f"{peak[0]:.0f} MiB", "server and its children, sampled every 50 ms"))
            time.sleep(3)
            c0 = _cpu_seconds(proc.pid)
            time.sleep(a.idle_seconds)
            idle = (_cpu_seconds(proc.pid) - c0) / a.idle_seconds * 100
            rows.append(("idle server CPU (one tab open)", f"{idle:.1f} %", f"over {a.idle_seconds:.0f} s, of one core"))
            rows.append(("server RSS after these pages", f"{_rss_mb(proc.pid):.0f} MiB", "server and its children"))
            browser.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
    md = ["# MEPviz app benchmark (real browser)", "",
          f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `python bench/app_bench.py` "
          f"on {os.cpu_count()} CPU cores; Chromium {CHROMIUM} headless. Single runs, not medians, except "
          "where stated; the machine may be shared.", "", "| Quantity | Value | Note |", "|---|---|---|"]
    md += [f"| {q} | {v} | {n} |" for q, v, n in rows]
    Path(a.out).write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
