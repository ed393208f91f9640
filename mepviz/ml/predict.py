"""The prediction API: molecule -> atomic multipoles -> MEP on a surface.

Every consumer (the app, the command line, the evaluation script, the benchmark) goes
through this module, so the models are loaded once and the units are stated once:

- charges in e, atomic dipoles in e·Å, atomic quadrupoles (traceless Buckingham) in e·Å²;
- the molecular dipole μ (e·Å) and quadrupole Θ (e·Å²) about the centre of mass come from
  the network (:func:`mepviz.ml.model.molecular_moments`, float64, the formulas of
  docs/physics.md; for a neutral molecule μ does not depend on the origin);
- the MEP is in kcal/mol/e.

A molecule is assessed once (:func:`mepviz.ml.applicability.assess`, by the predictor): the
verdict travels with the result (``prediction.applicability``, ``mep_map.applicability``;
its ``notes`` to show), a refusal raises :class:`~mepviz.ml.applicability.Refused`. The
network (PyTorch) loads on the first forward pass, so refusals and stored predictions need
no PyTorch.

    >>> from mepviz.io import from_smiles
    >>> from mepviz.ml.predict import get_predictor, predict_mep_map
    >>> pred = get_predictor("quadrupole").predict(from_smiles("O"))
    >>> pred.dipole, pred.mep([[0.0, 0.0, 3.0]]), pred.applicability.notes
    >>> mep_map = predict_mep_map(from_smiles("O"))   # surface + values + statistics
"""
from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.limits import check_points
from ..core.molecule import Molecule
from ..core.paths import weights_dir as default_weights_dir
from ..core.registry import DEFAULT_MODEL, DEFAULT_SURFACE, check_model_name
from ..core.units import DEBYE_PER_E_ANGSTROM
from ..physics import domain
from ..physics.electrostatics import molecular_dipole, molecular_quadrupole, multipole_potential, principal_values
from ..surface.statistics import surface_statistics
from ..surface.surfaces import surface_for
from . import cards
from .applicability import Applicability, Refused, assess

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
    "penetration_valence_electrons": "e (valence electrons of the smeared cloud, Z_valence - q)",
    "penetration_widths": "angstrom (Slater width of the valence cloud)",
}


# ---------------------------------------------------------------------------------------
@dataclass(eq=False)
class Prediction:
    """Atomic multipoles predicted by one model for one molecule.

    charges (N,) e; atomic_dipoles (N, 3) e·Å; atomic_quadrupoles (N, 3, 3) e·Å²
    (traceless); dipole (3,) e·Å and quadrupole (3, 3) e·Å² about `origin` (Å, the centre of
    mass; computed here only when not given); `penetration` (N, 2): each atom's valence
    electron population (e) and Slater width (Å) for the charge-penetration term of the MEP,
    None for models without one; `applicability`: the verdict of
    :func:`mepviz.ml.applicability.assess` for this model (None when not assessed).
    """

    molecule: Molecule
    model_name: str
    charges: np.ndarray
    atomic_dipoles: np.ndarray
    atomic_quadrupoles: np.ndarray
    dipole: np.ndarray = None
    quadrupole: np.ndarray = None
    origin: np.ndarray = field(default=None, repr=False)
    applicability: Applicability | None = field(default=None, repr=False)
    penetration: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        n = self.molecule.n_atoms
        if self.penetration is not None:
            self.penetration = np.asarray(self.penetration, float).reshape(n, 2)
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
        self.origin = np.asarray(self.origin, float).reshape(3)

    @property
    def notes(self) -> tuple[str, ...]:
        """Applicability notes to show with this prediction (none when not assessed)."""
        return self.applicability.notes if self.applicability is not None else ()

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

    def mep(self, points, order: int = 2, penetration: bool = True, *, grid: bool = False) -> np.ndarray:
        """MEP (kcal/mol/e) at `points` (Å) from the atomic multipoles.

        order 0: charges only; 1: + atomic dipoles; 2: + atomic quadrupoles (default), and
        for a model that predicts one, + the charge-penetration term (``penetration=False``
        leaves it out: the point multipoles alone).

        The points pass the plausibility gate (:func:`mepviz.physics.domain.check_points`):
        :class:`~mepviz.physics.domain.Meaningless` for non-finite points or one inside
        ``MIN_POINT_DISTANCE`` of a nucleus. ``grid=True`` for the nodes of a grid (cube
        files, slices) that may pass through nuclei: only their number is checked, and the
        caller clips the diverging values there.
        """
        if order not in (0, 1, 2):
            raise ValueError("order must be 0 (charges), 1 (+ dipoles) or 2 (+ quadrupoles)")
        if grid:
            check_points(int(np.size(points)) // 3)
        else:
            points = domain.check_points(self.molecule, points)[0]
        return multipole_potential(points, self.molecule.positions, self.charges,
                                   self.atomic_dipoles if order >= 1 else None,
                                   self.atomic_quadrupoles if order >= 2 else None,
                                   self.penetration if order >= 2 and penetration else None)

    @property
    def multipoles(self) -> tuple:
        """(charges, atomic dipoles, atomic quadrupoles, penetration or None): the arguments of
        :func:`mepviz.physics.electrostatics.multipole_potential` after the positions."""
        return self.charges, self.atomic_dipoles, self.atomic_quadrupoles, self.penetration

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
            **({"penetration_valence_electrons": self.penetration[:, 0].tolist(),
                "penetration_widths": self.penetration[:, 1].tolist()} if self.penetration is not None else {}),
            "units": dict(UNITS, origin="angstrom (centre of mass)"),
        }


