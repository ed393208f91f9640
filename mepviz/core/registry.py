"""The one list of every named choice in MEPviz: model variants, surfaces, potential units,
baselines, supported elements and charges, and the DFT level of theory.

Every selector (app pages), CLI choice and input check reads its names and labels from here;
nothing else in the code base keeps its own copy of these lists.
"""
from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------- models


@dataclass(frozen=True)
class ModelVariant:
    """A shipped model variant: weights/<name>.pt with its card weights/<name>.json."""

    name: str
    label: str          # short display label
    fits: str           # what its losses fit, in words (every stage, pre-training included)
    paper: bool         # one of the two variants of the paper's comparison


MODELS: dict[str, ModelVariant] = {m.name: m for m in (
    ModelVariant("mep", "MEP-trained model (μ + Θ + surface MEP)",
                 "molecular dipoles μ, quadrupoles Θ and the DFT MEP at stored isodensity and shell points "
                 "(with a charge-penetration term); its base stages fit μ and Θ only", paper=False),
    ModelVariant("quadrupole", "Quadrupole model (μ + Θ)",
                 "molecular dipoles μ and quadrupoles Θ only", paper=True),
    ModelVariant("dipole", "Dipole model (μ only)",
                 "molecular dipoles μ only", paper=True),
    ModelVariant("dipole-xtb", "Dipole model + xTB atomic priors (μ, xTB q and p)",
                 "molecular dipoles μ, plus GFN2-xTB atomic charges and atomic dipoles in pre-training",
                 paper=False),
)}
#: the default map model (Explore, Batch, the command line): the MEP-trained variant
DEFAULT_MODEL = "mep"
#: every variant name, in registry order (CLI choices, selectors)
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
#: the paper's comparison, in display order (Compare, Learn and Batch pages)
PAPER_PAIR = ("dipole", "quadrupole")
#: the models of a batch (Batch page, ``mepviz batch``): the default map model, then the paper's pair
BATCH_MODELS = (DEFAULT_MODEL, *PAPER_PAIR)
#: ensembles for the uncertainty map: model -> its members, weight-file stems relative to the
#: weights folder (the shipped file first: the map shown is that member's); the spread of
#: their MEPs on the surface is the map's uncertainty (mepviz.ml.ensemble)
ENSEMBLES: dict[str, tuple[str, ...]] = {"mep": ("mep", "studies/seed1-mep", "studies/seed2-mep")}


def model_label(name: str) -> str:
    """Display label of a model variant (the name itself when unknown)."""
    m = MODELS.get(name)
    return m.label if m else name


def short_model_label(name: str) -> str:
    """Label without its parenthesis, e.g. 'Dipole model'."""
    return model_label(name).split(" (")[0]


def check_model_name(name: str) -> str:
    """The normalised variant name; ValueError naming the choices when unknown."""
    key = str(name).strip().lower()
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return key

# --------------------------------------------------------------------------- surfaces

SURFACES: dict[str, str] = {
    "isodensity": "Isodensity ρ = 0.001 e/bohr³",
    "vdw1.4": "vdW × 1.4",
    "vdw1.6": "vdW × 1.6",
    "vdw1.8": "vdW × 1.8",
    "vdw2.0": "vdW × 2.0",
}
DEFAULT_SURFACE = "isodensity"
SURFACE_KINDS: tuple[str, ...] = tuple(SURFACES)
# the label of any surface name (incl. "isodensity@0.002"): mepviz.surface.names.label

# --------------------------------------------------------------------------- units
#: potential units offered everywhere (factor from kcal/mol/e lives in mepviz.units)
POTENTIAL_UNIT_NAMES = ("kcal/mol/e", "kJ/mol/e", "V", "hartree/e")
DEFAULT_POTENTIAL_UNIT = "kcal/mol/e"
DIPOLE_UNIT = "D"
QUADRUPOLE_UNIT = "D·Å"

# --------------------------------------------------------------------------- baselines

BASELINES: dict[str, str] = {
    "gasteiger": "Gasteiger (RDKit)",
    "mmff94": "MMFF94 (RDKit)",
    "xtb": "GFN2-xTB charges",
    "xtb-multipoles": "GFN2-xTB charges + atomic dipoles + quadrupoles",
}
BASELINE_NAMES: tuple[str, ...] = tuple(BASELINES)

# --------------------------------------------------------------------------- chemistry
#: elements the model variants are trained on (H C N O F P S Cl Br I)
MODEL_ELEMENTS: tuple[int, ...] = (1, 6, 7, 8, 9, 15, 16, 17, 35, 53)
#: total charges (e) the model variants are trained on
MODEL_CHARGES: tuple[int, ...] = (-2, -1, 0, 1, 2)
#: total charges (e) the DFT reference accepts; beyond, the answer is meaningless
DFT_CHARGES: tuple[int, ...] = tuple(range(-4, 5))

# --------------------------------------------------------------------------- DFT reference
#: level of theory of every DFT label and of the app's reference (QM9's level); 6-31G(2df,p)
#: stops at Ar, so Br and I take def2-TZVP (I with the def2 ECP, 28 core electrons)
DFT_METHOD = "b3lyp"
DFT_BASIS = "6-31g(2df,p)"
DFT_HEAVY_BASIS = "def2-tzvp"
DFT_HEAVY_ELEMENTS: tuple[int, ...] = (35, 53)
