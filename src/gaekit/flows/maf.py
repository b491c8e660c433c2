"""Masked Autoregressive Flow (MAF) -- Papamakarios, Pavlakou and Murray, "Masked Autoregressive
Flow for Density Estimation", NeurIPS 2017, arXiv:1705.07057.

A stack of MADE-based affine autoregressive transforms (Sec. 3.1-3.2, Eq. 2-5), the ordering
reversed between blocks, optional batch norm between blocks (Sec. 3.4), over a standard normal
base. ``forward(x) -> (u, log |det du/dx|)`` maps data to the base in one MADE pass per block
(fast density); ``inverse(u) -> (x, log |det dx/du|)`` is sequential (``dim`` passes per block).
``log_prob(x) = log N(u; 0, I) + log |det du/dx|`` and ``sample`` goes through the inverse.

Defaults follow the Pythae paper's MAF sampler (Appendix C): 2 blocks of a 3-layer MADE with
128 ReLU hidden units, sequential masks reversed between blocks.
"""

from __future__ import annotations

from gaekit.flows.base import FLOWS
from gaekit.flows.made import AutoregressiveFlow


@FLOWS.register("MAF")
class MAF(AutoregressiveFlow):
    """Masked autoregressive flow: ``forward`` maps data to the standard normal base.

    ``MAF(dim, num_made_blocks=2, num_made_hidden_layers=3, hidden_size=128, include_batch_norm=False,
    context_dim=0)``; see ``AutoregressiveFlow`` for the parameters.
    """

    data_to_base = "forward"
