"""VAE with linear normalizing flows (VAE_LinNF) -- Rezende and Mohamed, "Variational Inference
with Normalizing Flows", ICML 2015, arXiv:1505.05770.

Posterior: ``z_0 ~ q(z_0|x) = N(mu(x), diag(sigma^2(x)))`` refined by ``K`` planar (Eq. 10) and
radial (Eq. 14) flows, ``z_K = f_K o ... o f_1(z_0)``; the decoder sees ``z_K``.
Objective: the flow free energy of Eq. 15 (Pythae paper, Appendix D), one reparameterised draw,
``L(x) = rec(x, D(z_K)) + log q(z_0|x) - sum_k log |det df_k/dz_{k-1}| - log p(z_K)``
with ``p = N(0, I)``. ``log_likelihood`` importance-samples with
``q_K(z_K|x) = q(z_0|x) / prod_k |det df_k/dz_{k-1}|`` as proposal (see ``_flow_posterior``).
Zero flows give the VAE with a Monte-Carlo KL.

Config fields (beyond the VAE's):
    flows : tuple of str, default ("Planar", "Planar") -- the flow sequence, applied in order;
        each "Planar" or "Radial". Also accepted: the Pythae grid's shorthand string (Table 10),
        e.g. "PRPRP" or "10P" (a count before a letter repeats it), or one name such as "Radial";
        it is normalised to the tuple of names on construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from gaekit.errors import ConfigError
from gaekit.flows import PlanarFlow, RadialFlow, SequentialFlow
from gaekit.models._flow_posterior import FlowPosteriorVAE
from gaekit.models.base import MODELS
from gaekit.models.vae import VAEConfig

LINEAR_FLOWS = {"Planar": PlanarFlow, "Radial": RadialFlow}
_SHORTHAND = {"P": "Planar", "R": "Radial"}
_TOKEN = re.compile(r"(\d*)([PR])")


def parse_flow_sequence(flows: object) -> object:
    """Expand a shorthand string ("PRPRP", "10P", "3P2R") or a single flow name into a tuple of names.

    Anything else is returned unchanged for the config's type and name checks.
    """
    if not isinstance(flows, str):
        return flows
    if flows in LINEAR_FLOWS:
        return (flows,)
    compact = flows.replace(" ", "")
    if re.fullmatch(r"(\d*[PR])*", compact):
        names: list[str] = []
        for count, letter in _TOKEN.findall(compact):
            if count and int(count) < 1:
                break
            names.extend([_SHORTHAND[letter]] * (int(count) if count else 1))
        else:
            return tuple(names)
    raise ConfigError(
        f"VAE_LinNFConfig.flows={flows!r} is invalid: expected a sequence of flow names from "
        f"{tuple(LINEAR_FLOWS)} or a shorthand string such as 'PRPRP' or '10P' (P: Planar, R: Radial)"
    )


@dataclass
class VAE_LinNFConfig(VAEConfig):
    """Config of ``VAE_LinNF``.

    Parameters
    ----------
    flows : tuple of str, default ("Planar", "Planar")
        Flow sequence applied to the posterior draw, names from ("Planar", "Radial"); a shorthand
        string such as "PRPRP" or "10P" is expanded into the tuple. May be empty.
    """

    name: ClassVar[str] = "VAE_LinNF"
    flows: tuple[str, ...] = ("Planar", "Planar")

    def __post_init__(self) -> None:
        self.flows = parse_flow_sequence(self.flows)
        super().__post_init__()

    def _check(self) -> None:
        super()._check()
        unknown = [f for f in self.flows if f not in LINEAR_FLOWS]
        self._require("flows", not unknown, f"flow names from {tuple(LINEAR_FLOWS)} (got unknown {unknown}), "
                                            "or a shorthand string such as 'PRPRP' or '10P'")


VAE_LinNF_Config = VAE_LinNFConfig  # Pythae's name


@MODELS.register()
class VAE_LinNF(FlowPosteriorVAE):
    """VAE whose posterior draw goes through a sequence of planar and radial flows."""

    config_class = VAE_LinNFConfig

    def build_flow(self) -> nn.Module:
        dim = self.latent_dim
        return SequentialFlow(dim, [LINEAR_FLOWS[name](dim) for name in self.model_config.flows])
