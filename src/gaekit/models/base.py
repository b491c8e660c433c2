"""The model contract shared by every autoencoder: config, outputs, helpers, save/load."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import Tensor, nn

from gaekit.config import BaseConfig, check_count, json_values, keyword_aliases
from gaekit.data import check_batch, check_codes
from gaekit.errors import CheckpointError, ConfigError
from gaekit.models import _losses
from gaekit.models.factory import MODELS, saved_model_builder
from gaekit.models.outputs import ModelOutput, batch_data
from gaekit.models.pythae_networks import decoder_logits, encoder_output
from gaekit.models.step import StepContext
from gaekit.nn import EncoderOutput, check_network_options, create_network
from gaekit.nn.base import check_build_memory, check_fits_in_memory, large_sizes
from gaekit.serialization import (
    as_folder_path,
    atomic_folder,
    check_shapes,
    library_metadata,
    load_tensors,
    read_folder_metadata,
    save_tensors,
    write_json,
)

__all__ = ["MODELS", "BaseAE", "BaseAEConfig", "BaseModel", "ModelOutput", "StepContext", "batch_data"]

# readers of other libraries' model folders, ``reader(folder, cls, networks) -> model | None`` (None: not its
# folder); ``gaekit.models.pythae_folders`` adds Pythae's when ``gaekit.models`` is imported
FOREIGN_FOLDER_READERS: list[Any] = []


@dataclass
class BaseAEConfig(BaseConfig):
    """Fields every model has.

    Parameters
    ----------
    input_dim : tuple of int
        Shape of one sample, e.g. ``(1, 28, 28)``. Required to build a model.
    latent_dim : int, default 10
    reconstruction_loss : {"mse", "bce"}, default "mse"
        ``"bce"`` needs data in [0, 1] and ``output_activation="sigmoid"``.
    output_activation : {"sigmoid", "identity"}, default "sigmoid"
        Applied by the model to the decoder's pre-activation output.
    decoder_variance : float, default 0.5
        ``sigma^2`` (> 0) of the Gaussian decoder ``N(x; recon_x, sigma^2 I)`` of ``"mse"``: the loss term is
        ``||x - recon_x||^2 / (2 sigma^2)``, ``log_likelihood`` adds ``-D/2 log(2 pi sigma^2)``; ignored for ``"bce"``.
        0.5 (the plain sum of squared errors) is gaekit's scale since its first release (configs saved without the
        field keep it) and that of the Pythae code behind the paper's tables; 1.0 is Pythae 0.1.2's
        variational models' unit-variance decoder (docs/deviations.md).
    network : str, default "mlp"
        The ``gaekit.nn.NETWORKS`` family the model's networks are built from when not given: ``"mlp"``,
        ``"conv"``, or the Pythae paper's ``"convnet"`` / ``"resnet"`` (MNIST, CIFAR-10 and CelebA shapes).
    network_options : dict, default {}
        Options of that network family (``hidden_dims`` for ``"mlp"``; ``channels``, ``batch_norm`` for
        ``"conv"``), as JSON values.
    """

    name: ClassVar[str] = "BaseAE"
    input_dim: tuple[int, ...] | None = None
    latent_dim: int = 10
    reconstruction_loss: Literal["mse", "bce"] = "mse"
    output_activation: Literal["sigmoid", "identity"] = "sigmoid"
    decoder_variance: float = _losses.DEFAULT_DECODER_VARIANCE
    network: str = "mlp"
    network_options: dict[str, Any] = field(default_factory=dict)

    def _check(self) -> None:
        super()._check()
        if self.input_dim is not None:
            self._require(
                "input_dim", len(self.input_dim) > 0 and all(d > 0 for d in self.input_dim),
                "a non-empty tuple of positive ints such as (1, 28, 28)",
            )
        self._require("latent_dim", self.latent_dim > 0, "a positive int")
        self._require_positive("decoder_variance")
        if self.reconstruction_loss == "bce":
            self._require("output_activation", self.output_activation == "sigmoid",
                          "'sigmoid' when reconstruction_loss='bce'")
        try:
            check_network_options(self.network, self.network_options)
        except ConfigError as err:
            raise ConfigError(f"{type(self).__name__}: {err}") from None
        # options as JSON values, so that a config equals itself read back from config.json
        object.__setattr__(self, "network_options", json_values(self.network_options,
                                                                 f"{type(self).__name__}.network_options"))

    def own_tensor_bytes(self) -> int:
        """Bytes of the tensors a model of this config holds besides its networks (codebooks, pseudo-inputs,
        ...): checked against the machine's memory before the model is built. 0 by default."""
        return 0


