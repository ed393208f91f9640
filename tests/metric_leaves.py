"""Flatten nested metric dicts, for comparing stored and recomputed metrics key by key."""
from __future__ import annotations


def leaves(d: dict, prefix: str = "") -> dict[str, float]:
    """{dotted.key: value} of every number in nested dicts (booleans and strings skipped)."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(leaves(v, f"{prefix}{k}."))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            out[f"{prefix}{k}"] = float(v)
    return out
