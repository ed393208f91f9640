"""The prediction API: molecule -> atomic multipoles -> MEP on a surface.

Every consumer (the app, the command line, the evaluation script, the benchmark) goes
through this module, so the models are loaded once and the units are stated once:

- charges in e, atomic dipoles in e·Å, atomic quadrupoles (traceless Buckingham) in e·Å²;
- the molecular dipole μ (e·Å) and quadrupole Θ (e·Å²) are assembled from the atomic
  multipoles with the formulas of docs/physics.md about the centre of mass (for a neutral molecule
  μ does not depend on the origin);
- the MEP is in kcal/mol/e.

    >>> from mepviz.inputs import from_smiles
    >>> from mepviz.predict import get_predictor, predict_mep_map
    >>> pred = get_predictor("quadrupole").predict(from_smiles("O"))
    >>> pred.dipole, pred.mep([[0.0, 0.0, 3.0]])
    >>> mep_map = predict_mep_map(from_smiles("O"))   # surface + values + statistics
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .electrostatics import (molecular_dipole, molecular_quadrupole, multipole_potential, principal_values,
                             surface_statistics)
from .applicability import assess
from .limits import check_points
from .molecule import Molecule
from .paths import weights_dir as default_weights_dir
from .registry import DEFAULT_MODEL, DEFAULT_SURFACE, check_model_name
from .registry import MODEL_NAMES as AVAILABLE_MODELS
from .units import DEBYE_PER_E_ANGSTROM

UNITS = {
    "positions": "angstrom",
    "charges": "e",
    "atomic_dipoles": "e*angstrom",
    "atomic_dipoles_debye": "debye",
    "atomic_quadrupoles": "e*angstrom^2 (traceless Buckingham)",
    "atomic_quadrupoles_debye_angstrom": "debye*angstrom (traceless Buckingham)",
    "dipole": "e*angstrom",
    "dipole_debye": "debye",
    "quadrupole": "e*angstrom^2 (traceless Buckingham, about the centre of mass)",
    "quadrupole_debye_angstrom": "debye*angstrom (traceless Buckingham, about the centre of mass)",
    "mep": "kcal/mol/e",
}


def installed_models(weights_dir=None) -> tuple[str, ...]:
    """The registry's variants whose weights (``<name>.pt``) are present."""
    wdir = Path(weights_dir) if weights_dir is not None else default_weights_dir()
    return tuple(m for m in AVAILABLE_MODELS if (wdir / f"{m}.pt").exists())


def model_card(name: str, weights_dir=None) -> dict | None:
    """The card ``<name>.json`` of an installed variant, or None when its weights are missing."""
    wdir = Path(weights_dir) if weights_dir is not None else default_weights_dir()
    stem = wdir / check_model_name(name)
    if not stem.with_suffix(".pt").exists():
        return None
    path = stem.with_suffix(".json")
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    key = (str(path), stamp)
    if key not in _CARDS:
        _CARDS[key] = json.loads(path.read_text())
    return _CARDS[key]


_CARDS: dict = {}


