"""Pythae's flow classes (``BaseNF``, ``MAF``, ``IAF``, ``MADE``, ``PlanarFlow``, ``RadialFlow``) and ``NFModel``,
each holding the gaekit flow (``gaekit.flows``) its config describes as ``net``.

``flow(x)`` returns Pythae's ``ModelOutput(out=..., log_abs_det_jac=...)`` in the data-to-prior direction and
``flow.inverse(y)`` the prior-to-data one, as in Pythae. ``NFModel(prior, flow)`` is a gaekit ``BaseModel``: the
Trainer (and ``gaekit.pythae.trainers.BaseTrainer``) fits it by maximum likelihood.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from gaekit.errors import ConfigError
from gaekit.flows import IAF as GaekitIAF
from gaekit.flows import MADE as GaekitMADE
from gaekit.flows import MAF as GaekitMAF
from gaekit.flows import PlanarFlow as GaekitPlanar
from gaekit.flows import RadialFlow as GaekitRadial
from gaekit.models.base import BaseModel, ModelOutput, StepContext, batch_data
from gaekit.models.pythae_networks import ModelOutput as PythaeOutput
from gaekit.pythae.models.normalizing_flows._configs import (
    BaseNFConfig,
    IAFConfig,
    MADEConfig,
    MAFConfig,
    PlanarFlowConfig,
    RadialFlowConfig,
)

__all__ = ["IAF", "MADE", "MAF", "BaseNF", "NFModel", "PlanarFlow", "RadialFlow"]


class BaseNF(nn.Module):
    """Pythae's ``BaseNF``: ``Flow(model_config)``; ``forward(x)`` and ``inverse(y)`` return
    ``ModelOutput(out=..., log_abs_det_jac=...)`` (shape ``(B,)``), inputs flattened to ``(B, prod(input_dim))``.

    Raises
    ------
    ConfigError
        A config of another class, or no ``input_dim``.
    """

    config_class: type[BaseNFConfig] = BaseNFConfig

    def __init__(self, model_config: BaseNFConfig):
        super().__init__()
        name = type(self).__name__
        if not isinstance(model_config, self.config_class):
            raise ConfigError(f"{name} needs a {self.config_class.__name__}, got {type(model_config).__name__}")
        model_config.validate()
        if model_config.input_dim is None:
            raise ConfigError(f"{name}: {type(model_config).__name__}.input_dim must be set to the data's shape, "
                              f"e.g. input_dim=(latent_dim,)")
        self.model_config = model_config
        self.model_name = name
        self.input_dim = math.prod(model_config.input_dim)

    def _flat(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], -1)

    def forward(self, x: Tensor, **kwargs: Any) -> PythaeOutput:
        out, log_det = self.net(self._flat(x))
        return PythaeOutput(out=out, log_abs_det_jac=log_det)

    def inverse(self, y: Tensor, **kwargs: Any) -> PythaeOutput:
        out, log_det = self.net.inverse(self._flat(y))
        return PythaeOutput(out=out, log_abs_det_jac=log_det)

    def update(self) -> None:
        """Pythae's end-of-epoch hook: nothing to update in gaekit's flows."""

    def save(self, dir_path: str | Path) -> None:
        raise ConfigError(f"{type(self).__name__}.save: gaekit does not write Pythae flow folders (model.pt is a "
                          f"pickle); save the weights with torch.save(flow.state_dict(), path) or fit the flow with "
                          f"gaekit.pythae.samplers.MAFSampler/IAFSampler, whose save writes safetensors")

    @classmethod
    def load_from_folder(cls, dir_path: str | Path) -> BaseNF:
        raise ConfigError(f"{cls.__name__}.load_from_folder: Pythae flow folders are not read (their weights do not "
                          f"map onto gaekit's flows); keep the trained flow object, or use "
                          f"gaekit.pythae.samplers.MAFSampler/IAFSampler, which save and load their flow")


class _AutoregressiveNF(BaseNF):
    """MAF and IAF: gaekit's flow of ``num_made_blocks`` MADE blocks, its first block's ordering chosen so that
    the blocks see the coordinates as Pythae's do (the output reversed for an odd number of blocks)."""

    gaekit_flow: ClassVar[type[nn.Module]]
    first_ordering: ClassVar[str]

    def __init__(self, model_config: MAFConfig | IAFConfig):
        super().__init__(model_config)
        c = model_config
        self.hidden_size = c.hidden_size
        self.net = self.gaekit_flow(self.input_dim, c.num_made_blocks, c.num_made_hidden_layers, c.hidden_size,
                                    c.include_batch_norm, first_ordering=self.first_ordering,
                                    reverse_output=c.num_made_blocks % 2 == 1)


class MAF(_AutoregressiveNF):
    """Pythae's ``MAF``: ``gaekit.flows.MAF`` (``n_made_blocks`` blocks of ``n_hidden_in_made`` hidden layers of
    ``hidden_size`` units). As in Pythae, ``forward`` (data to prior) is one MADE pass per block, ``inverse`` is
    sequential, and block ``k`` sees the coordinates reversed ``k`` times (orderings alternate; the output is
    reversed for an odd number of blocks). ``include_batch_norm`` puts gaekit's batch-norm layer between blocks
    (Pythae also adds one after the last block and reverses around it, so its blocks then do not alternate)."""

    config_class = MAFConfig
    gaekit_flow = GaekitMAF
    first_ordering = "sequential"


