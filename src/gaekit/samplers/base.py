"""The sampler contract: config, registry, fit / sample / save / load, and shared helpers.

A sampler draws latent codes for a trained autoencoder and decodes them into data space.
Some samplers (``NormalSampler``) use the model's prior directly; others are fitted on the
embeddings of the training data first (``GaussianMixtureSampler``, as in the "GMM" rows of
the Pythae paper, Chadebec et al. 2022, arXiv:2206.08309, Section 4.3).

Saved sampler folders hold ``sampler_config.json``, ``sampler.safetensors`` (the fitted
parameters; an empty file for samplers without any) and ``gaekit.json`` (format and library
versions, sampler name, the model's shapes, and the sha256 of the weights). No pickle is ever
written or read.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor

from gaekit.config import BaseConfig, check_count, check_seed
from gaekit.errors import CheckpointError, ConfigError, DataError, GaekitError
from gaekit.models.base import BaseAE, inference_mode, non_finite_tensors
from gaekit.models.factory import global_rng_kept
from gaekit.registry import Registry
from gaekit.serialization import (
    as_folder_path,
    atomic_folder,
    check_shapes,
    is_int,
    library_metadata,
    load_tensors,
    read_folder_metadata,
    read_safetensors_header,
    require_field,
    save_tensors,
    write_json,
)

SAMPLERS: Registry[type[BaseSampler]] = Registry("sampler")

CONFIG_FILE = "sampler_config.json"
WEIGHTS_FILE = "sampler.safetensors"
METADATA_FILE = "gaekit.json"


class SamplerNotFittedError(GaekitError, RuntimeError):
    """A sampler that must be fitted (``needs_fit``) was used before ``fit``."""


@dataclass
class BaseSamplerConfig(BaseConfig):
    """Base of every sampler config (no fields).

    Each sampler's config class sets ``name`` to the sampler's class name (its registry key).
    """

    name: ClassVar[str] = "BaseSampler"


def sampler_for_config(config: BaseSamplerConfig) -> type[BaseSampler]:
    """The registered sampler class whose ``config_class`` is the type of ``config``.

    Parameters
    ----------
    config : BaseSamplerConfig
        A sampler config instance, e.g. ``GaussianMixtureSamplerConfig(num_components=10)``.

    Returns
    -------
    type[BaseSampler]

    Raises
    ------
    ConfigError
        When ``config`` is not a sampler config or no registered sampler uses its class.
    """
    if not isinstance(config, BaseSamplerConfig):
        raise ConfigError(
            "sampler_config must be a sampler config such as NormalSamplerConfig(); "
            f"got {type(config).__name__}"
        )
    for name in SAMPLERS.names():
        cls = SAMPLERS.get(name)
        if cls.config_class is type(config):
            return cls
    known = ", ".join(SAMPLERS.get(n).config_class.__name__ for n in SAMPLERS.names())
    raise ConfigError(f"no registered sampler uses {type(config).__name__}; sampler configs: {known}")


# Short names of registered samplers, accepted wherever a sampler is named (``gaekit generate/evaluate --sampler``,
# a study's ``samplers``, ``evaluate(sampler=...)``) besides the class names.
SAMPLER_ALIASES = {"normal": "NormalSampler", "gmm": "GaussianMixtureSampler", "vamp": "VAMPSampler",
                   "maf": "MAFSampler", "iaf": "IAFSampler", "two_stage": "TwoStageVAESampler"}


def resolve_sampler(name: str, where: str = "sampler") -> type[BaseSampler]:
    """The registered sampler class called ``name``: a key of ``SAMPLER_ALIASES`` or a registered class name.

    Raises
    ------
    ConfigError
        When ``name`` is neither; the message starts with ``where`` (the flag or field that named it) and lists
        the aliases and the registered samplers.
    """
    if name not in SAMPLER_ALIASES and name not in SAMPLERS:
        raise ConfigError(f"{where}: unknown sampler {name!r}; expected one of {', '.join(SAMPLER_ALIASES)} or a "
                          f"registered sampler: {', '.join(SAMPLERS.names())}")
    return SAMPLERS.get(SAMPLER_ALIASES.get(name, name))


def embed_dataset(model: BaseAE, data: Any, batch_size: int = 500, name: str = "train_data") -> Tensor:
    """Embeddings of every sample of ``data``, computed in batches.

    Parameters
    ----------
    model : BaseAE
        The model whose ``embed`` (posterior mean for variational models) is used.
    data : array, Tensor, gaekit dataset, torch Dataset or DataLoader
        Float data in [0, 1] or uint8 images (scaled by 1/255), samples shaped ``model.input_dim``.
    batch_size : int, default 500
        Samples embedded at once.
    name : str, default "train_data"
        Name of the data in error messages.

    Returns
    -------
    Tensor
        ``(N, code_dim)`` float32 embeddings on the CPU, in the order of ``data``: ``code_dim`` is
        ``latent_dim`` unless the model's codes are maps (a VQ-VAE with a convolutional encoder has
        ``latent_shape`` ``(latent_dim, h, w)``), which are flattened.
        No gradients are recorded and the model's train/eval mode is restored afterwards.

    Raises
    ------
    DataError
        Empty data, samples of the wrong shape, or non-finite values.
    """
    from gaekit.data import as_dataset, iterate_batches, validate_data

    dataset = as_dataset(data)
    validate_data(dataset, model.input_dim, unit_range=False, name=name)
    chunks = []
    with inference_mode(model):
        for batch in iterate_batches(dataset, batch_size, shuffle=False, generator=None, device=model.device):
            chunks.append(model.embed(batch.data).flatten(1).to("cpu", torch.float32))
    if not chunks:
        raise DataError(f"{name} is empty; expected at least one sample")
    return torch.cat(chunks)


class BaseSampler:
    """Base of every sampler: ``Sampler(model, sampler_config=None)``.

    Subclasses set ``config_class``, ``needs_fit`` and ``accepted_models``, implement
    ``_sample_latents`` and, when they are fitted, ``_fit``, ``_state_tensors`` and
    ``_load_state``; they are registered with ``@SAMPLERS.register()`` under their class name.

    Parameters
    ----------
    model : BaseAE
        The (trained) autoencoder whose decoder maps latent codes to data space.
    sampler_config : BaseSamplerConfig, optional
        The sampler's config; ``None`` uses the default config.

    Raises
    ------
    ConfigError
        When the config has the wrong type, or the model is not one the sampler accepts.
    """

    config_class: ClassVar[type[BaseSamplerConfig]] = BaseSamplerConfig
    needs_fit: ClassVar[bool] = False
    accepted_models: ClassVar[tuple[type, ...] | None] = None

    def __init__(self, model: BaseAE, sampler_config: BaseSamplerConfig | None = None):
        name = type(self).__name__
        if not isinstance(model, BaseAE):
            raise ConfigError(f"{name} needs a gaekit model (a BaseAE), got {type(model).__name__}")
        if self.accepted_models is not None and not isinstance(model, self.accepted_models):
            accepted = ", ".join(m.__name__ for m in self.accepted_models)
            raise ConfigError(
                f"{name} cannot be used with a {type(model).__name__} model; it accepts: {accepted}"
            )
        if sampler_config is None:
            sampler_config = self.config_class()
        if not isinstance(sampler_config, self.config_class):
            raise ConfigError(
                f"{name} needs a {self.config_class.__name__}, got {type(sampler_config).__name__}"
            )
        sampler_config.validate()
        self.model = model
        self.sampler_config = sampler_config
        self._fitted = not self.needs_fit
        # seconds the last ``fit`` took: 0 for samplers that need none, None while unknown (not fitted
        # through ``fit``, e.g. loaded from a folder)
        self.fit_seconds: float | None = None if self.needs_fit else 0.0

    # -- state ---------------------------------------------------------------------------
    @property
    def latent_shape(self) -> tuple[int, ...]:
        """Shape of one latent code as the decoder takes it (``(latent_dim,)`` unless the model has maps)."""
        return tuple(getattr(self.model, "latent_shape", (self.model.latent_dim,)))

    @property
    def code_dim(self) -> int:
        """Width of the flattened codes that fitted samplers model (``latent_dim`` for flat codes)."""
        return math.prod(self.latent_shape)

    @property
    def is_fitted(self) -> bool:
        """True when the sampler can sample (always for samplers that need no fitting)."""
        return self._fitted

    def _require_fitted(self, action: str) -> None:
        if not self._fitted:
            raise SamplerNotFittedError(
                f"{type(self).__name__} must be fitted before {action}: call "
                f"sampler.fit(train_data) (or pass train_data to GenerationPipeline)"
            )

    # -- fit -------------------------------------------------------------------------------
    def fit(self, train_data: Any = None, eval_data: Any = None, batch_size: int = 500) -> BaseSampler:
        """Fit the sampler on the model's embeddings of the data (a no-op when ``needs_fit`` is False).

        Parameters
        ----------
        train_data : array, Tensor, gaekit dataset, torch Dataset or DataLoader
            Training data in data space (float in [0, 1] or uint8).
        eval_data : same types, optional
            Evaluation data; how it is used is sampler-specific.
        batch_size : int, default 500
            Batch size used to embed the data (and to train, for trained samplers).

        Returns
        -------
        BaseSampler
            ``self``, fitted.
        """
        if not self.needs_fit:
            return self
        if train_data is None:
            raise DataError(f"{type(self).__name__}.fit needs train_data")
        start = time.perf_counter()
        self._fit(train_data, eval_data, check_count(batch_size, "batch_size"))
        self.fit_seconds = time.perf_counter() - start
        self._fitted = True
        return self

    def _fit(self, train_data: Any, eval_data: Any, batch_size: int) -> None:  # pragma: no cover
        raise NotImplementedError

    # -- sample ----------------------------------------------------------------------------
    def _sample_latents(self, num_samples: int, generator: torch.Generator, batch_size: int) -> Tensor:
        """``(num_samples, latent_dim)`` codes drawn with ``generator`` (any device)."""
        raise NotImplementedError  # pragma: no cover

    def sample(self, num_samples: int = 1, batch_size: int = 500, seed: int | None = None,
               return_latents: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """Draw ``num_samples`` new samples in data space.

        Latent codes are drawn with a CPU ``torch.Generator`` seeded by ``seed`` and decoded
        ``batch_size`` at a time with the model in inference mode (no gradients, eval mode,
        previous mode restored).

        Parameters
        ----------
        num_samples : int, default 1
        batch_size : int, default 500
            Codes decoded at once; does not change which codes are drawn.
        seed : int, optional
            Same seed, same samples; ``None`` draws fresh randomness.
        return_latents : bool, default False
            Also return the latent codes.

        Returns
        -------
        Tensor or (Tensor, Tensor)
            Samples ``(num_samples, *input_dim)`` on the CPU (and the codes
            ``(num_samples, latent_dim)`` when ``return_latents``).

        Raises
        ------
        SamplerNotFittedError
            When the sampler needs fitting and was not fitted.
        """
        num_samples = check_count(num_samples, "num_samples")
        batch_size = check_count(batch_size, "batch_size")
        self.model.check_samples_fit(num_samples, f"{type(self).__name__}.sample", self.code_dim)
        self._require_fitted("sampling")
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(check_seed(seed))
        device = self.model.device
        with inference_mode(self.model):
            latents = self._sample_latents(num_samples, generator, batch_size)
            samples = [
                self.model.decode(latents[i:i + batch_size].to(device, torch.float32)
                                  .reshape(-1, *self.latent_shape)).to("cpu")
                for i in range(0, num_samples, batch_size)
            ]
        out = torch.cat(samples)
        if return_latents:
            return out, latents.to("cpu", torch.float32)
        return out

    # -- save / load ----------------------------------------------------------------------
    def _state_tensors(self) -> dict[str, Tensor]:
        """Fitted parameters to save (none by default)."""
        return {}

    def _load_state(self, state: dict[str, Tensor], source: str) -> None:
        """Restore fitted parameters from ``state`` (raise ``CheckpointError`` when they do not fit)."""
        if state:
            raise CheckpointError(
                f"{source} holds tensors {sorted(state)} but {type(self).__name__} has none"
            )

    def _check_state(self, state: dict[str, Tensor], shapes: dict[str, tuple[int, ...]], source: str) -> None:
        """Raise ``CheckpointError`` unless ``state`` holds exactly ``shapes``' keys with those shapes
        (a ``-1`` in a shape matches any size)."""
        missing = sorted(set(shapes) - set(state))
        unexpected = sorted(set(state) - set(shapes))
        wrong = [
            f"{k} {tuple(state[k].shape)} (expected {shapes[k]})" for k in shapes
            if k in state and (state[k].dim() != len(shapes[k]) or any(
                e not in (-1, s) for e, s in zip(shapes[k], state[k].shape)))
        ]
        bad = non_finite_tensors(state, shapes)
        if missing or unexpected or wrong or bad:
            raise CheckpointError(
                f"{source} does not fit {type(self).__name__} for this model: missing {missing}, "
                f"unexpected {unexpected}, wrong shape {wrong}, non-finite {bad}"
            )

    def save(self, folder: str | Path) -> Path:
        """Write ``sampler_config.json``, ``sampler.safetensors`` and ``gaekit.json`` to ``folder``.

        The folder is written atomically; the model itself is not saved (save it with ``model.save``).
        Only gaekit's files are replaced: ``folder`` must be new, empty or a saved sampler folder
        (whose other files are kept).

        Raises
        ------
        SamplerNotFittedError
            When the sampler needs fitting and was not fitted.
        CheckpointError
            When ``folder`` is a file, a folder of the user or a gaekit folder of another kind
            (a saved model, a checkpoint); nothing is changed then.
        """
        self._require_fitted("saving")
        folder = as_folder_path(folder, f"{type(self).__name__}.save: folder")
        with atomic_folder(folder, kind="sampler") as tmp:
            self.sampler_config.to_json(tmp / CONFIG_FILE)
            digest = save_tensors(tmp / WEIGHTS_FILE, self._state_tensors())
            write_json(tmp / METADATA_FILE, {
                **library_metadata(),
                "sampler_name": type(self).__name__,
                "model_name": self.model.model_config.name,
                "input_dim": list(self.model.input_dim),
                "latent_dim": self.model.latent_dim,
                "sha256": {WEIGHTS_FILE: digest},
            })
        return folder

    @classmethod
    def load_from_folder(cls, folder: str | Path, model: BaseAE) -> BaseSampler:
        """Rebuild a sampler written by ``save``, for ``model``.

        Called on ``BaseSampler`` it dispatches on the sampler name recorded in the folder.

        Parameters
        ----------
        folder : str or Path
        model : BaseAE
            The model the sampler was fitted for (same ``input_dim`` and ``latent_dim``).

        Raises
        ------
        UnsafeLoadError
            When the folder holds a pickle.
        CheckpointError
            When files are missing, modified or corrupted, or do not fit ``model``.
        """
        folder = as_folder_path(folder, f"{cls.__name__}.load_from_folder: folder")
        meta = read_folder_metadata(folder, "sampler")
        saved_for = _saved_model_fields(meta, folder / METADATA_FILE)
        name = meta["sampler_name"]
        sampler_cls = cls._class_of_folder(name, folder)
        if isinstance(model, BaseAE):
            _check_fitted_for(model, saved_for, folder)
        with global_rng_kept():  # a flow's initial weights, replaced by the saved ones below
            sampler = sampler_cls(model, _read_sampler_config(sampler_cls, folder))
        sampler._check_density_fits(name, folder)
        state = load_tensors(folder / WEIGHTS_FILE, meta["sha256"][WEIGHTS_FILE])
        sampler._load_state(state, str(folder / WEIGHTS_FILE))
        sampler._fitted = True
        return sampler

    @classmethod
    def _class_of_folder(cls, name: str, folder: Path) -> type[BaseSampler]:
        """The class that loads a folder holding sampler ``name``: found in the registry when called on
        ``BaseSampler``, else ``cls`` itself, which must be that sampler."""
        if cls is BaseSampler:
            if name not in SAMPLERS:
                raise CheckpointError(
                    f"{folder} holds an unknown sampler {name!r}; registered samplers: {', '.join(SAMPLERS)}"
                )
            return SAMPLERS.get(name)
        if name != cls.__name__:
            raise CheckpointError(
                f"{folder} holds a {name!r}; load it with BaseSampler.load_from_folder or "
                f"{name}.load_from_folder"
            )
        return cls

    def _check_density_fits(self, name: str, folder: Path) -> None:
        """For samplers that train a density model: check its size against the saved weights before
        allocating it (built on the meta device)."""
        build_density = getattr(self, "_build_density", None)
        if build_density is None:
            return
        try:
            with torch.device("meta"):
                skeleton = build_density()
        except NotImplementedError:  # a density moved to a device while built: checked when loading
            return
        except (ConfigError, RuntimeError, OverflowError, ValueError, TypeError) as err:
            raise CheckpointError(f"{folder}/{CONFIG_FILE} describes no valid {name} density ({err})") from None
        saved = {k: shape for k, (_, shape) in read_safetensors_header(folder / WEIGHTS_FILE).items()}
        check_shapes({k: tuple(v.shape) for k, v in skeleton.state_dict().items()}, saved,
                     str(folder / WEIGHTS_FILE), f"the {name} that {folder}/{CONFIG_FILE} describes")

    def __repr__(self) -> str:
        fitted = "" if not self.needs_fit else (", fitted" if self._fitted else ", not fitted")
        return f"{type(self).__name__}({self.sampler_config!r}, model={type(self.model).__name__}{fitted})"


def _saved_model_fields(meta: dict[str, Any], path: Path) -> tuple[str, tuple[int, ...], int]:
    """The checked ``model_name``, ``input_dim`` and ``latent_dim`` of the model a saved sampler was fitted for."""
    saved_model = require_field(meta, "model_name", path, lambda v: isinstance(v, str), "the model's name")
    saved_dim = require_field(meta, "input_dim", path, lambda v: isinstance(v, list) and v and all(
        is_int(d) and d > 0 for d in v), "the model's input_dim, a list of positive ints")
    saved_latent = require_field(meta, "latent_dim", path, lambda v: is_int(v) and v > 0,
                                 "the model's latent_dim, a positive int")
    return saved_model, tuple(saved_dim), saved_latent


def _check_fitted_for(model: BaseAE, saved_for: tuple[str, tuple[int, ...], int], folder: Path) -> None:
    """Raise ``CheckpointError`` unless ``model`` is of the name and shapes the saved sampler was fitted for."""
    saved_model, saved_dim, saved_latent = saved_for
    if saved_model != model.model_config.name:
        raise CheckpointError(
            f"{folder} holds a sampler fitted for a {saved_model!r} model (gaekit.json model_name); the "
            f"given model is a {model.model_config.name!r} ({type(model).__name__}): load it with the "
            f"{saved_model} it was fitted for, or fit the sampler again for this model"
        )
    if (saved_dim, saved_latent) != (tuple(model.input_dim), model.latent_dim):
        raise CheckpointError(
            f"{folder} was saved for a model with input_dim={saved_dim}, latent_dim={saved_latent}; "
            f"the given {type(model).__name__} has input_dim={tuple(model.input_dim)}, "
            f"latent_dim={model.latent_dim}"
        )


def _read_sampler_config(sampler_cls: type[BaseSampler], folder: Path) -> BaseSamplerConfig:
    """The saved ``sampler_config.json``; ``CheckpointError`` when it is not a valid config of ``sampler_cls``."""
    try:
        return sampler_cls.config_class.from_json(folder / CONFIG_FILE)
    except ConfigError as err:
        raise CheckpointError(f"{folder}/{CONFIG_FILE} is invalid: {err}") from None