def weights_sha256(name: str, weights_dir=None) -> str | None:
    """sha256 (hex) of the weight file ``<name>.pt`` in use, or None when it is missing: what
    a stored prediction (e.g. the gallery's) is checked against before it is trusted."""
    wdir = Path(weights_dir) if weights_dir is not None else default_weights_dir()
    path = wdir / f"{check_model_name(name)}.pt"
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _DIGESTS:
        import hashlib
        _DIGESTS[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _DIGESTS[key]


_DIGESTS: dict = {}


def check_applicable(mol: Molecule, name: str, weights_dir=None) -> None:
    """MoleculeInputError when applicability.assess refuses `mol` for model `name` (from its
    card alone: the network is not loaded)."""
    assess(mol, check_model_name(name), card=model_card(name, weights_dir)).raise_if_refused()


# ---------------------------------------------------------------------------------------
@dataclass(eq=False)
class Prediction:
    """Atomic multipoles predicted by one model for one molecule.

    charges (N,) e; atomic_dipoles (N, 3) e·Å; atomic_quadrupoles (N, 3, 3) e·Å²
    (traceless); dipole (3,) e·Å and quadrupole (3, 3) e·Å² about the centre of mass.
    """

    molecule: Molecule
    model_name: str
    charges: np.ndarray
    atomic_dipoles: np.ndarray
    atomic_quadrupoles: np.ndarray
    dipole: np.ndarray = None
    quadrupole: np.ndarray = None
    origin: np.ndarray = field(default=None, repr=False)

    def __post_init__(self):
        n = self.molecule.n_atoms
        self.charges = np.asarray(self.charges, float).reshape(n)
        self.atomic_dipoles = np.asarray(self.atomic_dipoles, float).reshape(n, 3)
        self.atomic_quadrupoles = np.asarray(self.atomic_quadrupoles, float).reshape(n, 3, 3)
        if self.origin is None:
            self.origin = self.molecule.center_of_mass
        if self.dipole is None:
            self.dipole = molecular_dipole(self.molecule.positions, self.charges, self.atomic_dipoles,
                                           origin=self.origin)
        if self.quadrupole is None:
            self.quadrupole = molecular_quadrupole(self.molecule.positions, self.charges,
                                                   self.atomic_dipoles, self.atomic_quadrupoles,
                                                   origin=self.origin)
        self.dipole = np.asarray(self.dipole, float).reshape(3)
        self.quadrupole = np.asarray(self.quadrupole, float).reshape(3, 3)

    # -- derived quantities ---------------------------------------------------------------
    @property
    def dipole_debye(self) -> np.ndarray:
        return self.dipole * DEBYE_PER_E_ANGSTROM

    @property
    def dipole_magnitude_debye(self) -> float:
        return float(np.linalg.norm(self.dipole) * DEBYE_PER_E_ANGSTROM)

    @property
    def quadrupole_debye_angstrom(self) -> np.ndarray:
        return self.quadrupole * DEBYE_PER_E_ANGSTROM

    def quadrupole_eigenvalues(self, debye: bool = False) -> np.ndarray:
        """Principal values of Θ (ascending), e·Å² (or D·Å with ``debye=True``); they sum to 0."""
        w = principal_values(self.quadrupole)
        return w * DEBYE_PER_E_ANGSTROM if debye else w

    def mep(self, points, order: int = 2) -> np.ndarray:
        """MEP (kcal/mol/e) at `points` (Å) from the atomic multipoles.

        order 0: charges only; 1: + atomic dipoles; 2: + atomic quadrupoles (default).
        """
        if order not in (0, 1, 2):
            raise ValueError("order must be 0 (charges), 1 (+ dipoles) or 2 (+ quadrupoles)")
        check_points(int(np.size(points)) // 3)
        return multipole_potential(points, self.molecule.positions, self.charges,
                                   self.atomic_dipoles if order >= 1 else None,
                                   self.atomic_quadrupoles if order >= 2 else None)

    def to_dict(self) -> dict:
        """JSON-able record (plain lists and floats), units stated under ``units``."""
        mol = self.molecule
        d = DEBYE_PER_E_ANGSTROM
        return {
            "name": mol.name,
            "smiles": mol.smiles,
            "formula": mol.formula,
            "model": self.model_name,
            "total_charge": int(mol.charge),
            "elements": mol.symbols,
            "positions": mol.positions.tolist(),
            "charges": self.charges.tolist(),
            "atomic_dipoles": self.atomic_dipoles.tolist(),
            "atomic_dipoles_debye": (self.atomic_dipoles * d).tolist(),
            "atomic_quadrupoles": self.atomic_quadrupoles.tolist(),
            "atomic_quadrupoles_debye_angstrom": (self.atomic_quadrupoles * d).tolist(),
            "dipole": self.dipole.tolist(),
            "dipole_debye": self.dipole_debye.tolist(),
            "dipole_magnitude_debye": self.dipole_magnitude_debye,
            "quadrupole": self.quadrupole.tolist(),
            "quadrupole_debye_angstrom": self.quadrupole_debye_angstrom.tolist(),
            "quadrupole_eigenvalues_debye_angstrom": self.quadrupole_eigenvalues(debye=True).tolist(),
            "origin": np.asarray(self.origin, float).tolist(),
            "units": dict(UNITS, origin="angstrom (centre of mass)"),
        }


# ---------------------------------------------------------------------------------------
def _load(stem: Path, dtype=None):
    """(model, card) from weights/<stem>.pt + .json via mepviz.model.load_model."""
    import torch

    from . import model as _model
    net = _model.load_model(str(stem), dtype=dtype or torch.float32)
    card = getattr(net, "card", None)
    if card is None:
        card_path = stem.with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.exists() else {}
    return net, dict(card)


class Predictor:
    """One loaded model variant; reuse it (see :func:`get_predictor`)."""

    def __init__(self, model_name: str = DEFAULT_MODEL, weights_dir=None, dtype=None):
        """`dtype`: torch dtype of the forward pass (float32 by default; float64 for tests)."""
        self.model_name = check_model_name(model_name)
        self.weights_dir = Path(weights_dir) if weights_dir is not None else default_weights_dir()
        stem = self.weights_dir / self.model_name
        if not stem.with_suffix(".pt").exists():
            raise FileNotFoundError(
                f"no weights for the {self.model_name!r} model: {stem.with_suffix('.pt')} is missing "
                "(train them with train/train.py)")
        import torch

        self.model, self.card = _load(stem, dtype)
        self.model.eval()
        try:
            self.dtype = next(self.model.parameters()).dtype
        except StopIteration:       # pragma: no cover
            self.dtype = torch.float32
        self._torch = torch
        self._lock = threading.Lock()

    def __repr__(self):
        return f"Predictor({self.model_name!r}, weights_dir={str(self.weights_dir)!r})"

    def check(self, mol: Molecule) -> None:
        """MoleculeInputError when applicability.assess refuses `mol` for this model."""
        assess(mol, self.model_name, card=self.card).raise_if_refused()

    def _forward(self, mols: list[Molecule]) -> dict:
        torch = self._torch
        counts = np.array([m.n_atoms for m in mols])
        z = torch.from_numpy(np.concatenate([m.numbers for m in mols]).astype(np.int64))
        pos = torch.from_numpy(np.concatenate([m.positions for m in mols])).to(self.dtype)
        batch = torch.from_numpy(np.repeat(np.arange(len(mols)), counts))
        total_charge = torch.tensor([float(m.charge) for m in mols], dtype=self.dtype)
        with self._lock, torch.inference_mode():
            out = self.model(z, pos, batch, total_charge)
        return {k: v.detach().to(torch.float64).numpy() for k, v in out.items()
                if isinstance(v, torch.Tensor)}

    def predict(self, mol: Molecule) -> Prediction:
        return self.predict_many([mol])[0]

    def predict_many(self, mols, batch_size: int = 4) -> list[Prediction]:
        """Predictions for many molecules, `batch_size` molecules per forward pass.

        The default is the fastest batch size measured by bench/benchmark.py (bench/results.md)."""
        mols = list(mols)
        for m in mols:
            self.check(m)
        preds: list[Prediction] = []
        for start in range(0, len(mols), max(1, int(batch_size))):
            chunk = mols[start:start + batch_size]
            out = self._forward(chunk)
            offsets = np.concatenate([[0], np.cumsum([m.n_atoms for m in chunk])])
            for k, m in enumerate(chunk):
                a, b = offsets[k], offsets[k + 1]
                preds.append(Prediction(
                    molecule=m, model_name=self.model_name,
                    charges=out["charges"][a:b],
                    atomic_dipoles=out["atomic_dipoles"][a:b],
                    atomic_quadrupoles=out["atomic_quadrupoles"][a:b]))
        return preds


_PREDICTORS: dict = {}
_PREDICTORS_LOCK = threading.Lock()


def get_predictor(name: str = DEFAULT_MODEL, weights_dir=None) -> Predictor:
    """The cached :class:`Predictor` for model `name` (loaded on first use, and again when the
    weight file changes)."""
    name = check_model_name(name)
    wdir = Path(weights_dir).resolve() if weights_dir is not None else default_weights_dir()
    try:   # new weight files (same name) are picked up without restarting the app
        stamp = (wdir / f"{name}.pt").stat().st_mtime_ns
    except OSError:
        stamp = None
    key = (name, str(wdir), stamp)
    with _PREDICTORS_LOCK:
        if key not in _PREDICTORS:
            _PREDICTORS[key] = Predictor(name, weights_dir)
        return _PREDICTORS[key]


def clear_cache() -> None:
    """Forget loaded models (e.g. after new weights were written)."""
    with _PREDICTORS_LOCK:
        _PREDICTORS.clear()


# ---------------------------------------------------------------------------------------
@dataclass(eq=False)
class MEPMap:
    """A coloured surface: `surface` (mepviz.surfaces.Surface), MEP `values` (kcal/mol/e) at
    its vertices, area-weighted surface `statistics`, and the `prediction` behind it."""

    surface: object
    values: np.ndarray
    statistics: dict
    prediction: Prediction
    surface_kind: str = "isodensity"
    order: int = 2

    @property
    def vmin(self) -> float:
        return float(self.values.min())

    @property
    def vmax(self) -> float:
        return float(self.values.max())

    def symmetric_range(self) -> float:
        """max |V| — the colour range ±this is symmetric about 0."""
        return float(np.abs(self.values).max())


def make_surface(mol: Molecule, kind: str = DEFAULT_SURFACE, spacing: float | None = None):
    """The surface of `kind` (a name of registry.SURFACES) for `mol` (mepviz.surfaces)."""
    from . import surfaces

    kwargs = {} if spacing is None else {"spacing": float(spacing)}
    return surfaces.surface_for(mol, kind, **kwargs)


def predict_mep_map(mol: Molecule, model_name: str = DEFAULT_MODEL, surface: str = DEFAULT_SURFACE,
                    spacing: float | None = None, order: int = 2, predictor: Predictor | None = None,
                    prediction: Prediction | None = None) -> MEPMap:
    """Input molecule -> coloured-surface data (surface, MEP values, statistics)."""
    if prediction is None:
        predictor = predictor or get_predictor(model_name)
        prediction = predictor.predict(mol)
    surf = surface if not isinstance(surface, str) else make_surface(mol, surface, spacing)
    values = prediction.mep(surf.vertices, order=order)
    areas = getattr(surf, "vertex_areas", None)
    stats = surface_statistics(surf.vertices, values, areas)
    return MEPMap(surface=surf, values=values, statistics=stats, prediction=prediction,
                  surface_kind=surface if isinstance(surface, str) else getattr(surf, "kind", "custom"),
                  order=order)
