"""Applicability notes and refusals next to every result. The verdicts come from
mepviz.ml.applicability, assessed once per molecule and model (read from the prediction or
the cached refusal: ``compute.model_verdict``; the DFT reference's: ``compute.dft_verdict``).

    from appkit import applicability, compute
    if applicability.show(compute.model_verdict(mol, "quadrupole"), "quadrupole"):
        st.stop()                                # refused: the error is shown
    applicability.dft_refusal(mol)               # reason the DFT reference is refused, or None
"""
from __future__ import annotations

import streamlit as st

from . import compute
from .text import plain


def show(verdict, model_name: str | None = None, container=None) -> bool:
    """Show the notes (warnings) or the refusal (error) of `verdict` (a
    mepviz.ml.applicability.Applicability, or None: nothing to show) for `model_name` (None:
    the DFT reference). Returns True when the result must not be shown."""
    if verdict is None:
        return False
    c = container if container is not None else st
    what = f"the {model_name} model" if model_name else "the DFT reference"
    if verdict.refusal:
        c.error(plain(f"Not computed with {what}: {verdict.refusal}"), icon="🚫")
        return True
    for note in verdict.notes:
        c.warning(plain(note), icon="⚠️")
    return False


def dft_refusal(mol) -> str | None:
    """Why the DFT reference is refused for `mol`, or None."""
    return compute.dft_verdict(mol).refusal
