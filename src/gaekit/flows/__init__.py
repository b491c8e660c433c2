"""Normalizing flows: planar and radial flows, MADE, MAF and IAF; importing this package
registers them in ``FLOWS``.

Every flow's ``forward(z)`` returns ``(z_out, log_abs_det_jacobian)`` with the log-determinant
per sample (shape ``(B,)``); invertible ones also have ``inverse``. ``MAF`` and ``IAF`` share
``log_prob(x)`` and ``sample(num_samples, generator=None)``.
"""

from gaekit.flows.base import FLOWS, BatchNormFlow, Flow, SequentialFlow  # noqa: I001
from gaekit.flows.planar import PlanarFlow
from gaekit.flows.radial import RadialFlow
from gaekit.flows.made import MADE, AffineAutoregressive, AutoregressiveFlow, MaskedLinear
from gaekit.flows.maf import MAF
from gaekit.flows.iaf import IAF

__all__ = [
    "FLOWS", "Flow", "SequentialFlow", "BatchNormFlow", "PlanarFlow", "RadialFlow",
    "MADE", "MaskedLinear", "AffineAutoregressive", "AutoregressiveFlow", "MAF", "IAF",
]
