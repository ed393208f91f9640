"""The DFT wall-time model calibrated on finished runs (mepviz.timing)."""
from __future__ import annotations

import pytest

from mepviz import timing


def test_fit_recovers_the_law_behind_the_records(tmp_path):
    a, b, c, k = 2.0, 0.5, 1.0, 3e-8
    for nao, nat in ((150, 8), (240, 12), (330, 20), (420, 30), (600, 45)):
        timing.record(str(tmp_path), nao=nao, n_atoms=nat, scf_s=a * (nao / 100) ** 3 + b * nat + c)
        timing.record(str(tmp_path), nao=nao, mep_points=5000, mep_s=k * 5000 * nao * (nao + 1) / 2)
    (tmp_path / timing.FILENAME).open("a").write("not json\n")          # a torn line is skipped
    m = timing.load_model(str(tmp_path))
    assert m is not None and m.n_records == 5
    assert m.scf_seconds(500, 40) == pytest.approx(a * 125 + b * 40 + c, rel=1e-6)
    assert m.mep_seconds(500, 1000) == pytest.approx(k * 1000 * 500 * 501 / 2, rel=1e-9)


def test_too_few_records_give_no_model(tmp_path):
    timing.record(str(tmp_path), nao=100, n_atoms=5, scf_s=3.0)
    timing.record(str(tmp_path), nao=100, n_atoms=5, scf_s=3.2)
    timing.record(str(tmp_path), nao=100, n_atoms=5, scf_s=2.9)
    assert timing.load_model(str(tmp_path)) is None        # one size only: nothing to fit
    assert timing.load_model(None) is None
