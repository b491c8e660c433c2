"""VAE with inverse autoregressive flows (VAE_IAF) -- Kingma, Salimans, Jozefowicz, Chen,
Sutskever and Welling, "Improved Variational Inference with Inverse Autoregressive Flow",
NeurIPS 2016, arXiv:1606.04934.

Posterior: ``z_0 ~ q(z_0|x) = N(mu(x), diag(sigma^2(x)))`` refined by ``num_made_blocks`` IAF
steps ``z_t = mu_t(z_{t-1}) + sigma_t(z_{t-1}) * z_{t-1}`` (Eq. 10) whose ``mu_t``,
``log sigma_t`` come from a MADE on ``z_{t-1}``, the ordering reversed between blocks; the
log-determinant is ``sum_t sum_i log sigma_{t,i}`` (Eq. 11). As in the Pythae paper (Appendix D)
the MADEs are not conditioned on an encoder context ``h`` and ``sigma = exp(s)`` (the IAF paper's
context and gated ``sigmoid`` update are not used); ``gaekit.flows.IAF`` holds the stack.
Objective: the negative ELBO with the flow posterior (Rezende and Mohamed 2015, Eq. 15), one
reparameterised draw,
``L(x) = rec(x, D(z_K)) + log q(z_0|x) - sum_t sum_i log sigma_{t,i} - log p(z_K)``, ``p = N(0, I)``;
``log_likelihood`` importance-samples with the flow posterior (see ``_flow_posterior``).

Config fields (beyond the VAE's; defaults as the MADE stack of the Pythae paper's MAF sampler,
Appendix C -- its VAE-IAF grid, Table 11, uses 32 units, 2-6 hidden layers and 1-20 blocks):
    num_made_blocks : int, default 2 -- IAF steps (MADE blocks);
    num_made_hidden_layers : int, default 3 -- hidden layers in each MADE;
    hidden_size : int, default 128 -- units of each hidden layer;
    made_orderings : "alternate" (default) or "reverse_before_each" -- the MADE orderings (below).

``made_orderings``: "alternate" gives block ``k`` the sequential ordering for even ``k`` and the reversed one
for odd ``k`` (the IAF paper's "reverse the ordering after each step"). "reverse_before_each" is Pythae
0.1.2's stack: the code is reversed before every block, each with the sequential ordering, which is the
same as blocks with the orderings reverse, sequential, reverse, ... and, for an odd number of blocks, the
code reversed once more after the last one (a permutation: log-det 0). Both alternate the orderings; they
differ in which coordinate the first block takes first, and so in which weights give which flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from torch import nn

from gaekit.flows import IAF
from gaekit.models._flow_posterior import FlowPosteriorVAE
from gaekit.models.base import MODELS
from gaekit.models.vae import VAEConfig


@dataclass
class VAE_IAFConfig(VAEConfig):
    """Config of ``VAE_IAF``.

    Parameters
    ----------
    num_made_blocks : int, default 2
        Number of IAF steps (>= 1); Pythae's ``n_made_blocks``.
    num_made_hidden_layers : int, default 3
        Hidden layers in each MADE (>= 0); Pythae's ``n_hidden_in_made``.
    hidden_size : int, default 128
        Units of each MADE hidden layer (>= 1).
    made_orderings : {"alternate", "reverse_before_each"}, default "alternate"
        Orderings of the MADE blocks: sequential, reverse, ... (gaekit's), or Pythae 0.1.2's (the code reversed
        before every sequential block; see the module docstring).
    """

    name: ClassVar[str] = "VAE_IAF"
    aliases: ClassVar[dict[str, str]] = {"n_made_blocks": "num_made_blocks",
                                         "n_hidden_in_made": "num_made_hidden_layers"}
    num_made_blocks: int = 2
    num_made_hidden_layers: int = 3
    hidden_size: int = 128
    made_orderings: Literal["alternate", "reverse_before_each"] = "alternate"

    def _check(self) -> None:
        super()._check()
        self._require("num_made_blocks", self.num_made_blocks >= 1, "an int >= 1")
        self._require("num_made_hidden_layers", self.num_made_hidden_layers >= 0, "an int >= 0")
        self._require("hidden_size", self.hidden_size >= 1, "an int >= 1")


VAE_IAF_Config = VAE_IAFConfig  # Pythae's name


@MODELS.register()
class VAE_IAF(FlowPosteriorVAE):
    """VAE whose posterior draw goes through a stack of inverse autoregressive flows."""

    config_class = VAE_IAFConfig

    def build_flow(self) -> nn.Module:
        c = self.model_config
        pythae = c.made_orderings == "reverse_before_each"
        return IAF(self.latent_dim, num_made_blocks=c.num_made_blocks, num_made_hidden_layers=c.num_made_hidden_layers,
                   hidden_size=c.hidden_size, first_ordering="reverse" if pythae else "sequential",
                   reverse_output=pythae and c.num_made_blocks % 2 == 1)
