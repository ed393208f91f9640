"""Let gpu4pyscf run without its CUDA libxc (gpu4pyscf-libxc, 110 MB): XC on CPU via PySCF's libxc.

gpu4pyscf.dft.numint.eval_xc_eff already falls back to PySCF's CPU libxc for functionals
that are not `on_gpu`; this makes the CUDA library optional so every functional takes that path.
Usage: python patch_libxc.py SITE_DIR
"""
import sys, os
path = os.path.join(sys.argv[1], "gpu4pyscf", "dft", "libxc.py")
src = open(path).read()
old_load = "_libxc = load_library('libxc', path='gpu4pyscf/lib/deps/lib')"
assert old_load in src
src = src.replace(old_load, "try:\n    " + old_load + "\nexcept OSError:\n    _libxc = None")
old_ver = """_libxc.xc_version_string.restype = ctypes.c_char_p
_libxc_version = _libxc.xc_version_string().decode()
__version__ = _libxc_version + ' (CUDA)'"""
assert old_ver in src
src = src.replace(old_ver, """if _libxc is not None:
    _libxc.xc_version_string.restype = ctypes.c_char_p
    _libxc_version = _libxc.xc_version_string().decode()
    __version__ = _libxc_version + ' (CUDA)'
else:
    _libxc_version = 'none'
    __version__ = 'CPU fallback (PySCF libxc)'
    XC_IDS = np.zeros(0, dtype=np.int32)
    XC_CODES = {}""")
open(path, "w").write(src)
print("patched", path)
