"""Shared machinery of the samplers that *train* a density model on the latent codes of a trained
autoencoder: the flow samplers (``MAFSampler``, ``IAFSampler``) and the ``TwoStageVAESampler``.

This is ex-post density estimation (Ghosh et al. 2020, arXiv:1903.12436, Section 4) as used by
the Pythae paper's generation benchmark (Chadebec et al. 2022, arXiv:2206.08309, Section 4.2,
task 2, and Appendix C): the training (and validation) data are embedded with the trained model,
a density estimator is fitted on these embeddings, new codes are drawn from it and decoded.

The density estimator is a gaekit ``BaseModel`` trained in memory by the one gaekit ``Trainer``
(no model folder is written) with the Appendix C set-up: Adam at learning rate 1e-4, the learning
rate halved when the validation loss has not improved for 10 epochs (``ReduceLROnPlateau``),
batches of 100, at most 200 epochs, the weights of the best validation epoch kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from gaekit.config import BaseConfig
from gaekit.errors import CheckpointError, DataError
from gaekit.models.base import BaseModel, ModelOutput, StepContext, batch_data, inference_mode
from gaekit.samplers.base import BaseSampler, BaseSamplerConfig, embed_dataset

#: Fraction of the training embeddings held out for validation when ``fit`` gets no ``eval_data``.
HOLDOUT_FRACTION = 0.1


@dataclass
class TrainedSamplerConfig(BaseSamplerConfig):
    """Fields shared by the samplers that train a density model on the embeddings.

    Defaults are the Pythae paper's Appendix C set-up (Chadebec et al. 2022, arXiv:2206.08309).

    Parameters
    ----------
    num_epochs : int, default 200
        Maximum number of training epochs.
    learning_rate : float, default 1e-4
        Adam's learning rate.
    batch_size : int, default 100
        Training batch size (the ``batch_size`` argument of ``fit`` is the batch size used to embed
        the data with the autoencoder, not this one).
    scheduler_patience : int or None, default 10
        Halve the learning rate when the validation loss has not improved for more than this many
        epochs (``torch.optim.lr_scheduler.ReduceLROnPlateau(factor=0.5, patience=...)``); ``None``
        keeps the learning rate constant.
    early_stopping_patience : int or None, default 20
        Stop when the validation loss has not improved for this many epochs; ``None`` always trains
        ``num_epochs`` epochs. The default, twice ``scheduler_patience``, lets the learning rate be
        halved once before training gives up (Appendix C names no early stopping; with the best
        weights kept it only saves time).
    show_progress : bool, default True
        A progress bar per epoch while fitting.
    seed : int, default 0
        Seeds the network's initial weights, the held-out split and the training randomness
        (data order, reparameterisation noise), so a fit is reproducible on CPU.
    """

    name: ClassVar[str] = "TrainedSampler"
    num_epochs: int = 200
    learning_rate: float = 1e-4
    batch_size: int = 100
    scheduler_patience: int | None = 10
    early_stopping_patience: int | None = 20
    show_progress: bool = True
    seed: int = 0

    def _check(self) -> None:
        super()._check()
        for name in ("num_epochs", "batch_size"):
            self._require(name, getattr(self, name) >= 1, "an int >= 1")
        self._require("learning_rate", math.isfinite(self.learning_rate) and self.learning_rate > 0,
                      "a finite number > 0")
        self._require("scheduler_patience", self.scheduler_patience is None or self.scheduler_patience >= 0,
                      "None or an int >= 0")
        self._require("early_stopping_patience",
                      self.early_stopping_patience is None or self.early_stopping_patience >= 1,
                      "None or an int >= 1")
        self._require("seed", 0 <= self.seed < 2**63, "an int in [0, 2**63)")

    def trainer_config(self, device: torch.device):
        """The in-memory ``TrainerConfig`` (no ``output_dir``) these fields describe."""
        from gaekit.trainers import TrainerConfig

        scheduler = None if self.scheduler_patience is None else "ReduceLROnPlateau"
        params = {} if scheduler is None else {"mode": "min", "factor": 0.5, "patience": self.scheduler_patience}
        return TrainerConfig(
            output_dir=None, num_epochs=self.num_epochs, batch_size=self.batch_size,
            learning_rate=self.learning_rate, optimizer="Adam", scheduler=scheduler, scheduler_params=params,
            seed=self.seed, device=str(device), show_progress=self.show_progress, load_best_at_end=True,
            early_stopping_patience=self.early_stopping_patience,
        )


@dataclass
class LatentDensityConfig(BaseConfig):
    """Config of ``LatentFlowModel``: the width of the codes it models (``input_dim=(latent_dim,)``)."""

    name: ClassVar[str] = "LatentFlowModel"
    input_dim: tuple[int, ...] | None = None

    def _check(self) -> None:
        super()._check()
        if self.input_dim is not None:
            self._require("input_dim", len(self.input_dim) == 1 and self.input_dim[0] >= 1,
                          "a 1-tuple (latent_dim,) with latent_dim >= 1")


class LatentFlowModel(BaseModel):
    """A normalising flow ``flow`` (anything with ``log_prob(z) -> (B,)``) as a trainable gaekit model.

    ``forward`` returns the mean negative log-likelihood of the batch, ``-1/B sum_i log p(z_i)``, so
    that the ``Trainer`` fits the flow by maximum likelihood.
    """

    config_class = LatentDensityConfig

    def __init__(self, model_config: LatentDensityConfig, flow: nn.Module):
        super().__init__(model_config)
        self.flow = flow

    def forward(self, batch: Any, ctx: StepContext | None = None) -> ModelOutput:
        nll = -self.flow.log_prob(batch_data(batch)).mean()
        return ModelOutput(loss=nll, terms={"nll": nll.detach()})


def split_holdout(z: Tensor, seed: int, fraction: float = HOLDOUT_FRACTION) -> tuple[Tensor, Tensor | None]:
    """Split codes into ``(train, held_out)``: a seeded random ``fraction`` (at least one code) is held out.

    With fewer than two codes nothing is held out (``held_out`` is ``None``).
    """
    n = z.shape[0]
    n_out = max(1, round(n * fraction)) if n >= 2 else 0
    if n_out == 0:
        return z, None
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return z[perm[n_out:].sort().values], z[perm[:n_out].sort().values]


class TrainedLatentSampler(BaseSampler):
    """Base of the samplers that train a density model on the model's embeddings.

    Subclasses set ``config_class`` (a ``TrainedSamplerConfig``), build the untrained density model in
    ``_build_density`` (a ``BaseModel`` sized from ``self.model.latent_dim``) and draw codes from the
    fitted one in ``_sample_latents``.

    Attributes
    ----------
    density : BaseModel or None
        The fitted density model (in eval mode), ``None`` before ``fit``.
    history : list of dict or None
        The ``Trainer``'s per-epoch records of the last ``fit`` (``train_loss``, ``eval_loss``,
        ``lr_model``, ...); ``None`` before ``fit`` and after ``load_from_folder``.
    """

    config_class: ClassVar[type[TrainedSamplerConfig]] = TrainedSamplerConfig
    needs_fit = True

    def __init__(self, model, sampler_config: TrainedSamplerConfig | None = None):
        super().__init__(model, sampler_config)
        self.density: BaseModel | None = None
        self.history: list[dict[str, Any]] | None = None

    def _build_density(self) -> BaseModel:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def _min_batch_size(self) -> int:
        """Smallest training batch the density model accepts (2 with batch normalisation)."""
        return 1

    # -- fit -------------------------------------------------------------------------------
    def fit(self, train_data: Any = None, eval_data: Any = None, batch_size: int = 500) -> TrainedLatentSampler:
        """Embed the data with the model and train the density model on the codes.

        Training follows the config (``num_epochs``, ``learning_rate``, ``batch_size``,
        ``scheduler_patience``, ``early_stopping_patience``, ``seed``) with the gaekit ``Trainer``, in
        memory. The codes of ``eval_data`` are the validation set that drives the learning-rate
        schedule, early stopping and the weights kept; when ``eval_data`` is ``None``, a seeded random
        10% of the training codes (at least one) is held out as the validation set and not trained on.
        Afterwards the density model holds the weights of its best validation epoch and is in eval
        mode; the autoencoder is not changed (nor its train/eval mode), and neither is torch's global
        random state.

        Parameters
        ----------
        train_data : array, Tensor, gaekit dataset, torch Dataset or DataLoader
            Training data in data space (float in [0, 1] or uint8).
        eval_data : same types, optional
            Validation data in data space.
        batch_size : int, default 500
            Batch size used to embed the data with the autoencoder (training uses the config's
            ``batch_size``).

        Returns
        -------
        TrainedLatentSampler
            ``self``, fitted; ``history`` holds the per-epoch training records.
        """
        return super().fit(train_data, eval_data, batch_size)

    def _fit(self, train_data: Any, eval_data: Any, batch_size: int) -> None:
        z = embed_dataset(self.model, train_data, batch_size, name="train_data")
        z_eval = None if eval_data is None else embed_dataset(self.model, eval_data, batch_size, name="eval_data")
        self.fit_embeddings(z, z_eval)

    def fit_embeddings(self, z: Tensor, z_eval: Tensor | None = None) -> TrainedLatentSampler:
        """Train the density model on latent codes ``z`` of shape ``(N, latent_dim)``.

        ``z_eval`` (codes of validation data) drives the learning-rate schedule, early stopping and
        the choice of the weights kept; without it a seeded 10% of ``z`` is held out for that and the
        model is trained on the other 90%.

        Raises
        ------
        DataError
            Codes of the wrong width, or non-finite codes.
        """
        from gaekit.trainers import Trainer

        z = self._check_codes(z, "train_data")
        if z_eval is None:
            z, z_eval = split_holdout(z, self.sampler_config.seed)
        else:
            z_eval = self._check_codes(z_eval, "eval_data")
        config = self.sampler_config.trainer_config(self.model.device)
        if len(z) < self._min_batch_size:
            raise DataError(f"{type(self).__name__} needs at least {self._min_batch_size} training codes with "
                            f"this config; got {len(z)}")
        if 0 < len(z) % config.batch_size < self._min_batch_size:
            config = config.replace(drop_last=True)  # no final batch too small for batch normalisation
        forked = [self.model.device] if self.model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=forked):  # fitting leaves the caller's torch RNG as it was
            torch.manual_seed(self.sampler_config.seed)
            density = self._build_density()
            trainer = Trainer(density, config, train_data=z, eval_data=z_eval)
            self.history = trainer.train()
        density.eval()
        self.density = density
        self._fitted = True
        return self

    def _check_codes(self, z: Any, name: str) -> Tensor:
        z = torch.as_tensor(z).detach().to("cpu", torch.float32)
        d = self.code_dim
        if z.dim() != 2 or z.shape[1] != d or z.shape[0] == 0:
            raise DataError(f"{name}: latent codes must have shape (N, {d}) with N >= 1; got {tuple(z.shape)}")
        if not bool(torch.isfinite(z).all()):
            raise DataError(f"{name}: the model's embeddings contain NaN or inf values; cannot fit "
                            f"{type(self).__name__}")
        return z

    # -- sample ----------------------------------------------------------------------------
    def _inference(self):
        """The fitted density model in inference mode (eval mode, no gradients)."""
        return inference_mode(self.density)

    # -- save / load -----------------------------------------------------------------------
    def _state_tensors(self) -> dict[str, Tensor]:
        return dict(self.density.state_dict())

    def _load_state(self, state: dict[str, Tensor], source: str) -> None:
        forked = [self.model.device] if self.model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=forked):  # building draws initial weights; keep the caller's RNG
            density = self._build_density()
        density.load_weights(state, source=source)
        bad = sorted(k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all()))
        if bad:
            raise CheckpointError(f"{source} holds non-finite values in {bad[:5]}")
        density.to(self.model.device).eval()
        self.density = density
        self.history = None


@dataclass
class FlowSamplerConfig(TrainedSamplerConfig):
    """Fields of the flow samplers (``MAFSampler``, ``IAFSampler``): the flow's architecture, then the
    training fields of ``TrainedSamplerConfig``.

    Defaults are the Pythae paper's Appendix C: two flow blocks, each a MADE (Germain et al. 2015,
    arXiv:1502.03509) with 3 hidden layers of 128 ReLU units, the variable order reversed between
    blocks, a standard normal base distribution.

    Parameters
    ----------
    num_made_blocks : int, default 2
        Number of autoregressive blocks (MADEs) stacked; Pythae's ``n_made_blocks``.
    num_made_hidden_layers : int, default 3
        Hidden layers in each MADE; Pythae's ``n_hidden_in_made``.
    hidden_size : int, default 128
        Units per hidden layer.
    include_batch_norm : bool, default False
        Batch normalisation between blocks (Papamakarios et al. 2017, arXiv:1705.07057, Section 3.4);
        its running statistics are saved with the flow.
    """

    name: ClassVar[str] = "FlowSampler"
    aliases: ClassVar[dict[str, str]] = {"n_made_blocks": "num_made_blocks",
                                         "n_hidden_in_made": "num_made_hidden_layers"}
    num_made_blocks: int = 2
    num_made_hidden_layers: int = 3
    hidden_size: int = 128
    include_batch_norm: bool = False

    def _check(self) -> None:
        super()._check()
        for name in ("num_made_blocks", "num_made_hidden_layers", "hidden_size"):
            self._require(name, getattr(self, name) >= 1, "an int >= 1")

    def flow_kwargs(self) -> dict[str, Any]:
        """The flow constructor's keyword arguments."""
        return {"num_made_blocks": self.num_made_blocks, "num_made_hidden_layers": self.num_made_hidden_layers,
                "hidden_size": self.hidden_size, "include_batch_norm": self.include_batch_norm}


