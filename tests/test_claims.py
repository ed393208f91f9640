"""Every statement about the models comes from the evaluation JSON and the cards
(mepviz.report.claims): the numbers in each sentence are recomputed here from the files, and
a sentence that disagrees with them fails."""
from __future__ import annotations

import json
import math
import re

import pytest

from mepviz.core import registry
from mepviz.core.paths import weights_dir
from mepviz.report import claims

QM9, SETS = claims.load_documents()
pytestmark = pytest.mark.skipif(QM9 is None, reason="weights/evaluation.json not written yet")


def _lookup(set_key, method, fld, qm9=None, sets=None):
    """The number straight from the JSON (not through claims.set_results)."""
    qm9, sets = qm9 or QM9, sets or SETS
    if set_key == "qm9":
        res = (qm9.get("models") or {}).get(method) or (qm9.get("baselines") or {}).get(method)
        return res["mep"]["overall"]["mae"] if fld == "mae" else res["mep"]["per_shell"]["1.4"]["mae"]
    m = sets["sets"][set_key]["methods"][method]
    return m["mep_iso"]["mae"] if fld == "mae" else m["mep_shells"]["1.4"]["mae"]


def disagreements(found, qm9=None, sets=None) -> list[str]:
    """Where the sentences `found` disagree with the JSON documents: a stated number that is
    not the file's (rounded as written), or a number missing from its sentence."""
    out = []
    for c in found:
        for name, (set_key, method, fld) in c.sources.items():
            want = round(_lookup(set_key, method, fld, qm9, sets), 2)
            if c.values[name] != want:
                out.append(f"{c.key}: {name} says {c.values[name]}, the JSON {want}")
        for name, v in c.values.items():
            if isinstance(v, float) and f"{v:.2f}" not in c.text:
                out.append(f"{c.key}: {name} = {v:.2f} is not in the sentence {c.text!r}")
    return out


def test_every_stated_number_is_in_the_json_and_in_the_sentence():
    found = claims.compare_claims(QM9, SETS)
    assert any(c.key == "paper_pair_qm9" for c in found)
    assert disagreements(found) == []


def _tampered():
    """Copies of both documents with the quadrupole model's QM9 MEP MAE and the dipole model's
    ion MAE changed (what a retrained model would do to the files)."""
    import copy
    qm9, sets = copy.deepcopy(QM9), copy.deepcopy(SETS)
    dip, quad = registry.PAPER_PAIR
    qm9["models"][quad]["mep"]["overall"]["mae"] += 0.37
    if sets and dip in ((sets.get("sets") or {}).get("ions") or {}).get("methods", {}):
        sets["sets"]["ions"]["methods"][dip]["mep_iso"]["mae"] -= 1.11
    return qm9, sets


def test_a_sentence_that_disagrees_with_the_json_fails():
    """The check above has teeth: sentences written from yesterday's files disagree with
    today's, and the sentences regenerated from today's files agree again."""
    qm9, sets = _tampered()
    stale = claims.compare_claims(QM9, SETS)
    found = disagreements(stale, qm9, sets)
    assert any(f.startswith("paper_pair_qm9: quadrupole") for f in found), found
    if sets and "ions" in (sets.get("sets") or {}):
        assert any(f.startswith("paper_pair_ions: dipole") for f in found), found
    assert disagreements(claims.compare_claims(qm9, sets), qm9, sets) == []


def test_compare_page_states_what_the_files_say(tmp_path, monkeypatch):
    """The Compare page renders the sentences of the JSON it finds (here a changed copy), not
    text typed into the page: every regenerated sentence appears, the stale ones do not."""
    from tests.pagehelpers import _clear_caches, app, no_exception
    qm9, sets = _tampered()
    (tmp_path / "evaluation.json").write_text(json.dumps(qm9))
    if sets:
        (tmp_path / "evaluation_beyond_qm9.json").write_text(json.dumps(sets))
    monkeypatch.setenv("MEPVIZ_EVALUATION_JSON", str(tmp_path / "evaluation.json"))
    _clear_caches()
    at = app("2_Compare_models.py")
    at.run()
    no_exception(at)
    page = " ".join(m.value for m in at.markdown)
    from appkit.compute import compare_models
    shown = {f"extra_{m}" for m in compare_models()}          # the page's models beyond the pair
    now = [c for c in claims.compare_claims(qm9, sets) if c.key.startswith("paper_pair_") or c.key in shown]
    assert any(c.key == "paper_pair_qm9" for c in now)
    for c in now:
        assert c.text in page, c.text
    changed = {c.key for c in claims.compare_claims(QM9, SETS)} & {c.key for c in now}
    for c in claims.compare_claims(QM9, SETS):
        if c.key in changed and c.text not in {x.text for x in now}:
            assert c.text not in page, c.text


