"""``Recipe``: one published number to reproduce, as data: model config, data, schedule, metric and reference.

A recipe is a validated config (like every gaekit config) stored as a JSON file of the package
(``gaekit/reproduce/recipes/<name>.json``). It says what the original paper trained (the model's config, its
``network`` included, the dataset, the training schedule as ``TrainerConfig`` fields), how it measured (the
metric and its importance samples), what it obtained (the reference value, with the tolerance we accept and
where it is published), and everything a reader needs to judge the row: whether our data is the paper's
(``data_matches_paper``; a stand-in says why in ``data_note``), what it needs that this machine may lack
(``needs``), and an estimate of its cost here. ``notes`` record every protocol detail the paper does not
publish and the choice made.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar, Literal

from gaekit.config import BaseConfig
from gaekit.errors import ConfigError

METRICS = ("nll", "fid", "elbo")
SMOKE_BATCH_SIZE = 32
NEEDS = ("gpu", "inception-weights", "larochelle-files", "celeba")


@dataclass
class Recipe(BaseConfig):
    """One row of the reproduction table.

    Parameters
    ----------
    recipe : str
        Its key (``"pvae-mnist"``), the name of its file.
    model : str
        A registered model (``gaekit.models.MODELS``).
    model_config : dict
        Fields of the model's config, ``input_dim`` and the networks (``network``, ``network_options``) included.
    dataset : str
        A ``gaekit.data.DATASETS`` name; its train/validation/test splits are used.
    training : dict
        ``TrainerConfig`` fields (``num_epochs``, ``batch_size``, ``learning_rate``, ``scheduler``, ...).
    metric : {"nll", "fid", "elbo"}
        ``nll``: the importance-sampled negative log-likelihood, in nats; ``fid``: the FID (Inception-v3) of
        ``sampler``'s samples against the measured split; ``elbo``: the negative ELBO per image, in nats, with
        the model's own training objective reported beside it as ``objective`` (for beta-TC-VAE, Chen et
        al.'s "modified ELBO"), both averaged over batches of the training ``batch_size``.
    num_importance_samples : int or None
        The importance samples of the paper's NLL estimate (``nll``).
    sampler : str, default "normal"
        For ``fid``: how images are generated: ``"normal"`` (the prior) or a registered sampler (``"gmm"``
        for the RAE paper's ex-post density estimation), fitted on the training split.
    sampler_options : dict
        Fields of that sampler's config (``{"n_components": 10}``).
    train_split : {"train", "train_full"}, default "train"
        What the model trains on. ``"train"`` keeps the validation split for the trainer's evaluation;
        ``"train_full"`` (all of a dataset that publishes no split, as Chen et al. train on all of dSprites)
        trains without one.
    measure_split : {"test", "validation", "train", "train_full"}, default "test"
        Where the metric is measured (``"train_full"`` where the paper reports training-set values).
    other_references : dict of str to float
        Published values of further quantities the metric reports (``{"objective": 712.26}`` for the
        beta-TC-VAE row's modified ELBO): shown in the row beside what was obtained, not judged.
    repeats : int, default 1
        Training runs (seeds ``seed``, ``seed + 1``, ...); the row reports their mean and standard deviation.
    reference, reference_std : float
        The paper's value (and its spread when published).
    tolerance : float
        The largest ``|obtained - reference|`` counted as reproduced.
    source : str
        Paper, table and line of the reference value.
    data_matches_paper : bool
        False when the data is a stand-in for the paper's (said in every row).
    data_note : str or None
        What the data is, when it differs from the paper's.
    needs : tuple of str
        What the row needs beyond this package: ``gpu``, ``inception-weights``, ``larochelle-files``, ``celeba``.
    cpu_hours : float or None
        Estimated hours on a 2-core CPU (the development machine) for one repeat.
    seed : int, default 0
    notes : str
        Protocol details the paper leaves open, and the choices made.
    """

    name: ClassVar[str] = "Recipe"
    recipe: str
    model: str
    model_config: dict[str, Any]
    dataset: str
    training: dict[str, Any]
    metric: Literal["nll", "fid", "elbo"]
    reference: float
    tolerance: float
    source: str
    num_importance_samples: int | None = None
    sampler: str = "normal"
    sampler_options: dict[str, Any] = field(default_factory=dict)
    train_split: Literal["train", "train_full"] = "train"
    measure_split: Literal["test", "validation", "train", "train_full"] = "test"
    other_references: dict[str, float] = field(default_factory=dict)
    repeats: int = 1
    reference_std: float | None = None
    data_matches_paper: bool = True
    data_note: str | None = None
    needs: tuple[str, ...] = ()
    cpu_hours: float | None = None
    seed: int = 0
    notes: str = ""

    def _check(self) -> None:
        super()._check()
        self._require("recipe", bool(self.recipe.strip()) and self.recipe == self.recipe.strip().lower(),
                      "a lower-case key such as 'pvae-mnist'")
        self._require("repeats", self.repeats >= 1, "a positive int")
        self._require("tolerance", self.tolerance > 0, "a positive number")
        self._require("needs", set(self.needs) <= set(NEEDS), f"a selection of {', '.join(NEEDS)}")
        self._require("num_importance_samples", self.metric != "nll" or (self.num_importance_samples or 0) >= 1,
                      "a positive int for metric 'nll'")
        self._require("data_note", self.data_matches_paper or bool(self.data_note),
                      "a description of the stand-in data when data_matches_paper is false")
        numbers = all(isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
                      for k, v in self.other_references.items())
        self._require("other_references", numbers, "a mapping of quantity names to numbers")
        if self.metric == "fid":
            self.sampler_config()
        self.model_class()  # the model and its config fields
        self.trainer_config(output_dir=None)  # the schedule
        from gaekit.data import DATASETS

        self._require("dataset", self.dataset in DATASETS, f"a registered dataset: {', '.join(DATASETS.names())}")

    def model_class(self) -> type:
        """The registered model class, after checking ``model_config`` builds a valid config of it."""
        from gaekit.models import MODELS

        self._require("model", self.model in MODELS, f"a registered model: {', '.join(MODELS.names())}")
        model_cls = MODELS.get(self.model)
        try:
            model_cls.config_class.from_dict(self.model_config)
        except ConfigError as err:
            raise ConfigError(f"Recipe {self.recipe!r}: model_config is invalid: {err}") from None
        return model_cls

    def sampler_config(self):
        """The config of the ``fid`` metric's sampler (``None`` for the prior), after checking its options."""
        if self.sampler == "normal" and not self.sampler_options:
            return None
        from gaekit.samplers import resolve_sampler

        sampler_cls = resolve_sampler(self.sampler, f"Recipe {self.recipe!r}: sampler")
        try:
            return sampler_cls.config_class.from_dict(self.sampler_options)
        except ConfigError as err:
            raise ConfigError(f"Recipe {self.recipe!r}: sampler_options is invalid: {err}") from None

    def trainer_config(self, **overrides: Any):
        """The ``TrainerConfig`` of the schedule, with ``overrides`` (``output_dir``, ``seed``, ...)."""
        from gaekit.trainers import TrainerConfig

        try:
            return TrainerConfig.from_dict({"seed": self.seed, **self.training, **overrides})
        except ConfigError as err:
            raise ConfigError(f"Recipe {self.recipe!r}: training is invalid: {err}") from None

    def smoke(self) -> Recipe:
        """The same recipe, shortened to seconds (one epoch of batches of at most 32, 2 importance samples, one
        repeat): the end-to-end check of the default test suite, not a reproduction."""
        training = {**self.training, "num_epochs": 1,
                    "batch_size": min(self.trainer_config(output_dir=None).batch_size, SMOKE_BATCH_SIZE)}
        return dataclasses.replace(self, training=training, repeats=1,
                                   num_importance_samples=2 if self.metric == "nll" else self.num_importance_samples)


def load_recipes() -> dict[str, Recipe]:
    """Every recipe shipped in ``gaekit/reproduce/recipes/``, by key (each validated)."""
    recipes = {}
    for entry in sorted(resources.files("gaekit.reproduce").joinpath("recipes").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        try:
            recipe = Recipe.from_dict(json.loads(entry.read_text()))
        except ConfigError as err:
            raise ConfigError(f"recipe file {entry.name}: {err}") from None
        if f"{recipe.recipe}.json" != entry.name:
            raise ConfigError(f"recipe file {entry.name} holds the recipe {recipe.recipe!r}; name it "
                              f"{recipe.recipe}.json")
        recipes[recipe.recipe] = recipe
    return recipes


def get_recipe(key: str) -> Recipe:
    """The shipped recipe ``key``; ``ConfigError`` listing the keys otherwise."""
    recipes = load_recipes()
    if key not in recipes:
        raise ConfigError(f"unknown recipe {key!r}; recipes: {', '.join(recipes)} (gaekit reproduce list)")
    return recipes[key]


@dataclass
class RecipeResult:
    """What ``run_recipe`` obtained: one value per repeat, and how it compares with the reference."""

    recipe: str
    metric: str
    values: list[float]
    reference: float
    tolerance: float
    source: str
    data_matches_paper: bool
    data_note: str | None
    smoke: bool
    seconds: float
    device: str
    details: list[dict[str, Any]] = field(default_factory=list)
    other_references: dict[str, float] = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return sum(self.values) / len(self.values)

    @property
    def std(self) -> float:
        m = self.mean
        return (sum((v - m) ** 2 for v in self.values) / (len(self.values) - 1)) ** 0.5 if len(self.values) > 1 \
            else 0.0

    @property
    def within_tolerance(self) -> bool:
        return abs(self.mean - self.reference) <= self.tolerance

    def other_means(self) -> dict[str, float]:
        """The mean over repeats of each quantity of ``other_references`` that every repeat reported."""
        return {key: sum(d[key] for d in self.details) / len(self.details) for key in self.other_references
                if self.details and all(key in d for d in self.details)}

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "mean": self.mean, "std": self.std,
                "difference": self.mean - self.reference, "within_tolerance": self.within_tolerance,
                "other_means": self.other_means()}

    def row(self) -> str:
        """The Markdown table row: obtained (mean ± std) | reference | difference | within tolerance | data."""
        obtained = f"{self.mean:.2f} ± {self.std:.2f} ({len(self.values)} run{'s' * (len(self.values) > 1)})"
        data = "the paper's" if self.data_matches_paper else f"stand-in: {self.data_note}"
        verdict = "yes" if self.within_tolerance else "no"
        smoke = " (smoke run, not a reproduction)" if self.smoke else ""
        others = self.other_means()
        if others:
            obtained += "; " + ", ".join(f"{key} {value:.2f} (reference {self.other_references[key]:.2f})"
                                         for key, value in others.items())
        return (f"| `{self.recipe}`{smoke} | {self.metric} | {obtained} | {self.reference:.2f} | "
                f"{self.mean - self.reference:+.2f} | {verdict} (±{self.tolerance:g}) | {data} |")


ROW_HEADER = ("| recipe | metric | obtained | reference | difference | within tolerance | data |\n"
              "|---|---|---|---|---|---|---|")
