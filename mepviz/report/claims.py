"""Every statement the app makes about the models, generated from the evaluation files and the
model cards (never typed): the per-set accuracy table (QM9 test split and the test sets beyond
QM9, every variant and baseline), the sentences of the Compare page, and the description of
the models on the Home page.

    qm9, sets = load_documents()                 # weights/evaluation.json, evaluation_beyond_qm9.json
    per_set_table(qm9, sets)                     # DataFrame: method × test set, MEP MAE (kcal/mol/e)
    for c in compare_claims(qm9, sets): c.text, c.values     # sentences + the numbers they state
    model_descriptions({name: card})             # Markdown bullets from the cards

Each :class:`Claim` carries the numbers it states (``values``) and the document entries they
come from (``sources``): tests/test_claims.py recomputes them from the JSON and fails when a
sentence and the JSON disagree. MEP in kcal/mol/e (isodensity points), moments in D and D·Å.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core import registry
from ..core.elements import symbol
from ..core.paths import evaluation_path

#: the test sets of the table, in column order: key -> column label (QM9 first)
SET_COLUMNS = {"qm9": "QM9 test", "drugs": "drug-like", "spice": "SPICE P/S/Cl/Br/I", "ions": "ions",
               "sigma_hole": "σ-hole set"}
#: names of the same method in the two files -> one canonical name
ALIASES = {"esp-fit-0": "esp-fit-charges", "esp-fit-2": "esp-fit-multipoles"}
BETTER = "better"


def beyond_path(qm9_path=None) -> Path:
    """weights/evaluation_beyond_qm9.json (train/evaluate_sets.py), beside evaluation.json."""
    return Path(qm9_path or evaluation_path()).with_name("evaluation_beyond_qm9.json")


def _read(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path.name} is not valid JSON ({exc})") from None


def load_documents(qm9_path=None) -> tuple[dict | None, dict | None]:
    """(evaluation.json, evaluation_beyond_qm9.json) as dicts; None for a missing file."""
    p = Path(qm9_path or evaluation_path())
    return _read(p), _read(beyond_path(p))


# --------------------------------------------------------------------------- numbers
def _qm9_methods(doc: dict | None) -> dict[str, dict]:
    out = {}
    for section in ("models", "baselines"):
        for name, res in ((doc or {}).get(section) or {}).items():
            if isinstance(res, dict):
                out[ALIASES.get(name, name)] = res
    return out


def set_results(qm9: dict | None, sets: dict | None) -> dict[str, dict[str, dict]]:
    """{set key: {canonical method: {"label", "mae", "mae_1.4", "dipole_mae", "skipped",
    "caps"}}} from both files (QM9 under "qm9")."""
    out: dict[str, dict[str, dict]] = {}
    rows = {}
    for name, res in _qm9_methods(qm9).items():
        mep = res.get("mep") or {}
        rows[name] = {"label": res.get("label", name), "mae": (mep.get("overall") or {}).get("mae"),
                      "mae_1.4": ((mep.get("per_shell") or {}).get("1.4") or {}).get("mae"),
                      "dipole_mae": (res.get("moments") or {}).get("dipole_magnitude_mae_debye"),
                      "kind": res.get("kind")}
    if rows:
        out["qm9"] = rows
    for key, res in ((sets or {}).get("sets") or {}).items():
        rows = {}
        caps = res.get("halogen_caps") or {}
        for name, m in (res.get("methods") or {}).items():
            canon = ALIASES.get(name, name)
            row = {"label": m.get("label", name), "skipped": m.get("skipped"),
                   "mae": (m.get("mep_iso") or {}).get("mae"),
                   "mae_1.4": ((m.get("mep_shells") or {}).get("1.4") or {}).get("mae"),
                   "dipole_mae": (m.get("moments") or {}).get("dipole_magnitude_mae_debye")}
            if isinstance(caps.get(name), dict):
                row["caps"] = caps[name]
            rows[canon] = row
        out[key] = rows
    return out


def method_order(results: dict) -> list[str]:
    """Models in registry order (the paper's pair first), then baselines, then the floors."""
    seen = [m for rows in results.values() for m in rows]
    models = [*registry.PAPER_PAIR, *(m for m in registry.MODEL_NAMES if m not in registry.PAPER_PAIR)]
    first = [m for m in models if m in seen]
    base = [m for m in registry.BASELINE_NAMES if m in seen]
    rest = [m for m in dict.fromkeys(seen) if m not in first and m not in base]
    return first + base + rest


def per_set_table(qm9: dict | None, sets: dict | None, value: str = "mae") -> pd.DataFrame:
    """Method × test set: MEP MAE on the isodensity points (kcal/mol/e; `value` "mae_1.4" for
    the 1.4 × vdW shell, "dipole_mae" for |μ| in D). A method not evaluated on a set (e.g. a
    model not trained on its chemistry) is NaN. Index: method labels; column "name": the
    canonical method name."""
    res = set_results(qm9, sets)
    cols = [k for k in SET_COLUMNS if k in res]
    rows = []
    for m in method_order(res):
        label = next((res[k][m]["label"] for k in cols if m in res[k]), m)
        rows.append({"method": label.removeprefix("ML "), "name": m,
                     **{SET_COLUMNS[k]: _num((res[k].get(m) or {}).get(value)) for k in cols}})
    return pd.DataFrame(rows).set_index("method") if rows else pd.DataFrame()


def caps_table(sets: dict | None) -> pd.DataFrame:
    """Method × test set: halogen caps with DFT's sign, as "right/caps" text, from the
    ``halogen_caps`` tables of evaluation_beyond_qm9.json (empty when none are written)."""
    res = set_results(None, sets)
    cols = [k for k in SET_COLUMNS if k in res and any("caps" in r for r in res[k].values())]
    rows = []
    for m in method_order(res):
        cells = {}
        for k in cols:
            c = (res[k].get(m) or {}).get("caps")
            cells[SET_COLUMNS[k]] = f"{c['sign_right']}/{c['caps']}" if c else "—"
        if any(v != "—" for v in cells.values()):
            label = next((res[k][m]["label"] for k in cols if m in res[k]), m)
            rows.append({"method": label.removeprefix("ML "), **cells})
    return pd.DataFrame(rows).set_index("method") if rows else pd.DataFrame()


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


# --------------------------------------------------------------------------- sentences
@dataclass(frozen=True)
class Claim:
    """A sentence and the numbers it states: ``values`` name → number as written (rounded as
    in the text), ``sources`` name → (set key, method, field) it was read from."""

    key: str
    text: str
    values: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)


