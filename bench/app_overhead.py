"""App-side overhead of the warm path, server side: what a rerun of the Explore page costs
beyond the library's own work.

    OMP_NUM_THREADS=1 python bench/app_overhead.py [--repeat 3] [--out bench/app_overhead.md]

Runs the Explore page in-process with Streamlit's AppTest (no browser; models loaded and one
molecule shown first, so the path is warm) and, for each molecule of bench/app_bench.py:

- submit: the SMILES is submitted in the sidebar form; wall time of that page run (callback
  included), the parts of it spent in the library calls the page needs for the view (SMILES →
  3D geometry: mepviz.inputs.from_smiles; then surfaces: appkit.surfacekinds.make, networks:
  Predictor.predict, MEP on the surface + statistics: mepviz.predict.predict_mep_map — timed
  by wrapping them, outermost call only), and the rest: the app-side overhead;
- rerun: the same page run again with nothing changed (what every widget interaction costs);
- payload: bytes of all elements the page sends (serialised protobuf), and of the largest one.

Medians over `--repeat` passes (each pass uses fresh caches). Prints a Markdown table (and
writes it with --out). Times depend on the machine's load: compare runs made back to back.
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench.app_bench import MOLECULES  # noqa: E402

_LIB = {"input": 0.0, "map": 0.0}
_DEPTH = threading.local()


def _timed(fn, bucket: str):
    """Wrap a library function: add its wall time to _LIB[bucket] (outermost call only)."""
    @functools.wraps(fn)
    def wrapper(*a, **k):
        depth = getattr(_DEPTH, "n", 0)
        _DEPTH.n = depth + 1
        t0 = time.perf_counter()
        try:
            return fn(*a, **k)
        finally:
            _DEPTH.n = depth
            if depth == 0:
                _LIB[bucket] += time.perf_counter() - t0
    return wrapper


def _instrument() -> None:
    import appkit.surfacekinds as sk
    import mepviz.inputs as inputs
    import mepviz.predict as predict
    inputs.from_smiles = _timed(inputs.from_smiles, "input")
    sk.make = _timed(sk.make, "map")
    predict.Predictor.predict = _timed(predict.Predictor.predict, "map")
    predict.predict_mep_map = _timed(predict.predict_mep_map, "map")


def _payload(at) -> tuple[int, int, str]:
    """(total bytes, largest element's bytes, its name) of the page's leaf elements."""
    sizes = []

    def walk(node):
        kids = getattr(node, "children", None)
        if kids:
            for ch in kids.values():
                walk(ch)
        elif hasattr(node, "proto"):
            try:
                name = getattr(node, "key", None) or getattr(node.proto, "component_name", "") or node.type
                sizes.append((node.proto.ByteSize(), str(name)))
            except Exception:   # noqa: BLE001 - elements without a protobuf
                pass
    walk(at._tree)
    big = max(sizes)
    return sum(s for s, _ in sizes), big[0], big[1]


def _clear_caches() -> None:
    import streamlit as st

    from appkit import ketcher  # noqa: F401  (imports only)
    st.cache_data.clear()
    from mepviz.predict import clear_cache
    clear_cache()


def run(repeat: int) -> list[tuple[str, str, str]]:
    from streamlit.testing.v1 import AppTest
    _instrument()
    per = {formula: {"submit": [], "input": [], "map": [], "over": [], "rerun": [], "bytes": [], "big": []}
           for _, formula in MOLECULES}
    for _ in range(repeat):
        _clear_caches()
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
        at.run()
        at.switch_page("pages/1_Explore.py").run()

        def submit(smiles):
            at.sidebar.text_input(key="smiles_input").input(smiles)
            at.sidebar.button(key="smiles_load").click().run()
            if at.exception:
                raise RuntimeError([e.value for e in at.exception])
        submit("CCO")                                   # warm: models loaded, one molecule shown
        for smiles, formula in MOLECULES:
            _LIB.update(input=0.0, map=0.0)
            t0 = time.perf_counter()
            submit(smiles)
            t = time.perf_counter() - t0
            lib = _LIB["input"] + _LIB["map"]
            t0 = time.perf_counter()
            at.run()
            rerun = time.perf_counter() - t0
            total, big, name = _payload(at)
            d = per[formula]
            d["submit"].append(t)
            d["input"].append(_LIB["input"])
            d["map"].append(_LIB["map"])
            d["over"].append(t - lib)
            d["rerun"].append(rerun)
            d["bytes"].append(total)
            d["big"].append((big, name))
    rows = []
    med = statistics.median
    for _, formula in MOLECULES:
        d = per[formula]
        big = max(d["big"])
        rows.append((formula, f"{med(d['submit']):.2f} s", f"{med(d['input']):.2f} s", f"{med(d['map']):.2f} s",
                     f"{med(d['over']):.2f} s",
                     f"{med(d['rerun']):.2f} s", f"{med(d['bytes']) / 1024:.0f} KiB",
                     f"{big[0] / 1024:.0f} KiB ({big[1]})"))
    allv = {k: [x for d in per.values() for x in d[k]] for k in ("submit", "input", "map", "over", "rerun", "bytes")}
    rows.append(("median, all", f"{med(allv['submit']):.2f} s", f"{med(allv['input']):.2f} s", f"{med(allv['map']):.2f} s",
                 f"{med(allv['over']):.2f} s", f"{med(allv['rerun']):.2f} s",
                 f"{med(allv['bytes']) / 1024:.0f} KiB", ""))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=None, help="also write the table to this Markdown file")
    a = ap.parse_args(argv)
    rows = run(a.repeat)
    head = ("| molecule | submit → page done | library: SMILES → 3D | library: surface, networks, MEP "
            "| app-side overhead | rerun, nothing changed | page payload | largest element |\n"
            "|---|---|---|---|---|---|---|---|")
    table = head + "\n" + "\n".join("| " + " | ".join(r) + " |" for r in rows)
    import datetime
    text = (f"# Explore page: app-side overhead of the warm path (server side)\n\n"
            f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by "
            f"`OMP_NUM_THREADS=1 python bench/app_overhead.py --repeat {a.repeat}` on {os.cpu_count()} CPU cores "
            f"(Streamlit AppTest, in-process; medians of {a.repeat} passes; the machine may be shared).\n\n"
            f"{table}\n")
    print(text)
    if a.out:
        Path(a.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