class FlowSampler(TrainedLatentSampler):
    """Base of ``MAFSampler`` and ``IAFSampler``: fit a normalising flow on the embeddings by maximum
    likelihood, draw codes from it, decode them.

    Subclasses set ``config_class`` and ``flow_class`` (a ``gaekit.flows`` class built as
    ``flow_class(dim, **config.flow_kwargs())``).

    Fitting minimises the mean negative log-likelihood ``-1/N sum_i log p(z_i)`` of the training codes
    with the change of variables ``log p(z) = log N(f(z); 0, I) + log |det df/dz|`` (Papamakarios et
    al. 2017, arXiv:1705.07057, Eq. 2); ``sampler.safetensors`` holds the flow's state dict (keys
    ``flow.*``, batch-norm running statistics included).
    """

    config_class: ClassVar[type[FlowSamplerConfig]] = FlowSamplerConfig

    @staticmethod
    def flow_class() -> type[nn.Module]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def flow(self) -> nn.Module | None:
        """The fitted flow (``None`` before ``fit``)."""
        return None if self.density is None else self.density.flow

    @property
    def _min_batch_size(self) -> int:
        return 2 if self.sampler_config.include_batch_norm else 1

    def _build_density(self) -> LatentFlowModel:
        d = self.code_dim
        flow = self.flow_class()(d, **self.sampler_config.flow_kwargs())
        return LatentFlowModel(LatentDensityConfig(input_dim=(d,)), flow)

    def log_prob(self, z: Tensor) -> Tensor:
        """Log-density of the fitted flow at codes ``z`` (``(N, latent_dim)``): ``(N,)``."""
        self._require_fitted("computing log_prob")
        with self._inference():
            return self.flow.log_prob(torch.as_tensor(z, dtype=torch.float32).to(self.density.device)).cpu()

    def _sample_latents(self, num_samples: int, generator: torch.Generator, batch_size: int) -> Tensor:
        with self._inference():
            return self.flow.sample(num_samples, generator=generator)
