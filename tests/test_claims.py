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


def _lookup(set_key, method, fld):
    """The number straight from the JSON (not through claims.set_results)."""
    if set_key == "qm9":
        res = (QM9.get("models") or {}).get(method) or (QM9.get("baselines") or {}).get(method)
        return res["mep"]["overall"]["mae"] if fld == "mae" else res["mep"]["per_shell"]["1.4"]["mae"]
    m = SETS["sets"][set_key]["methods"][method]
    return m["mep_iso"]["mae"] if fld == "mae" else m["mep_shells"]["1.4"]["mae"]


def test_every_stated_number_is_in_the_json_and_in_the_sentence():
    found = claims.compare_claims(QM9, SETS)
    assert any(c.key == "paper_pair_qm9" for c in found)
    for c in found:
        for name, (set_key, method, fld) in c.sources.items():
            assert c.values[name] == round(_lookup(set_key, method, fld), 2), (c.key, name)
        for name, v in c.values.items():
            if isinstance(v, float):
                assert f"{v:.2f}" in c.text, (c.key, name, v, c.text)


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