# ---------------------------------------------------------------------------------------
def _network():
    """mepviz.ml.model (PyTorch + e3nn, seconds to import): loaded only when a network runs."""
    from . import model
    return model


def set_torch_threads(n: int) -> None:
    """Threads of PyTorch's forward passes in this process (imports PyTorch)."""
    _network().torch.set_num_threads(int(n))


class Predictor:
    """One model variant: its card at once, its network on the first forward pass; reuse it
    (see :func:`get_predictor`)."""

    def __init__(self, model_name: str = DEFAULT_MODEL, weights_dir=None, dtype=None):
        """`dtype`: torch dtype of the forward pass (float32 by default; float64 for tests).
        FileNotFoundError when the weights are not installed."""
        self.model_name = check_model_name(model_name)
        self.weights_dir = Path(weights_dir) if weights_dir is not None else default_weights_dir()
        self._stem = cards.require_weights(self.model_name, self.weights_dir).with_suffix("")
        self.card = dict(cards.read_card(self._stem))
        self._dtype = dtype
        self._net = None
        self._lock = threading.Lock()

    def __repr__(self):
        return f"Predictor({self.model_name!r}, weights_dir={str(self.weights_dir)!r})"

    @property
    def model(self):
        """The network (:class:`mepviz.ml.model.MultipoleNet`, eval mode), loaded on first use."""
        if self._net is None:
            with self._lock:
                if self._net is None:
                    net = _network()
                    kw = {} if self._dtype is None else {"dtype": self._dtype}
                    self._net = net.load_model(str(self._stem), **kw).eval()
        return self._net

    @property
    def dtype(self):
        """torch dtype of the forward pass."""
        return next(self.model.parameters()).dtype

    def load(self) -> "Predictor":
        """Load the network now (e.g. in a background thread before the first molecule)."""
        _ = self.model
        return self

    def assess(self, mol: Molecule) -> Applicability:
        """The verdict of :func:`mepviz.ml.applicability.assess` for `mol` with this model
        (from its card alone: the network is not loaded)."""
        return assess(mol, self.model_name, card=self.card)

    def check(self, mol: Molecule) -> Applicability:
        """:meth:`assess`, raising :class:`Refused` (a MoleculeInputError) on a refusal."""
        verdict = self.assess(mol)
        if verdict.refusal:
            raise Refused(verdict, molecule=mol)
        return verdict

    def predict(self, mol: Molecule, *, stored: "Prediction | None" = None) -> Prediction:
        """The prediction for `mol`, assessed once (``.applicability``). `stored`: a prediction
        of these weights made earlier (e.g. shipped with the gallery), then returned with the
        verdict without running the network."""
        if stored is not None:
            return dataclasses.replace(stored, applicability=self.check(mol))
        return self.predict_many([mol])[0]

    def predict_many(self, mols, batch_size: int = 4) -> list[Prediction]:
        """Predictions for many molecules, `batch_size` molecules per forward pass; every
        molecule is assessed first (:class:`Refused` names the first refused one in
        ``.molecule``), before the network loads.

        The default is the fastest batch size measured by bench/benchmark.py (bench/results.md)."""
        mols = list(mols)
        verdicts = [self.check(m) for m in mols]
        preds: list[Prediction] = []
        step = max(1, int(batch_size))
        for start in range(0, len(mols), step):
            chunk = mols[start:start + step]
            counts = [m.n_atoms for m in chunk]
            net = self.model
            with self._lock:
                out = _network().predict_arrays(net, np.concatenate([m.numbers for m in chunk]),
                                                np.concatenate([m.positions for m in chunk]), counts,
                                                [m.charge for m in chunk])
            offsets = np.concatenate([[0], np.cumsum(counts)])
            for k, m in enumerate(chunk):
                a, b = offsets[k], offsets[k + 1]
                preds.append(Prediction(
                    molecule=m, model_name=self.model_name,
                    charges=out["charges"][a:b],
                    atomic_dipoles=out["atomic_dipoles"][a:b],
                    atomic_quadrupoles=out["atomic_quadrupoles"][a:b],
                    dipole=out["dipole"][k], quadrupole=out["quadrupole"][k], origin=out["center_of_mass"][k],
                    applicability=verdicts[start + k],
                    penetration=out["penetration"][a:b] if "penetration" in out else None))
        return preds