def _f(x: float, d: int = 2) -> str:
    return f"{x:.{d}f}"


def _comparison(a: float, b: float) -> str:
    """'smaller' / 'larger' / 'the same' for a vs b (as rounded in the text, 2 decimals)."""
    ra, rb = round(a, 2), round(b, 2)
    return "the same" if ra == rb else ("smaller" if ra < rb else "larger")


def compare_claims(qm9: dict | None, sets: dict | None) -> list[Claim]:
    """The Compare page's statements, each from the numbers: the paper's pair on QM9 (MAE on
    the isodensity points and on the 1.4 × vdW shell), the pair on every other test set (which
    one is better there, whichever it is), and what the extra model of the registry (e.g. the
    MEP-trained default) adds beyond the paper."""
    res = set_results(qm9, sets)
    dip, quad = registry.PAPER_PAIR
    out = []
    q = res.get("qm9", {})
    if dip in q and quad in q and q[dip]["mae"] is not None and q[quad]["mae"] is not None:
        a, b = q[dip]["mae"], q[quad]["mae"]
        ratio = a / b
        n = ((qm9 or {}).get("test_set") or {}).get("n_molecules", "the")
        word = "smaller" if ratio > 1 else "larger"
        text = (f"On the {n} QM9 test molecules, the quadrupole model's MEP error on the isodensity surface "
                f"is {_f(b)} kcal/mol/e against {_f(a)} for the dipole model: {_f(ratio)} times "
                f"{word if abs(ratio - 1) >= 0.005 else 'the same'}")
        vals = {"quadrupole": round(b, 2), "dipole": round(a, 2), "ratio": round(ratio, 2)}
        src = {"quadrupole": ("qm9", quad, "mae"), "dipole": ("qm9", dip, "mae")}
        a14, b14 = q[dip].get("mae_1.4"), q[quad].get("mae_1.4")
        if a14 is not None and b14 is not None:
            text += (f"; on the 1.4 × vdW shell, {_f(b14)} against {_f(a14)} "
                     f"({_f(a14 / b14)} times {'smaller' if a14 > b14 else 'larger'})")
            vals.update({"quadrupole_1.4": round(b14, 2), "dipole_1.4": round(a14, 2), "ratio_1.4": round(a14 / b14, 2)})
            src.update({"quadrupole_1.4": ("qm9", quad, "mae_1.4"), "dipole_1.4": ("qm9", dip, "mae_1.4")})
        out.append(Claim("paper_pair_qm9", text + ".", vals, src))
    for key in (k for k in SET_COLUMNS if k != "qm9" and k in res):
        r = res[key]
        if not all(m in r and r[m].get("mae") is not None for m in (dip, quad)):
            continue
        a, b = r[dip]["mae"], r[quad]["mae"]
        word = _comparison(b, a)
        verdict = ("the quadrupole model is better here" if word == "smaller" else
                   "the dipole model is better here" if word == "larger" else "no difference at this precision")
        label = ((sets or {}).get("sets") or {}).get(key, {}).get("label", SET_COLUMNS[key])
        out.append(Claim(f"paper_pair_{key}",
                         f"On the test set “{label}”: quadrupole model {_f(b)}, dipole model {_f(a)} kcal/mol/e — {verdict}.",
                         {"quadrupole": round(b, 2), "dipole": round(a, 2), "comparison": word},
                         {"quadrupole": (key, quad, "mae"), "dipole": (key, dip, "mae")}))
    for extra in (m for m in registry.MODEL_NAMES if m not in registry.PAPER_PAIR):
        claim = _extra_claim(extra, res)
        if claim is not None:
            out.append(claim)
    return out


