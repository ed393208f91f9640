"""MEPviz — the app's entry point: named navigation over the pages in pages/.

Run:  streamlit run app.py
"""
from __future__ import annotations

import streamlit as st

PAGES = [
    st.Page("pages/0_Home.py", title="Home", icon="⚡", default=True),
    st.Page("pages/1_Explore.py", title="Explore", icon="🔬"),
    st.Page("pages/2_Compare_models.py", title="Compare models", icon="⚖️"),
    st.Page("pages/3_Batch.py", title="Batch", icon="📋"),
    st.Page("pages/4_Learn.py", title="Learn", icon="🎓"),
]

st.navigation(PAGES).run()