_PREDICTORS: dict = {}
_PREDICTORS_LOCK = threading.Lock()


def get_predictor(name: str = DEFAULT_MODEL, weights_dir=None) -> Predictor:
    """The cached :class:`Predictor` for model `name` (loaded on first use, and again when the
    weight file changes)."""
    name = check_model_name(name)
    wdir = Path(weights_dir).resolve() if weights_dir is not None else default_weights_dir()
    try:   # new weight files (same name) are picked up without restarting the app
        stamp = cards.weights_path(name, wdir).stat().st_mtime_ns
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
    """A coloured surface: `surface` (mepviz.surface.surfaces.Surface), MEP `values`
    (kcal/mol/e) at its vertices, area-weighted surface `statistics`, and the `prediction`
    behind it (whose applicability verdict and notes it shows)."""

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

    @property
    def applicability(self) -> Applicability | None:
        """The prediction's applicability verdict (None when it was not assessed)."""
        return getattr(self.prediction, "applicability", None)

    @property
    def notes(self) -> tuple[str, ...]:
        """Applicability notes to show with this map."""
        return self.applicability.notes if self.applicability is not None else ()


def make_surface(mol: Molecule, kind: str = DEFAULT_SURFACE, spacing: float | None = None):
    """The surface named `kind` (:mod:`mepviz.surface.names`) for `mol`, at `spacing` Å when given."""
    kwargs = {} if spacing is None else {"spacing": float(spacing)}
    return surface_for(mol, kind, **kwargs)


def predict_mep_map(mol: Molecule, model_name: str = DEFAULT_MODEL, surface: str = DEFAULT_SURFACE,
                    spacing: float | None = None, order: int = 2, predictor: Predictor | None = None,
                    prediction: Prediction | None = None) -> MEPMap:
    """Input molecule -> coloured-surface data (surface, MEP values, statistics).

    The molecule is assessed once (by the predictor; a `prediction` made without a verdict is
    assessed here): :class:`~mepviz.ml.applicability.Refused` before any surface is built."""
    if prediction is None:
        predictor = predictor or get_predictor(model_name)
        prediction = predictor.predict(mol)
    elif getattr(prediction, "applicability", None) is None:
        verdict = assess(mol, prediction.model_name)
        verdict.raise_if_refused()
        prediction = dataclasses.replace(prediction, applicability=verdict)
    surf = surface if not isinstance(surface, str) else make_surface(mol, surface, spacing)
    values = prediction.mep(surf.vertices, order=order)
    areas = getattr(surf, "vertex_areas", None)
    stats = surface_statistics(surf.vertices, values, areas)
    return MEPMap(surface=surf, values=values, statistics=stats, prediction=prediction,
                  surface_kind=surface if isinstance(surface, str) else getattr(surf, "kind", "custom"),
                  order=order)