def _extra_claim(name: str, res: dict) -> Claim | None:
    """One sentence on a model beyond the paper's pair: its MAE on every set where it was
    evaluated, against the better of the pair, and its σ-hole caps when scored."""
    dip, quad = registry.PAPER_PAIR
    parts, vals, src = [], {}, {}
    for key in SET_COLUMNS:
        r = res.get(key, {})
        m = r.get(name)
        if not m or m.get("mae") is None:
            continue
        pair = [r[p]["mae"] for p in (dip, quad) if p in r and r[p].get("mae") is not None]
        if not pair:
            continue
        best = min(pair)
        parts.append(f"{SET_COLUMNS[key]} {_f(m['mae'])} (paper's best {_f(best)})")
        vals[f"{key}"] = round(m["mae"], 2)
        vals[f"{key}_pair_best"] = round(best, 2)
        src[f"{key}"] = (key, name, "mae")
    if not parts:
        return None
    variant = registry.MODELS.get(name)
    text = (f"Beyond the paper, the {registry.model_label(name)}, fitted to "
            f"{variant.fits if variant else name}, reaches (MEP MAE, kcal/mol/e): " + "; ".join(parts))
    caps = (res.get("sigma_hole", {}).get(name) or {}).get("caps")
    if caps:
        text += f"; σ-hole caps with DFT's sign: {caps['sign_right']} of {caps['caps']}"
        vals["caps_right"], vals["caps"] = caps["sign_right"], caps["caps"]
    return Claim(f"extra_{name}", text + ".", vals, src)


# --------------------------------------------------------------------------- model cards
def _charges_text(charges) -> str:
    q = sorted(int(c) for c in charges)
    if q == [0]:
        return "neutral molecules only"
    fmt = [f"{c:+d}".replace("-", "−") if c else "0" for c in q]
    if q == list(range(q[0], q[-1] + 1)):
        return f"total charges {fmt[0]} … {fmt[-1]}"
    return "total charges " + ", ".join(fmt)


def model_facts(card: dict) -> dict:
    """What a card says about a model's training chemistry: elements (symbols), charges,
    largest molecule (heavy atoms), DFT training molecules; absent entries are None."""
    els = card.get("training_elements")
    return {"elements": [symbol(int(z)) for z in els] if els else None,
            "charges": card.get("training_charges"),
            "max_heavy_atoms": card.get("training_max_heavy_atoms"),
            "dft_molecules": ((card.get("data") or {}).get("dft_train") or {}).get("molecules")}


def model_descriptions(cards: dict[str, dict]) -> list[str]:
    """One Markdown bullet per model with a card: its label, what it was fitted to (registry),
    and its training chemistry from the card (elements, total charges, size)."""
    out = []
    for name, card in cards.items():
        if not card:
            continue
        f = model_facts(card)
        variant = registry.MODELS.get(name)
        bits = []
        if f["elements"]:
            bits.append("elements " + ", ".join(f["elements"]))
        if f["charges"] is not None:
            bits.append(_charges_text(f["charges"]))
        if f["max_heavy_atoms"]:
            bits.append(f"up to {f['max_heavy_atoms']} heavy atoms")
        if f["dft_molecules"]:
            bits.append(f"{f['dft_molecules']} DFT training molecules")
        out.append(f"**{registry.model_label(name)}**: fitted to {variant.fits if variant else card.get('loss', '?')}; "
                   "trained on " + "; ".join(bits) + ".")
    return out