class BaseModel(nn.Module):
    """What the trainer needs of a model: a validated config with ``input_dim``, ``forward(batch, ctx)``
    returning a ``ModelOutput``, and ``parameter_groups``.

    ``BaseAE`` (every autoencoder) derives from it; so can auxiliary models trained by the same
    ``Trainer``, such as the density estimators that samplers fit in latent space.
    """

    config_class: ClassVar[type[BaseConfig]] = BaseConfig

    def __init__(self, model_config: BaseConfig):
        super().__init__()
        if not isinstance(model_config, self.config_class):
            raise ConfigError(
                f"{type(self).__name__} needs a {self.config_class.__name__}, got {type(model_config).__name__}"
            )
        model_config.validate()
        if getattr(model_config, "input_dim", None) is None:
            raise ConfigError(f"{type(model_config).__name__}.input_dim must be set, e.g. input_dim=(1, 28, 28)")
        self.model_config = model_config

    @property
    def input_dim(self) -> tuple[int, ...]:
        return self.model_config.input_dim

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def needs_unit_range_data(self) -> bool:
        """Whether training data must lie in [0, 1]: the model's outputs do (a sigmoid output activation) or
        its loss needs it (a Bernoulli/BCE reconstruction loss)."""
        c = self.model_config
        return getattr(c, "reconstruction_loss", None) == "bce" or getattr(c, "output_activation", None) == "sigmoid"

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:  # pragma: no cover
        raise NotImplementedError

    # models whose loss needs autograd even in evaluation (e.g. leapfrog steps using the gradient
    # of a log-density) set this; the trainer then evaluates with gradients enabled
    needs_grad_in_eval: ClassVar[bool] = False

    # buffers holding one row per sample of the current batch (e.g. RHVAE's last-batch metric): in
    # data-parallel training they are gathered across processes (rows in rank order, i.e. the global
    # batch) before ``on_epoch_end``; every other floating-point buffer is averaged after each step
    per_sample_buffers: ClassVar[tuple[str, ...]] = ()

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Parameters per optimizer group; one group ``"model"`` unless a model needs several."""
        return {"model": list(self.parameters())}

    def on_epoch_end(self, ctx: StepContext) -> None:
        """Called by the trainer after each epoch's last step, before evaluation (default: nothing).

        Models that rebuild state from what they saw during the epoch (e.g. RHVAE's metric) do it
        here; keep such state in registered buffers so that checkpoints restore it.
        """

    def load_weights(self, state: dict[str, Tensor], source: str = "checkpoint") -> None:
        """``load_state_dict`` that reports missing/unexpected/mis-shaped keys and NaN/inf values as
        ``CheckpointError``."""
        self.check_weights(state, source)
        try:
            self.load_state_dict(state)
        except RuntimeError as err:  # a data-sized (empty) buffer the model could not resize
            raise CheckpointError(f"weights in {source} do not fit {type(self).__name__}: {err}") from None

    def check_weights(self, state: dict[str, Tensor], source: str) -> None:
        """``CheckpointError`` unless ``state`` has this model's keys and shapes and only finite values."""
        check_shapes({k: tuple(v.shape) for k, v in self.state_dict().items()},
                     {k: tuple(v.shape) for k, v in state.items()}, source, type(self).__name__)
        bad = non_finite_tensors(state)
        if bad:
            raise CheckpointError(f"weights in {source} hold non-finite values (NaN or inf) in {bad[:5]}"
                                  f"{f' and {len(bad) - 5} more' if len(bad) > 5 else ''}; refusing to load them")


def non_finite_tensors(state: dict[str, Tensor], keys: Any = None) -> list[str]:
    """Names of the tensors of ``state`` (of ``keys`` only, when given) holding a NaN or an infinity."""
    return [k for k in (state if keys is None else keys)
            if k in state and not bool(torch.isfinite(state[k]).all())]


class BaseAE(BaseModel):
    """Base of every autoencoder: ``Model(model_config, encoder=None, decoder=None)``.

    ``encoder``/``decoder`` ``None`` build the default MLP networks sized from
    ``model_config.input_dim``. Subclasses set ``config_class``, implement ``forward`` and,
    when their posterior is Gaussian, set ``variational = True``.
    """

    config_class: ClassVar[type[BaseAEConfig]] = BaseAEConfig
    variational: ClassVar[bool] = False
    # networks beyond encoder and decoder (e.g. ("discriminator",)): each is a constructor keyword,
    # built by ``default_<name>()`` when not given, saved and loaded like the encoder and decoder
    extra_networks: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model_config: BaseAEConfig, encoder: nn.Module | None = None,
                 decoder: nn.Module | None = None, **networks: nn.Module | None):
        super().__init__(model_config)
        unknown = sorted(set(networks) - set(self.extra_networks))
        if unknown:
            raise ConfigError(f"{type(self).__name__} takes no network(s) {unknown}; its networks are "
                              f"{['encoder', 'decoder', *self.extra_networks]}")
        given = {"encoder": encoder, "decoder": decoder, **networks}
        check_networks(type(self).__name__, given)
        self.custom_networks = {part for part, module in given.items() if module is not None}
        sizes = {f"{type(model_config).__name__}.{f.name}": getattr(model_config, f.name)
                 for f in dataclasses.fields(model_config)}
        planned = model_config.own_tensor_bytes()  # and of the default networks built so far, when estimated
        check_fits_in_memory(planned, type(self).__name__, large_sizes(sizes))
        for part in self.network_names():
            module = given.get(part)
            if module is None:
                build = getattr(self, f"default_{part}")
                planned += check_build_memory(build, f"{type(self).__name__}'s default {part}", sizes, planned)
                module = build()
            setattr(self, part, module)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "sample_prior" in vars(cls):  # every model's prior refuses a bad number of samples
            cls.sample_prior = _counted(cls.sample_prior)

    @classmethod
    def network_names(cls) -> tuple[str, ...]:
        """``("encoder", "decoder", *extra_networks)``."""
        return ("encoder", "decoder", *cls.extra_networks)

    # -- networks -------------------------------------------------------------------
    @property
    def latent_dim(self) -> int:
        return self.model_config.latent_dim

    def default_encoder(self) -> nn.Module:
        return self.config_network("encoder")

    def default_decoder(self) -> nn.Module:
        return self.config_network("decoder")

    def config_network(self, role: str, options: bool = True) -> nn.Module:
        """The config's ``network`` for ``role``, of this model's encoder kind, on ``input_dim`` (with the
        config's ``network_options`` unless ``options=False``)."""
        c = self.model_config
        return create_network(c.network, c.input_dim, role, c.latent_dim if role != "discriminator" else None,
                              model=type(self), **(c.network_options if options else {}))

    # -- core maps ------------------------------------------------------------------
    def encode(self, x: Tensor) -> EncoderOutput:
        """The encoder's output for a batch ``x`` shaped ``(B, *input_dim)`` (``DataError`` otherwise)."""
        if not isinstance(x, Tensor) or x.shape[1:] != self.model_config.input_dim:  # one cheap test per step
            x = check_batch(x, self.input_dim, "x", self.device)
        return encoder_output(self.encoder(x))  # Pythae's ModelOutput(embedding=...) too

    def decode_logits(self, z: Tensor) -> Tensor:
        """Decoder output before the output activation; ``DataError`` for codes not shaped as the decoder's
        ``latent_shape`` (when it declares one)."""
        code_shape = getattr(self.decoder, "latent_shape", None)
        if not isinstance(z, Tensor) or (code_shape is not None and z.shape[1:] != code_shape):  # one cheap test
            check_codes(z, code_shape)
        return decoder_logits(self.decoder, z, self.model_config.output_activation)  # a final nn.Sigmoid is read

    def activate(self, logits: Tensor) -> Tensor:
        return torch.sigmoid(logits) if self.model_config.output_activation == "sigmoid" else logits

    def decode(self, z: Tensor) -> Tensor:
        """Latent codes ``(B, *latent_shape)`` to data-space values (``DataError`` for codes of another shape)."""
        return self.activate(self.decode_logits(z))

    def reconstruction_terms(self, logits: Tensor, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(recon_x, per-sample reconstruction loss)`` from decoder logits."""
        recon_x = self.activate(logits)
        c = self.model_config
        return recon_x, _losses.reconstruction_loss(logits, x, c.reconstruction_loss, recon_x, c.decoder_variance)

    # -- helpers (inference mode: no grad, eval mode restored afterwards) ----------------
    def _inference(self) -> contextlib.AbstractContextManager:
        return inference_mode(self)

    def _to_model(self, x: Any, name: str = "x") -> Tensor:
        """A batch of data as float32 on the model's device (uint8 scaled by 1/255), checked against
        ``input_dim`` (``DataError`` for a wrong shape, dtype or type, or NaN/inf values)."""
        if isinstance(x, dict) and "data" in x:
            x = x["data"]
        elif not isinstance(x, (Tensor, np.ndarray)) and isinstance(getattr(x, "data", None), Tensor):
            x = x.data  # a gaekit Batch
        return check_batch(x, self.input_dim, name, self.device)

    def embed(self, x: Tensor) -> Tensor:
        """Latent codes of ``x`` (the posterior mean for variational models); no loss computed."""
        with self._inference():
            return self.encode(self._to_model(x)).embedding

    def reconstruct(self, x: Tensor) -> Tensor:
        """Decode the embedding of ``x``."""
        with self._inference():
            return self.decode(self.encode(self._to_model(x)).embedding)

    @keyword_aliases(starting_inputs="x_start", ending_inputs="x_end", granularity="steps")  # Pythae's names
    def interpolate(self, x_start: Tensor, x_end: Tensor, steps: int = 10) -> Tensor:
        """Decode ``steps`` points on the segment between the embeddings: ``(B, steps, *input_dim)``."""
        check_count(steps, "interpolate: steps", minimum=2)
        with self._inference():
            z0 = self.encode(self._to_model(x_start, "x_start")).embedding
            z1 = self.encode(self._to_model(x_end, "x_end")).embedding
            if z0.shape != z1.shape:
                raise ConfigError(f"interpolate: x_start and x_end must hold as many samples ({len(z0)} vs {len(z1)})")
            t = torch.linspace(0, 1, steps, device=z0.device).view(1, steps, 1)
            path = z0.flatten(1).unsqueeze(1) * (1 - t) + z1.flatten(1).unsqueeze(1) * t  # codes may be maps
            out = self.decode(path.reshape(-1, *z0.shape[1:]))
            return out.view(z0.shape[0], steps, *out.shape[1:])

    def sample_prior(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """Codes drawn from the model's prior (standard normal unless a model overrides it)."""
        num_samples = check_count(num_samples, "num_samples")
        return torch.randn(num_samples, self.latent_dim, generator=generator).to(self.device)

    def check_samples_fit(self, num_samples: int, what: str, extra_values: int = 0) -> None:
        """``ConfigError`` unless ``num_samples`` decoded float32 samples (plus ``extra_values`` each, e.g. their
        codes) fit in this machine's memory twice (the decoded batches and their concatenation)."""
        nbytes = 2 * 4 * num_samples * (int(np.prod(self.input_dim)) + extra_values)
        check_fits_in_memory(nbytes, what, f"num_samples={num_samples}", "the samples",
                             "fewer samples at a time")

    def generate(self, num_samples: int, generator: torch.Generator | None = None) -> Tensor:
        """Decode ``num_samples`` (a positive int) codes drawn from the model's own prior."""
        num_samples = check_count(num_samples, "num_samples")
        self.check_samples_fit(num_samples, f"{type(self).__name__}.generate", self.latent_dim)
        with self._inference():
            return self.decode(self.sample_prior(num_samples, generator))

    # -- save / load -----------------------------------------------------------------
    def save(self, folder: str | Path, training_config: BaseConfig | None = None) -> Path:
        """Write ``config.json``, ``model.safetensors``, ``gaekit.json`` (and ``training_config.json``).

        The folder is written atomically and only gaekit's files are replaced: ``folder`` must be
        new, empty or a saved model folder (whose other files, e.g. notes, are kept); anything else
        raises ``CheckpointError`` and is left untouched. No pickle is written: custom
        encoders/decoders are recorded by class name and must be passed again to ``load_from_folder``.
        """
        folder = as_folder_path(folder, f"{type(self).__name__}.save: folder")
        if training_config is not None and not isinstance(training_config, BaseConfig):
            raise ConfigError(f"{type(self).__name__}.save: training_config={training_config!r:.80} is invalid: "
                              f"expected a gaekit config (e.g. a TrainerConfig) or None, got "
                              f"{type(training_config).__name__}")
        with atomic_folder(folder, kind="model") as tmp:
            self.model_config.to_json(tmp / "config.json")
            digest = save_tensors(tmp / "model.safetensors", self.state_dict())
            if training_config is not None:
                training_config.to_json(tmp / "training_config.json")
            write_json(tmp / "gaekit.json", {
                **library_metadata(),
                "model_name": self.model_config.name,
                **{f"custom_{part}": _qualname(getattr(self, part)) if part in self.custom_networks else None
                   for part in self.network_names()},
                "sha256": {"model.safetensors": digest},
            })
        return folder

    @classmethod
    def load_from_folder(cls, folder: str | Path, encoder: nn.Module | None = None,
                         decoder: nn.Module | None = None, **networks: nn.Module | None) -> BaseAE:
        """Rebuild a model saved with ``save``; pass the custom networks it was trained with.

        The networks its config describes (``network``, ``network_options``) are rebuilt from the folder;
        custom networks (encoder, decoder, or a model's extra networks such as a discriminator) must be
        given again as instances, and their saved weights are loaded into them. Folders of earlier
        releases, which recorded networks built by ``create_network`` in ``gaekit.json``, load too.

        Nothing is allocated before it is checked: every field of ``gaekit.json`` is type-checked, and the
        model that ``config.json`` describes is first built on the ``meta`` device and its state-dict shapes
        compared with the weights file's header.
        """
        from gaekit.config import read_json
        from gaekit.serialization import read_safetensors_header, require_field

        folder = as_folder_path(folder, f"{cls.__name__}.load_from_folder: folder")
        given = {"encoder": encoder, "decoder": decoder, **networks}
        check_networks(f"{cls.__name__}.load_from_folder", given)
        for reader in FOREIGN_FOLDER_READERS:  # another library's folder (Pythae's: models.pythae_folders)
            if (model := reader(folder, cls, given)) is not None:
                return model
        meta = read_folder_metadata(folder, "model")
        path, name = folder / "gaekit.json", meta["model_name"]
        if cls is BaseAE and name not in MODELS:
            raise CheckpointError(f"{path}: field 'model_name' = {name!r} is not a registered model; registered "
                                  f"models: {', '.join(MODELS.names())}")
        if cls is not BaseAE and name != cls.config_class.name:
            raise CheckpointError(
                f"{folder} holds a {name!r} model; load it with AutoModel or {name}.load_from_folder"
            )
        model_cls = MODELS.get(name) if cls is BaseAE else cls
        parts = model_cls.network_names()
        custom = {part: require_field(meta, f"custom_{part}", path, lambda v: v is None or isinstance(v, str),
                                      "the class name of a custom network, or null", optional=True) for part in parts}
        legacy = {part: require_field(meta, f"{part}_network", path, lambda v: v is None or isinstance(v, dict),
                                      "a gaekit.nn.create_network spec (a JSON object), or null", optional=True)
                  for part in parts}
        try:
            config_data = read_json(folder / "config.json")
        except ConfigError as err:
            raise CheckpointError(f"{folder}/config.json is invalid: {err}") from None
        if not isinstance(config_data, dict) or config_data.get("name") != name:
            raise CheckpointError(f"{folder}/config.json is invalid: expected the JSON object of a {name} config "
                                  f"(with \"name\": {name!r}), got {config_data!r:.80}")
        build = saved_model_builder(config_data, str(folder), given, custom, legacy, model_cls)
        weights = folder / "model.safetensors"
        saved = {key: shape for key, (_, shape) in read_safetensors_header(weights).items()}
        try:
            with torch.device("meta"):
                skeleton = build()
        except (RuntimeError, NotImplementedError, OverflowError, ValueError, TypeError) as err:
            raise CheckpointError(f"{folder}: the {name} that config.json describes cannot be built on the meta "
                                  f"device to be checked against the weights before allocating ({err})") from None
        check_shapes({k: tuple(v.shape) for k, v in skeleton.state_dict().items()}, saved, str(weights),
                     f"the {name} that {folder}/config.json describes")
        model = build()
        model.load_weights(load_tensors(weights, meta["sha256"]["model.safetensors"]), source=str(folder))
        return model

    @keyword_aliases(hf_hub_path="repo_id")  # Pythae's name
    def push_to_hub(self, repo_id: str, token: str | None = None, private: bool = False, *,
                    training_config: BaseConfig | None = None, history: list[dict[str, Any]] | None = None,
                    commit_message: str | None = None) -> str:
        """Upload the saved model folder and a model card to the Hugging Face Hub; see ``gaekit.hub.push_to_hub``."""
        from gaekit.hub import push_to_hub

        return push_to_hub(self, repo_id, token=token, private=private, training_config=training_config,
                           history=history, commit_message=commit_message)

    def extra_repr(self) -> str:
        fields = ", ".join(f"{f.name}={getattr(self.model_config, f.name)!r}"
                           for f in dataclasses.fields(self.model_config))
        return f"config: {fields}"


def check_networks(owner: str, networks: dict[str, Any]) -> None:
    """``ConfigError`` unless every given network (``None``: the default) is a ``torch.nn.Module``."""
    for part, module in networks.items():
        if module is not None and not isinstance(module, nn.Module):
            raise ConfigError(f"{owner}: {part}={module!r:.80} is invalid: expected a torch.nn.Module instance "
                              f"(or None for the default), got {type(module).__name__}; build one with "
                              f"gaekit.nn.create_network(...)")


def _counted(sample_prior: Any) -> Any:
    """Wrap a model's ``sample_prior`` so that ``num_samples`` must be a positive int (``ConfigError``)."""

    @functools.wraps(sample_prior)
    def wrapper(self: BaseAE, num_samples: int, *args: Any, **kwargs: Any) -> Tensor:
        return sample_prior(self, check_count(num_samples, "num_samples"), *args, **kwargs)

    return wrapper


def _qualname(module: nn.Module) -> str:
    return f"{type(module).__module__}.{type(module).__qualname__}"


@contextlib.contextmanager
def inference_mode(model: nn.Module) -> Iterator[None]:
    """Put ``model`` in eval mode without gradients; restore its previous mode on exit."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)