class IAF(_AutoregressiveNF):
    """Pythae's ``IAF``: ``gaekit.flows.IAF``, fields as ``MAF``. As in Pythae, ``inverse`` (prior to data) is one
    MADE pass per block and ``forward`` (data to prior) is sequential; the coordinates are reversed before every
    block on the prior side (gaekit's ``first_ordering="reverse"``, output reversed for an odd number of blocks).
    Batch norm as for ``MAF``."""

    config_class = IAFConfig
    gaekit_flow = GaekitIAF
    first_ordering = "reverse"

    def forward(self, x: Tensor, **kwargs: Any) -> PythaeOutput:
        out, log_det = self.net.inverse(self._flat(x))
        return PythaeOutput(out=out, log_abs_det_jac=log_det)

    def inverse(self, y: Tensor, **kwargs: Any) -> PythaeOutput:
        out, log_det = self.net(self._flat(y))
        return PythaeOutput(out=out, log_abs_det_jac=log_det)


class MADE(BaseNF):
    """Pythae's ``MADE``: ``gaekit.flows.MADE`` with a mean and a log-variance per input; ``forward(x)`` returns
    ``ModelOutput(mu=..., log_var=...)``, each ``(B, prod(input_dim))``. No inverse (as in Pythae).

    Raises
    ------
    ConfigError
        ``output_dim`` missing or not of ``input_dim``'s size.
    """

    config_class = MADEConfig

    def __init__(self, model_config: MADEConfig):
        super().__init__(model_config)
        c = model_config
        if c.output_dim is None or math.prod(c.output_dim) != self.input_dim:
            raise ConfigError(f"MADE: MADEConfig.output_dim={c.output_dim!r} must be set to input_dim's size "
                              f"({self.input_dim}): gaekit's MADE gives a mean and a log-variance per input")
        self.output_dim, self.hidden_sizes = self.input_dim, list(c.hidden_sizes)
        self.net = GaekitMADE(self.input_dim, 2, c.hidden_sizes, "sequential")

    def forward(self, x: Tensor, **kwargs: Any) -> PythaeOutput:
        mu, log_var = self.net(self._flat(x)).unbind(1)
        return PythaeOutput(mu=mu, log_var=log_var)

    def inverse(self, y: Tensor, **kwargs: Any) -> PythaeOutput:
        raise NotImplementedError("MADE is not a flow: it has no inverse (use MAF or IAF)")


class PlanarFlow(BaseNF):
    """Pythae's ``PlanarFlow``: ``gaekit.flows.PlanarFlow`` with ``activation``. gaekit constrains ``u`` so that the
    map is invertible (Rezende and Mohamed 2015, Appendix A.1); Pythae uses ``u`` as is. No closed-form inverse
    (``inverse`` raises ``NotImplementedError``, as in Pythae)."""

    config_class = PlanarFlowConfig

    def __init__(self, model_config: PlanarFlowConfig):
        super().__init__(model_config)
        self.net = GaekitPlanar(self.input_dim, model_config.activation)


class RadialFlow(BaseNF):
    """Pythae's ``RadialFlow``: ``gaekit.flows.RadialFlow`` (``alpha = softplus(.)`` where Pythae uses ``exp``;
    ``beta > -alpha`` in both). No closed-form inverse (as in Pythae)."""

    config_class = RadialFlowConfig

    def __init__(self, model_config: RadialFlowConfig):
        super().__init__(model_config)
        self.net = GaekitRadial(self.input_dim)


class NFModel(BaseModel):
    """Pythae's ``NFModel(prior, flow)``: the flow ``flow`` (a ``BaseNF``) over the ``prior`` (a
    ``torch.distributions`` distribution on the flow's output), as a model the Trainer fits.

    ``forward(inputs)`` (a dict with ``"data"``, a batch or a tensor) returns ``ModelOutput(loss=...)`` with
    Pythae's loss, the negative log-likelihood summed over the batch,
    ``-sum_i [log prior(f(x_i)) + log |det df/dx(x_i)|]`` (term ``nll``: the same, averaged over the batch).

    Raises
    ------
    ConfigError
        ``flow`` not a ``BaseNF``, or ``prior`` without ``log_prob``.
    """

    config_class = BaseNFConfig

    def __init__(self, prior: torch.distributions.Distribution, flow: BaseNF):
        if not isinstance(flow, BaseNF):
            raise ConfigError(f"NFModel: flow must be one of gaekit.pythae.models.normalizing_flows' flows (MAF, IAF, "
                              f"PlanarFlow, RadialFlow), got {type(flow).__name__}")
        if not callable(getattr(prior, "log_prob", None)):
            raise ConfigError(f"NFModel: prior must be a torch.distributions distribution (with log_prob), got "
                              f"{type(prior).__name__}")
        super().__init__(flow.model_config)
        self.prior, self.flow = prior, flow

    @property
    def model_name(self) -> str:
        return self.flow.model_name

    def forward(self, inputs: Any, ctx: StepContext | None = None, **kwargs: Any) -> ModelOutput:
        x = batch_data(inputs)
        flow_output = self.flow(x)
        y = flow_output.out
        log_prior = self.prior.log_prob(y.to(self._prior_device(y))).to(y.device)
        log_lik = log_prior.reshape(y.shape[0]) + flow_output.log_abs_det_jac
        return ModelOutput(loss=-log_lik.sum(), terms={"nll": -log_lik.detach().mean()})

    def _prior_device(self, like: Tensor) -> torch.device:
        """The device of the prior's tensors (a distribution does not move with the model), else ``like``'s."""
        for value in vars(self.prior).values():
            if isinstance(value, Tensor):
                return value.device
        return like.device

    def on_epoch_end(self, ctx: StepContext) -> None:
        self.flow.update()

    def update(self) -> None:
        """Pythae's end-of-epoch hook (the flow's ``update``)."""
        self.flow.update()

    def save(self, dir_path: str | Path) -> None:
        self.flow.save(dir_path)
