"""Masked autoregressive flow sampler: a MAF fitted on the training embeddings, sampled, then decoded.

This is the "MAF" sampler of the Pythae paper's generation benchmark (Chadebec et al. 2022,
arXiv:2206.08309, Section 4.2 task 2, Appendix C, Table 7). The flow is a masked autoregressive
flow (Papamakarios et al., "Masked Autoregressive Flow for Density Estimation", NeurIPS 2017,
arXiv:1705.07057): each block maps a code ``z`` to ``u_i = (z_i - mu_i(z_<i)) exp(-alpha_i(z_<i))``
with a MADE computing ``mu`` and ``alpha`` (Eq. 3-5), so the density ``log p(z)`` is one pass and
sampling inverts the blocks one dimension at a time. It is fitted by maximum likelihood on the
embeddings with the set-up of Appendix C (2 blocks of 3-hidden-layer MADEs with 128 units; Adam at
1e-4, learning rate halved after 10 epochs without improvement, batches of 100, at most 200 epochs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from gaekit.samplers._fitting import FlowSampler, FlowSamplerConfig
from gaekit.samplers.base import SAMPLERS


@dataclass
class MAFSamplerConfig(FlowSamplerConfig):
    """Config of ``MAFSampler``: the flow's fields (``num_made_blocks=2``, ``num_made_hidden_layers=3``,
    ``hidden_size=128``, ``include_batch_norm=False``) and the training fields (``num_epochs=200``,
    ``learning_rate=1e-4``, ``batch_size=100``, ``scheduler_patience=10``, ``early_stopping_patience=20``,
    ``show_progress=True``, ``seed=0``); see ``FlowSamplerConfig`` and ``TrainedSamplerConfig``."""

    name: ClassVar[str] = "MAFSampler"


@SAMPLERS.register()
class MAFSampler(FlowSampler):
    """Fit a ``gaekit.flows.MAF`` on the model's embeddings; decode codes drawn from it.

    Parameters
    ----------
    model : BaseAE
        The trained autoencoder; it is not modified by fitting.
    sampler_config : MAFSamplerConfig, optional

    Notes
    -----
    ``fit(train_data, eval_data=None, batch_size=500)`` embeds the data (``batch_size`` at a time)
    and trains the flow with the gaekit ``Trainer``, stopping early on the validation loss.
    ``eval_data`` gives the validation codes; without it a seeded 10% of the training codes is held
    out for validation and not trained on. The weights of the best validation epoch are kept and the
    flow is left in eval mode. ``log_prob(z)`` evaluates the fitted density.

    Examples
    --------
    >>> sampler = MAFSampler(model, MAFSamplerConfig(num_epochs=50))  # doctest: +SKIP
    >>> images = sampler.fit(train_data, eval_data).sample(64, seed=0)  # doctest: +SKIP
    """

    config_class = MAFSamplerConfig

    @staticmethod
    def flow_class() -> type[nn.Module]:
        from gaekit.flows import MAF

        return MAF
