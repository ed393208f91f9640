"""Is a prediction (or the DFT reference) meaningful for this molecule? The one check.

:func:`assess` returns an :class:`Applicability`: a ``refusal`` (the answer would be
meaningless or cannot be computed: the physical-plausibility gate of
:mod:`mepviz.physics.domain` — no atoms, non-finite positions, electrons that cannot exist,
charges outside −4…+4, a single neutral atom for the models — elements the network cannot
represent, missing weights) and ``notes`` (visible
warnings to show next to the result: charge, multiplicity, elements, size outside what a
model was trained on; disconnected fragments; isolated atoms; implausible bond lengths;
and the notes recorded while the molecule was read, ``Molecule.notes``).

A prediction is assessed once, by the predictor (:meth:`mepviz.ml.predict.Predictor.predict`),
which attaches the verdict to the Prediction (``prediction.applicability``) and raises
:class:`Refused` (a MoleculeInputError carrying the verdict) for a refusal; the command
line, ``mepviz batch`` and the app read the notes there.

What a model was trained on is read from its card (``weights/<name>.json``): the keys
``training_elements``, ``training_charges`` and ``training_max_heavy_atoms`` when present,
else QM9's elements, neutral molecules and QM9's 9 heavy atoms (the data of the cards written
before those keys existed). An element the weights embed but no training stage ever saw
(``seen_elements``) has an untrained embedding: refused, like one the weights cannot embed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import registry
from ..core.elements import element_names, symbol, unsupported_elements
from ..core.geometry import BOND_TOLERANCE, covalent_radii, fragments, nearest_neighbours, unit_hint
from ..core.molecule import Molecule, MoleculeInputError
from ..physics import domain
from .cards import missing_weights_message, model_card

#: QM9's chemistry, assumed for cards that predate ``training_elements`` /
#: ``training_max_heavy_atoms`` (every such model was trained on QM9 only)
QM9_ELEMENTS = (1, 6, 7, 8, 9)
QM9_MAX_HEAVY_ATOMS = 9


@dataclass(frozen=True)
class Applicability:
    """`refusal`: why no answer should be given (None: go ahead); `notes`: warnings to show."""

    refusal: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.refusal is None

    def raise_if_refused(self) -> None:
        """:class:`Refused` (a MoleculeInputError) when there is a refusal."""
        if self.refusal:
            raise Refused(self)


class Refused(MoleculeInputError):
    """A refusal by :func:`assess`: ``applicability`` holds the verdict (its notes too),
    ``molecule`` the molecule refused (when known)."""

    def __init__(self, applicability: Applicability, message: str | None = None, molecule=None):
        super().__init__(message or applicability.refusal)
        self.applicability = applicability
        self.molecule = molecule

    def __reduce__(self):
        return type(self), (self.applicability, str(self), self.molecule)


def _charges_text(charges) -> str:
    charges = sorted(int(q) for q in charges)
    if charges == [0]:
        return "neutral molecules only"
    return f"charges {charges[0]:+d}…{charges[-1]:+d}" if len(charges) > 1 else f"charge {charges[0]:+d}"


def _geometry_notes(mol: Molecule) -> list[str]:
    notes = []
    if mol.n_atoms < 2:
        return notes
    hint = unit_hint(mol.numbers, mol.positions)
    if hint:           # fragments and isolated atoms would only repeat it
        return [hint if hint.endswith("?") else hint + "."]
    frags = fragments(mol)
    if len(frags) > 1:
        notes.append(f"{len(frags)} disconnected fragments: their relative placement is arbitrary "
                     f"(e.g. the ions of a salt), and μ, Θ and the MEP depend on it.")
    j, d = nearest_neighbours(mol.positions)
    r = covalent_radii(mol.numbers)
    lonely = [f[0] for f in frags if len(f) == 1]
    for i in lonely[:3]:
        notes.append(f"atom {i + 1} ({symbol(mol.numbers[i])}) is isolated: its nearest atom is "
                     f"{d[i]:.1f} Å away (a bond would be under {BOND_TOLERANCE * (r[i] + r[j[i]]):.1f} Å).")
    short = np.nonzero(d < 0.7 * (r + r[j]))[0]
    if len(short):
        i = int(short[0])
        notes.append(f"atoms {i + 1} ({symbol(mol.numbers[i])}) and {j[i] + 1} ({symbol(mol.numbers[j[i]])}) "
                     f"are {d[i]:.2f} Å apart, far shorter than a bond ({r[i] + r[j[i]]:.2f} Å).")
    return notes


def trained_domain(card: dict) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], int]:
    """(usable elements, trained elements, trained charges, max heavy atoms) of a model card;
    usable = embedded by the weights and seen by some training stage."""
    config = card.get("config") or {}
    usable = tuple(int(z) for z in config.get("elements", registry.MODEL_ELEMENTS))
    if "seen_elements" in card:
        usable = tuple(z for z in usable if z in set(card["seen_elements"]))
    trained = tuple(int(z) for z in card.get("training_elements", QM9_ELEMENTS))
    charges = tuple(int(q) for q in card.get("training_charges", (0,)))
    heavy = int(card.get("training_max_heavy_atoms", QM9_MAX_HEAVY_ATOMS))
    return usable, trained, charges, heavy


def _model_verdict(mol: Molecule, name: str, card: dict | None) -> tuple[str | None, list[str]]:
    msg = unsupported_elements(mol.numbers, registry.MODEL_ELEMENTS, "The ML models")
    if msg:
        return msg, []
    if card is None:
        card = model_card(name)
    if card is None:
        return missing_weights_message(name), []
    usable, trained, charges, heavy = trained_domain(card)
    msg = unsupported_elements(mol.numbers, usable, f"The {name} model's weights")
    if msg:
        return msg, []
    notes = []
    outside = sorted({int(z) for z in mol.numbers} - set(trained))
    if outside:
        notes.append(f"{element_names(outside)} lie outside what the {name} model was trained on "
                     f"({element_names(trained)}): expect larger errors.")
    if mol.charge not in registry.MODEL_CHARGES:
        notes.append(f"charge {mol.charge:+d} is outside the charges the models are built for "
                     f"({_charges_text(registry.MODEL_CHARGES)}): the result is an extrapolation.")
    elif mol.charge not in charges:
        notes.append(f"charge {mol.charge:+d} is outside what the {name} model was trained on "
                     f"({_charges_text(charges)}): expect larger errors.")
    if mol.multiplicity > 1:
        notes.append(f"open shell (multiplicity {mol.multiplicity}, e.g. a radical): the {name} model "
                     f"was trained on closed-shell molecules and treats it as one.")
    n_heavy = int((mol.numbers > 1).sum())
    if n_heavy > heavy:
        notes.append(f"{n_heavy} heavy atoms: larger than the {name} model's training molecules "
                     f"(at most {heavy}).")
    return None, notes


def assess(mol: Molecule, model_name: str | None = None, *, card: dict | None = None) -> Applicability:
    """Applicability of model `model_name` (a registry name) to `mol`, or of the DFT reference
    when `model_name` is None. `card`: the model card to judge by (default: the installed one).

    The physical-plausibility gate (:mod:`mepviz.physics.domain`) comes first: a structure,
    electrons or a charge with no meaningful answer are refused for every model and the DFT
    reference alike; a single neutral atom is refused by the models."""
    refusal = domain.refusal(mol)
    if refusal:                   # no geometry notes: the positions may not even be numbers
        return Applicability(_sentence(refusal), tuple(_sentence(n) for n in mol.notes))
    notes: list[str] = []
    if model_name is not None:
        refusal, notes = _model_verdict(mol, registry.check_model_name(model_name), card)
        refusal = refusal or domain.multipole_refusal(mol)
    notes += domain.notes(mol) + _geometry_notes(mol)
    notes += [n for n in mol.notes if n not in notes]     # noted while reading it
    return Applicability(refusal and _sentence(refusal), tuple(_sentence(n) for n in notes))


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:]
