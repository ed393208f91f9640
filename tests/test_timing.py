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


def test_fresh_install_estimates_from_the_shipped_calibration(tmp_path):
    """Without records of its own, the estimate comes from the shipped development-machine
    records (bench/dft_estimate.py --write-default); this machine's first runs are fitted
    together with them, and alone from MIN_OWN_RECORDS on (calibrated from MIN_RECORDS)."""
    from mepviz.inputs import from_smiles
    from mepviz.reference import ReferenceEngine
    shipped = timing.default_model()
    assert shipped is not None and shipped.n_records >= 5 and shipped.mep_rate
    engine = ReferenceEngine(cache_dir=str(tmp_path))
    mol = from_smiles("CC(=O)Oc1ccccc1C(=O)O")
    nao = engine.basis_size(mol)
    est, calibrated = timing.estimate_seconds(engine, mol, 5000)
    assert not calibrated
    assert est == pytest.approx(shipped.scf_seconds(nao, mol.n_atoms) + shipped.mep_seconds(nao, 5000)
                                + shipped.startup_s)
    assert 40 < est < 600          # aspirin on one core: minutes, not the old rule's 23 s
    # a machine twice as slow: its first runs pull the estimate up, fully once it has enough
    slow = [r for r in timing.default_records() if "scf_s" in r]
    for r in slow[-timing.MIN_RECORDS:]:
        timing.record(str(tmp_path), nao=r["nao"], n_atoms=r["n_atoms"], scf_s=2 * r["scf_s"])
    est2, calibrated2 = timing.estimate_seconds(engine, mol, 5000)
    assert calibrated2 and est2 > est
    for k in range(timing.MIN_OWN_RECORDS):
        r = slow[k % len(slow)]
        timing.record(str(tmp_path), nao=r["nao"], n_atoms=r["n_atoms"], scf_s=2 * r["scf_s"])
    est3, _ = timing.estimate_seconds(engine, mol, 5000)      # now from its own records alone
    own = timing.load_model(str(tmp_path))
    assert own.mep_rate is None and own.startup_s == timing.DEFAULT_STARTUP_S
    assert est3 == pytest.approx(own.scf_seconds(nao, mol.n_atoms) + own.startup_s
                                 + timing.DEFAULT_MEP_RATE * 5000 * nao * (nao + 1) / 2, rel=1e-9)


def test_worker_start_up_is_learned_from_the_records(tmp_path):
    for nao, s in ((100, 1.8), (200, 2.2), (300, 2.0)):
        timing.record(str(tmp_path), nao=nao, n_atoms=nao // 15, scf_s=nao / 20, startup_s=s)
    assert timing.load_model(str(tmp_path)).startup_s == pytest.approx(2.0)


def test_worker_measures_its_own_start_up():
    """appkit.dft_worker._process_age_s: seconds since the process started (Linux /proc)."""
    import os
    import subprocess
    import sys
    code = ("import time; time.sleep(0.5); from appkit.dft_worker import _process_age_s; "
            "print(_process_age_s())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(__file__)))
    age = out.stdout.strip()
    if age == "None":
        pytest.skip("no /proc on this system")
    assert 0.5 <= float(age) < 30
