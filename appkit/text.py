"""Plain text in Markdown: user-supplied strings (molecule names, file names, SMILES) are
shown literally, never interpreted as Markdown or HTML (no links, images or markup)."""
from __future__ import annotations

import html
import re

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:=^])")


def plain(text) -> str:
    """`text` escaped for ``st.markdown``/``st.caption``/``st.warning``: Markdown specials
    backslash-escaped, HTML entities escaped, newlines folded into spaces."""
    s = " ".join(str(text).split())
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return html.escape(s, quote=False)
