"""Issue 21 in a real browser: the per-browser limit of DFT jobs holds across the browser's
tabs (a new tab does not escape it), while another browser gets its own job."""
from __future__ import annotations

from tests.browser.helpers import shot, wait_idle, wait_rendered_view

LONG, OTHER, THIRD = ("CCCCCCCCCCCC", "C12H26"), ("CCCCCCCCCCCO", "C11H24O"), ("CCCCCCCCCCCN", "C11H25N")


def _explore(ctx, server, smiles: str, formula: str):
    pg = ctx.new_page()
    pg.set_default_timeout(60_000)
    pg.goto(f"{server}/Explore?smiles={smiles}")
    wait_rendered_view(pg, formula)
    wait_idle(pg)
    return pg


def test_a_new_tab_does_not_escape_the_per_browser_dft_limit(browser, server):
    ctx, other = browser.new_context(viewport={"width": 1500, "height": 2400}), None
    try:
        tab1 = _explore(ctx, server, *LONG)
        tab1.get_by_role("button", name="Compute DFT reference").click()
        tab1.get_by_text("DFT reference running").first.wait_for(timeout=60_000)
        tab2 = _explore(ctx, server, *OTHER)                          # the same browser, a new tab
        tab2.get_by_role("button", name="Compute DFT reference").click()
        tab2.get_by_text("This browser already has 1 DFT job in progress").first.wait_for(timeout=30_000)
        assert tab2.get_by_text("DFT reference running").count() == 0
        shot(tab2, "21_second_tab_refused")
        other = browser.new_context(viewport={"width": 1500, "height": 2400})     # another browser
        tab3 = _explore(other, server, *THIRD)
        tab3.get_by_role("button", name="Compute DFT reference").click()
        tab3.get_by_text("waiting in the queue").first.wait_for(timeout=30_000)   # accepted (one worker)
        tab3.get_by_role("button", name="Cancel").click()
        tab1.get_by_role("button", name="Cancel").click()
        tab1.get_by_text("cancelled").first.wait_for(timeout=30_000)
    finally:
        ctx.close()
        if other is not None:
            other.close()