def test_comparative_words_follow_the_numbers():
    dip, quad = registry.PAPER_PAIR
    for c in claims.compare_claims(QM9, SETS):
        if c.key == "paper_pair_qm9":
            ratio = _lookup("qm9", dip, "mae") / _lookup("qm9", quad, "mae")
            assert f"{ratio:.2f} times {'smaller' if ratio > 1 else 'larger'}" in c.text
        elif c.key.startswith("paper_pair_"):
            key = c.key[len("paper_pair_"):]
            a, b = round(_lookup(key, dip, "mae"), 2), round(_lookup(key, quad, "mae"), 2)
            better = "quadrupole model is better" if b < a else "dipole model is better" if a < b else "no difference"
            assert better in c.text, c.text


def test_per_set_table_recomputed_from_the_json():
    table = claims.per_set_table(QM9, SETS)
    assert list(table["name"][:2]) == list(registry.PAPER_PAIR)       # the paper's pair first
    col = {v: k for k, v in claims.SET_COLUMNS.items()}
    for label, row in table.iterrows():
        for c in table.columns[1:]:
            key = col[c]
            raw = {"esp-fit-charges": "esp-fit-0", "esp-fit-multipoles": "esp-fit-2"}.get(row["name"], row["name"]) \
                if key != "qm9" else row["name"]
            try:
                expect = _lookup(key, raw, "mae")
            except (KeyError, TypeError):
                expect = float("nan")
            assert (math.isnan(row[c]) and math.isnan(expect)) or row[c] == pytest.approx(expect), (label, c)


def test_home_description_from_the_cards():
    for name in registry.MODEL_NAMES:
        path = weights_dir() / f"{name}.json"
        if not path.exists():
            continue
        card = json.loads(path.read_text())
        text = claims.model_descriptions({name: card})[0]
        from mepviz.core.elements import symbol
        if card.get("training_elements"):
            assert "elements " + ", ".join(symbol(int(z)) for z in card["training_elements"]) in text
        if card.get("training_max_heavy_atoms"):
            assert f"up to {card['training_max_heavy_atoms']} heavy atoms" in text
        lo, hi = min(card.get("training_charges", [0])), max(card.get("training_charges", [0]))
        assert ("neutral" in text) if lo == hi == 0 else re.search(f"{lo:+d}".replace("-", "−") + r" … ", text)


def test_per_set_table_covers_every_set_variant_and_baseline():
    """Compare's table: the QM9 test split and every test set beyond QM9 in the files (drugs,
    SPICE, ions, σ-hole set), every shipped variant with a number on QM9, every baseline."""
    table = claims.per_set_table(QM9, SETS)
    sets = [claims.SET_COLUMNS[k] for k in ("qm9", *((SETS or {}).get("sets") or {}))]
    assert list(table.columns[1:]) == [c for c in claims.SET_COLUMNS.values() if c in sets]
    names = list(table["name"])
    shipped = [m for m in registry.MODEL_NAMES if (weights_dir() / f"{m}.json").exists()
               and m in (QM9.get("models") or {})]
    assert set(shipped) <= set(names) and set(registry.PAPER_PAIR) <= set(shipped)
    for m in registry.BASELINE_NAMES:
        if m in (QM9.get("baselines") or {}):
            assert m in names, m
    paper_and_default = {*registry.PAPER_PAIR, registry.DEFAULT_MODEL} & set(names)
    for m in paper_and_default:                               # the compared models: every set
        row = table[table["name"] == m].iloc[0]
        assert all(math.isfinite(row[c]) for c in table.columns[1:]), (m, row.to_dict())
