"""Inverse Autoregressive Flow (IAF) -- Kingma, Salimans, Jozefowicz, Chen, Sutskever and
Welling, "Improved Variational Inference with Inverse Autoregressive Flow", NeurIPS 2016,
arXiv:1606.04934.

The same stack of MADE-based affine autoregressive blocks as ``MAF``, used in the other
direction: ``forward(u) -> (x, log |det dx/du|)`` maps the standard normal base to data in one
MADE pass per block, ``z_t = mu_t(z_{t-1}) + sigma_t(z_{t-1}) * z_{t-1}`` with
``sigma = exp(s)`` (Eq. 10; ``log |det| = sum log sigma``, Eq. 11), so sampling -- and
refining a posterior draw in a VAE -- is fast; ``inverse(x)`` is sequential and ``log_prob(x)``
goes through it.

The paper conditions each step on a context ``h`` from the encoder and uses the gated update
``sigma = sigmoid(s)``; the Pythae paper's VAE-IAF (Appendix D) uses unconditioned MADE blocks on
``z`` with the ordering reversed after each MADE, which is the default here
(``context_dim=0``); a context can be given with ``context_dim > 0``.
"""

from __future__ import annotations

from gaekit.flows.base import FLOWS
from gaekit.flows.made import AutoregressiveFlow


@FLOWS.register("IAF")
class IAF(AutoregressiveFlow):
    """Inverse autoregressive flow: ``forward`` maps the standard normal base to data.

    ``IAF(dim, num_made_blocks=2, num_made_hidden_layers=3, hidden_size=128, include_batch_norm=False,
    context_dim=0)``; see ``AutoregressiveFlow`` for the parameters.
    """

    data_to_base = "inverse"
