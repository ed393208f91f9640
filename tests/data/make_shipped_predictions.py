"""Reference predictions of the shipped weights, computed with the model code of d735708."""
import numpy as np, torch, subprocess
from mepviz.model import load_model
d = np.load("data/qm9/test.npz")
take = [0, 1, 2, 3]
off = np.concatenate([[0], np.cumsum(d["atom_count"])])
z = np.concatenate([d["z"][off[k]:off[k+1]] for k in take]).astype(np.int64)
pos = np.concatenate([d["pos"][off[k]:off[k+1]] for k in take])
batch = np.repeat(np.arange(len(take)), d["atom_count"][take])
out = {"z": z, "pos": pos, "batch": batch, "qm9_index": d["qm9_index"][take],
       "commit": np.array(subprocess.check_output(["git", "rev-parse", "HEAD"]).decode().strip())}
for name in ("dipole", "quadrupole"):
    for dt, tag in ((torch.float64, "f64"), (torch.float32, "f32")):
        m = load_model(f"weights/{name}", dtype=dt)
        with torch.no_grad():
            r = m(torch.from_numpy(z), torch.from_numpy(pos).to(dt), torch.from_numpy(batch))
        for k in ("charges", "atomic_dipoles", "atomic_quadrupoles", "dipole", "quadrupole"):
            out[f"{name}/{tag}/{k}"] = r[k].double().numpy()
np.savez_compressed("tests/data/shipped_predictions.npz", **out)
print({k: v.shape for k, v in out.items()})
