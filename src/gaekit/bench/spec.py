"""``StudySpec``: what a benchmark study trains and evaluates, validated like every gaekit config.

A study (Chadebec et al. 2022, arXiv:2206.08309, Section 4 and Appendix C) is the product
datasets x networks x latent dimensions x models x configurations x seeds, trained with one protocol
and evaluated on the five tasks. A spec is a JSON or YAML file (``StudySpec.from_file``) or a preset
(``gaekit.bench.presets``); every field is checked on construction and errors name the field, the bad
value and what is allowed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from gaekit.config import BaseConfig, loads_json
from gaekit.errors import ConfigError
from gaekit.registry import spelling_key

# Model-config fields a study sets itself (from the dataset and the latent dimension).
STUDY_SET_FIELDS = ("input_dim", "latent_dim")
VALIDATION_TASKS = ("reconstruction", "generation")


def _check_model_fields(where: str, model_name: str, fields: dict[str, Any]) -> None:
    """Refuse fields the registered model's config does not accept, or that the study sets itself."""
    from gaekit.models import MODELS

    config_class = MODELS.get(model_name).config_class
    accepted = [k for k in config_class.accepted_keys() if k not in STUDY_SET_FIELDS]
    unknown = sorted(set(fields) - set(accepted) - set(config_class.all_aliases()))  # old spellings: accepted
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown} for model {model_name!r}; accepted: {accepted}")


@dataclass
class ModelSpec(BaseConfig):
    """One model of a study and its configuration grid.

    Parameters
    ----------
    label : str
        Name in reports and run ids (the paper's label, e.g. ``"beta-VAE"``).
    model : str
        Registered model name (``gaekit.models.MODELS``), e.g. ``"BetaVAE"``.
    fields : dict
        Model-config fields shared by every configuration (e.g. ``{"kernel_choice": "rbf"}``).
    configs : list of dict
        The grid: one dict of model-config fields per configuration (1-based ``config_index`` in
        run ids, as the paper's tables); ``{}`` is the model's default configuration.
    source : str or None
        Where the grid comes from, e.g. ``"Table 12"``.
    note : str or None
        Remarks (transcription choices, mappings from the paper's symbols to config fields).
    sampler_overrides : dict
        Sampler alias replacements for this model, e.g. VAMP's ``{"normal": "vamp"}`` (its own prior).
    """

    name: ClassVar[str] = "BenchModel"
    label: str
    model: str
    fields: dict[str, Any] = field(default_factory=dict)
    configs: list[dict[str, Any]] = field(default_factory=lambda: [{}])
    source: str | None = None
    note: str | None = None
    sampler_overrides: dict[str, str] = field(default_factory=dict)

    def _check(self) -> None:
        super()._check()
        self._require("label", bool(self.label.strip()), "a non-empty string")
        from gaekit.models import MODELS

        self._require("model", self.model in MODELS, f"a registered model name: {', '.join(MODELS.names())}")
        self._require("configs", len(self.configs) > 0, "a non-empty list of configurations (use [{}] for defaults)")
        _check_model_fields(f"model {self.label!r} fields", self.model, self.fields)
        for i, config in enumerate(self.configs, start=1):
            _check_model_fields(f"model {self.label!r} config {i}", self.model, config)
        # old spellings stored under the field names, so that a spec means (and hashes) the same either way
        config_class = MODELS.get(self.model).config_class
        object.__setattr__(self, "fields", config_class.resolve_aliases(self.fields))
        object.__setattr__(self, "configs", [config_class.resolve_aliases(c) for c in self.configs])

    def model_fields(self, config_index: int) -> dict[str, Any]:
        """Fixed fields merged with configuration ``config_index`` (1-based)."""
        return {**self.fields, **self.configs[config_index - 1]}


