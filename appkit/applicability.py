"""Applicability notes and refusals next to every result (wraps mepviz.applicability).

    from appkit import applicability
    if applicability.show(mol, "quadrupole"):    # notes as warnings; True if refused (error shown)
        st.stop()
    applicability.dft_refusal(mol)               # reason the DFT reference is refused, or None
"""
from __future__ import annotations

import streamlit as st

from mepviz.applicability import assess

from .text import plain


def show(mol, model_name: str | None = None, container=None) -> bool:
    """Show the notes (warnings) or the refusal (error) for `mol` with `model_name` (None:
    the DFT reference). Returns True when the result must not be shown."""
    a = assess(mol, model_name)
    c = container if container is not None else st
    what = f"the {model_name} model" if model_name else "the DFT reference"
    if a.refusal:
        c.error(plain(f"Not computed with {what}: {a.refusal}"), icon="🚫")
        return True
    for note in a.notes:
        c.warning(plain(note), icon="⚠️")
    return False


def dft_refusal(mol) -> str | None:
    return assess(mol, None).refusal
