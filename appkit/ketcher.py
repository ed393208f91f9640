"""The Ketcher drawing editor (streamlit-ketcher's bundled frontend) without its init error.

ketcher-react 2.x reads ``window.ketcher`` when its ``ketcher-init`` event fires (and again on
unmount, from the context menu and from image export) and expects the host page's ``onInit`` to
have set it; streamlit-ketcher 0.0.1 never does, so every page load logged
``Cannot read properties of undefined (reading 'eventBus')``. :func:`st_ketcher` serves a copy
of the package's frontend (source maps left out) whose ``onInit`` sets ``window.ketcher`` first:
one exact string replaced in ``main.*.js``. If the installed package does not contain that
string (another version), the stock component is used unchanged.

    from appkit.ketcher import st_ketcher
    smiles = st_ketcher("c1ccccc1", height=460, key="draw")   # same call as streamlit_ketcher's
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

#: streamlit-ketcher 0.0.1's onInit callback (minified MyComponent.handleKetcherInit) ...
PATCH_FROM = "(function(e){s(e),d&&e.setMolecule(d)})"
#: ... and the same callback publishing the instance where ketcher-react looks for it
PATCH_TO = "(function(e){window.ketcher=e,s(e),d&&e.setMolecule(d)})"
COMPONENT_NAME = "mepviz_ketcher"


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mepviz"


@lru_cache(maxsize=1)
def patched_frontend() -> Path | None:
    """Folder with the patched copy of streamlit-ketcher's frontend (built once per version,
    atomically), or None when the package is missing or its code does not match PATCH_FROM."""
    try:
        import streamlit_ketcher
    except ImportError:
        return None
    src = Path(streamlit_ketcher.__file__).parent / "frontend"
    mains = sorted((src / "static" / "js").glob("main.*.js"))
    if len(mains) != 1:
        return None
    code = mains[0].read_text(encoding="utf-8")
    if code.count(PATCH_FROM) != 1:
        return None
    patched = code.replace(PATCH_FROM, PATCH_TO)
    digest = hashlib.sha256(patched.encode()).hexdigest()[:16]
    root = _cache_root()
    dest = root / f"ketcher-{digest}"
    if (dest / "index.html").is_file():
        return dest
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".ketcher-", dir=root))
    except OSError:                     # no writable cache: a private folder for this process
        root, tmp = None, Path(tempfile.mkdtemp(prefix="mepviz-ketcher-"))
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("*.map"), dirs_exist_ok=True)
    (tmp / "static" / "js" / mains[0].name).write_text(patched, encoding="utf-8")
    if root is None:
        return tmp
    try:
        os.replace(tmp, dest)           # another process may have won the race: use its copy
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def st_ketcher(value: str = "", *, height: int = 500, key: str | None = None) -> str:
    """The editor (SMILES in, SMILES out on "Apply"); the arguments of streamlit_ketcher.st_ketcher."""
    folder = patched_frontend()
    if folder is None:
        from streamlit_ketcher import st_ketcher as stock
        return stock(value, height=height, key=key)
    import streamlit.components.v1 as components
    # declared at call time: registration needs a running script (as appkit.viewer does)
    comp = components.declare_component(COMPONENT_NAME, path=str(folder))
    return comp(molecule=value, height=height, molecule_format="SMILES", key=key, default=value)