@dataclass
class TrainingSpec(BaseConfig):
    """Training protocol (paper, Appendix C: 100 epochs, lr 1e-4, batch 100, Adam, lr halved after 10
    epochs without validation improvement; CelebA 50 epochs and lr 1e-3 via ``overrides``).

    Parameters
    ----------
    num_epochs, batch_size : int
    learning_rate : float
        Starting learning rate; divided by 10 at each retry of the instability protocol.
    optimizer : str
        A ``torch.optim`` optimizer name; ``optimizer_params`` its keyword arguments.
    plateau_patience : int or None
        ReduceLROnPlateau patience in epochs (on the validation loss); None: no scheduler.
    plateau_factor : float
    device : str
        Trainer device: "auto" (CUDA when available), "cpu", "cuda", ...
    overrides : dict
        Per dataset, fields of this spec to replace, e.g. ``{"celeba": {"num_epochs": 50, "learning_rate": 1e-3}}``.
    """

    name: ClassVar[str] = "BenchTraining"
    num_epochs: int = 100
    learning_rate: float = 1e-4
    batch_size: int = 100
    optimizer: str = "Adam"
    optimizer_params: dict[str, Any] = field(default_factory=dict)
    plateau_patience: int | None = 10
    plateau_factor: float = 0.5
    device: str = "auto"
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _check(self) -> None:
        super()._check()
        self._require("num_epochs", self.num_epochs >= 1, "a positive int")
        self._require("batch_size", self.batch_size >= 1, "a positive int")
        self._require_positive("learning_rate")
        self._require("plateau_patience", self.plateau_patience is None or self.plateau_patience >= 0,
                      "None or an int >= 0")
        self._require("plateau_factor", 0 < self.plateau_factor < 1, "a number in (0, 1)")
        self._require("device", self.device in ("auto", "cpu", "cuda", "mps") or self.device.startswith("cuda:"),
                      "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
        for dataset, override in self.overrides.items():
            if "overrides" in override:
                raise ConfigError(f"BenchTraining.overrides[{dataset!r}] cannot hold 'overrides'")
            self.replace(**override, overrides={})  # validates the override's keys and values
        # the optimizer, its parameters and the scheduler are checked where they are used
        self._to_trainer_config(self.learning_rate, 0, "bench-spec-check")

    def for_dataset(self, dataset: str) -> TrainingSpec:
        """The protocol with ``dataset``'s overrides applied (and no overrides left)."""
        return self.replace(**self.overrides.get(dataset, {}), overrides={})

    def trainer_config(self, dataset: str, learning_rate: float, seed: int, output_dir: str):
        """The ``TrainerConfig`` of one training attempt on ``dataset``."""
        return self.for_dataset(dataset)._to_trainer_config(learning_rate, seed, output_dir)

    def _to_trainer_config(self, learning_rate: float, seed: int, output_dir: str):
        """This protocol (its overrides ignored) as a ``TrainerConfig``; ``ConfigError`` names the bad field."""
        from gaekit.trainers import TrainerConfig

        scheduler = None if self.plateau_patience is None else "ReduceLROnPlateau"
        params = {} if scheduler is None else {"factor": self.plateau_factor, "patience": self.plateau_patience}
        return TrainerConfig(output_dir=output_dir, num_epochs=self.num_epochs, batch_size=self.batch_size,
                             learning_rate=learning_rate, optimizer=self.optimizer,
                             optimizer_params=dict(self.optimizer_params), scheduler=scheduler,
                             scheduler_params=params, seed=seed, device=self.device, checkpoint_every_n_epochs=1,
                             show_progress=False)


@dataclass
class DataSpec(BaseConfig):
    """How much of each split a study uses: ``max_*`` images (None: the whole split).

    ``subset`` says which: ``"first"`` (the split's first images, default) or ``"random"`` (a draw without
    replacement seeded with 0, kept in the split's order): for data stored in the order of its factors, such
    as dSprites, whose first images all have one shape.
    """

    name: ClassVar[str] = "BenchData"
    max_train: int | None = None
    max_validation: int | None = None
    max_test: int | None = None
    subset: str = "first"

    def _check(self) -> None:
        super()._check()
        for name in ("max_train", "max_validation", "max_test"):
            self._require(name, getattr(self, name) is None or getattr(self, name) >= 2, "None or an int >= 2")
        self._require("subset", self.subset in ("first", "random"), "'first' or 'random'")

    def limit(self, split: str) -> int | None:
        return getattr(self, f"max_{split}")


_NESTED = {"models": ModelSpec, "training": TrainingSpec, "data": DataSpec}


@dataclass
class StudySpec(BaseConfig):
    """A whole benchmark study; see the module docstring.

    Parameters
    ----------
    study : str
        A title for reports.
    datasets : list of str
        ``gaekit.data.DATASETS`` names (mnist, cifar10, celeba, ...).
    networks : list of str
        ``gaekit.nn.NETWORKS`` names (convnet, resnet; mlp, conv for small studies).
    network_options : dict
        Per network, options for ``create_network`` (e.g. ``{"conv": {"channels": [16, 32]}}``).
    models : list of ModelSpec
    latent_dims : dict
        Per dataset, the latent dimensions to train (paper: mnist 16, cifar10 256, celeba 64).
    training : TrainingSpec
    tasks : list of str
        Evaluation tasks (``gaekit.metrics.TASKS``).
    samplers : list of str
        Sampler aliases (normal, gmm, maf, two_stage, vamp, ...) or registered sampler names.
    sampler_settings : dict
        Per sampler alias, its config fields (e.g. ``{"gmm": {"num_components": 10}}``).
    seeds : list of int
    data : DataSpec
    evaluation : dict
        ``EvaluationConfig`` fields (classification_runs, clustering_runs, num_generated, ...).
    extractor : str
        FID/IS feature extractor (``"auto"``: Inception-v3 when its weights are here, else the
        dataset's classifier).
    max_lr_retries : int
        Instability protocol (Appendix C): a run whose loss becomes non-finite is retrained from
        scratch with the learning rate divided by 10, at most this many times.
    """

    name: ClassVar[str] = "StudySpec"
    datasets: list[str]
    networks: list[str]
    models: list[ModelSpec]
    latent_dims: dict[str, list[int]]
    study: str = "custom"
    network_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    tasks: list[str] = field(default_factory=lambda: ["reconstruction", "generation", "classification",
                                                      "clustering", "interpolation"])
    samplers: list[str] = field(default_factory=lambda: ["normal", "gmm"])
    sampler_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=lambda: [0])
    data: DataSpec = field(default_factory=DataSpec)
    evaluation: dict[str, Any] = field(default_factory=dict)
    extractor: str = "auto"
    max_lr_retries: int = 3

    def _check(self) -> None:
        super()._check()
        from gaekit.data import DATASETS
        from gaekit.metrics import TASKS
        from gaekit.nn import NETWORKS

        for name, values in (("datasets", self.datasets), ("networks", self.networks), ("models", self.models),
                             ("tasks", self.tasks), ("seeds", self.seeds)):
            self._require(name, len(values) > 0, "a non-empty list")
            keys = [v.label for v in values] if name == "models" else values
            self._require(name, len(set(keys)) == len(keys), "no duplicates" + (" (model labels)" if
                                                                                name == "models" else ""))
        for d in self.datasets:
            self._require("datasets", d in DATASETS, f"registered dataset names: {', '.join(DATASETS.names())}")
            dims = self.latent_dims.get(d)
            self._require("latent_dims", bool(dims) and all(k >= 1 for k in dims),
                          f"a non-empty list of positive latent dimensions for every dataset (missing or bad: {d!r})")
        extra = sorted(set(self.latent_dims) - set(self.datasets))
        self._require("latent_dims", not extra, f"latent dimensions only for the study's datasets {self.datasets} "
                                                f"(also has {extra})")
        for n in self.networks:
            self._require("networks", n in NETWORKS, f"registered network names: {', '.join(NETWORKS.names())}")
        self._check_network_options()
        self._check_extractor()
        for t in self.tasks:
            self._require("tasks", t in TASKS, f"a selection of {', '.join(TASKS)}")
        self._require("max_lr_retries", self.max_lr_retries >= 0, "an int >= 0")
        self._require("seeds", all(s >= 0 for s in self.seeds), "ints >= 0")
        unknown = sorted(set(self.training.overrides) - set(self.datasets))
        self._require("training", not unknown, f"overrides only for the study's datasets {self.datasets}")
        if "generation" in self.tasks:
            self._require("samplers", len(self.samplers) > 0, "at least one sampler for the generation task")
        if "disentanglement" in self.tasks:
            from gaekit.metrics.disentanglement import GROUND_TRUTH_DATASETS

            self._require("datasets", set(self.datasets) <= set(GROUND_TRUTH_DATASETS),
                          f"datasets with ground-truth factors for the disentanglement task: "
                          f"{', '.join(GROUND_TRUTH_DATASETS)}")
        for alias in [*self.samplers, *self.sampler_settings]:
            self.sampler_config(alias)  # resolves the name and validates the settings
        from gaekit.samplers import resolve_sampler

        object.__setattr__(self, "sampler_settings", {  # old field spellings stored under the field names
            alias: resolve_sampler(alias, "StudySpec.samplers").config_class.resolve_aliases(settings)
            for alias, settings in self.sampler_settings.items()})
        for m in self.models:
            for alias, target in m.sampler_overrides.items():
                self.sampler_config(target)
                self._require("models", alias in self.samplers,
                              f"sampler_overrides keys among the study's samplers {self.samplers} "
                              f"(model {m.label!r} has {alias!r})")
        from gaekit.metrics import EvaluationConfig

        EvaluationConfig.from_dict(self.evaluation)
        object.__setattr__(self, "evaluation", EvaluationConfig.resolve_aliases(self.evaluation))

    def _check_network_options(self) -> None:
        """Build, on the meta device, each network given options for each dataset: ``create_network``'s own
        checks name the bad option (no memory is allocated)."""
        import torch

        from gaekit.models import MODELS
        from gaekit.nn import create_network, encoder_kind

        extra = sorted(set(self.network_options) - set(self.networks))
        self._require("network_options", not extra, f"options only for the study's networks {self.networks} "
                                                    f"(also has {extra})")
        kinds = {encoder_kind(MODELS.get(m.model)): m.model for m in self.models}  # one model per encoder kind
        for network, options in self.network_options.items():
            self._require("network_options", isinstance(options, dict),
                          f"per network a mapping of create_network options ({network!r} has {options!r})")
            for dataset in self.datasets:
                for model, role in itertools.product(kinds.values(), ("encoder", "decoder")):
                    try:
                        with torch.device("meta"):
                            create_network(network, dataset=dataset, role=role,
                                           latent_dim=self.latent_dims[dataset][0], model=MODELS.get(model),
                                           **options)
                    except ConfigError as err:
                        raise ConfigError(f"StudySpec.network_options[{network!r}] is invalid for dataset "
                                          f"{dataset!r} ({role} of {model}): {err}") from None

    def _check_extractor(self) -> None:
        from gaekit.metrics import EXTRACTORS

        name = spelling_key(self.extractor) if isinstance(self.extractor, str) else None
        self._require("extractor", name in ("auto", "none") or name in EXTRACTORS,
                      f"'auto', 'none' or a registered feature extractor: {', '.join(EXTRACTORS.names())}")

    # -- helpers --------------------------------------------------------------------
    def model(self, label: str) -> ModelSpec:
        for m in self.models:
            if m.label == label:
                return m
        raise ConfigError(f"unknown model label {label!r}; the study's models: {[m.label for m in self.models]}")

    def sampler_config(self, alias: str):
        """The sampler config for ``alias`` with ``sampler_settings[alias]`` applied."""
        from gaekit.samplers import resolve_sampler

        cls = resolve_sampler(alias, "StudySpec.samplers")
        settings = dict(self.sampler_settings.get(alias, {}))
        if "show_progress" in cls.config_class.accepted_keys():
            settings.setdefault("show_progress", False)
        return cls.config_class.from_dict(settings)

    def samplers_for(self, label: str) -> list[str]:
        """Sampler aliases of model ``label``, its overrides applied (VAMP: vamp instead of normal)."""
        overrides = self.model(label).sampler_overrides
        return [overrides.get(s, s) for s in self.samplers]

    def evaluation_config(self):
        from gaekit.metrics import EvaluationConfig

        return EvaluationConfig.from_dict(self.evaluation)

    # -- (de)serialisation ------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for key in self.accepted_keys():
            value = getattr(self, key)
            if key == "models":
                value = [{k: v for k, v in m.to_dict().items() if k != "name"} for m in value]
            elif isinstance(value, BaseConfig):
                value = {k: v for k, v in value.to_dict().items() if k != "name"}
            else:
                value = json.loads(json.dumps(value))
            out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str | Path | None = None) -> StudySpec:
        """Build a spec from a mapping; ``source`` (the file it was read from) is named in errors."""
        if not isinstance(data, dict):
            where = f"study spec {source}" if source is not None else "StudySpec"
            raise ConfigError(f"{where} must hold a mapping of StudySpec fields, got {type(data).__name__}")
        data = dict(data)
        for key, sub in _NESTED.items():
            if key not in data:
                continue
            if key == "models":
                if not isinstance(data[key], list):
                    raise ConfigError(f"StudySpec.models={data[key]!r} is invalid: expected a list of models")
                data[key] = [m if isinstance(m, ModelSpec) else sub.from_dict(m) for m in data[key]]
            elif not isinstance(data[key], sub):
                data[key] = sub.from_dict(data[key])
        return super().from_dict(data)

    @classmethod
    def from_file(cls, path: str | Path) -> StudySpec:
        """Read a spec from a ``.json`` or ``.yaml``/``.yml`` file (YAML needs ``pip install gaekit[yaml]``)."""
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"study spec file {path} is a folder, expected a .json or .yaml file")
        if not path.is_file():
            raise ConfigError(f"study spec file {path} does not exist")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise ConfigError(f"study spec file {path} is not UTF-8 text (byte {err.start}), expected JSON or "
                              "YAML") from None
        if path.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise ConfigError("reading a YAML study spec needs PyYAML: pip install 'gaekit[yaml]'") from None
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as err:
                raise ConfigError(f"study spec {path} is not valid YAML: {err}") from None
        else:
            try:
                data = loads_json(text)
            except json.JSONDecodeError as err:
                raise ConfigError(f"study spec {path} is not valid JSON: {err}") from None
        return cls.from_dict(data, source=path)

    def spec_hash(self) -> str:
        """Short hash of the resolved spec (stored in ``study.json``; a study folder holds one spec). The models'
        ``note`` and ``source`` describe the grids and change nothing that runs, so they are left out; so is
        ``data.subset`` at its default, which studies written before it existed used."""
        data = self.to_dict()
        if data["data"].get("subset") == "first":
            del data["data"]["subset"]
        data["models"] = [{k: v for k, v in m.items() if k not in ("note", "source")} for m in data["models"]]
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]
