"""Modified Bessel functions of the first kind, and the von Mises-Fisher quantities built on them.

``log I_nu(kappa)`` and the ratio ``A(kappa) = I_{nu+1}(kappa) / I_nu(kappa)`` are computed in float64
from SciPy's exponentially scaled ``ive`` (``I_nu(k) = ive(nu, k) e^k``, so large concentrations never
overflow); where ``ive`` underflows (tiny ``kappa`` in high dimension) the leading term of the series,
``I_nu(k) ~ (k/2)^nu / Gamma(nu + 1)``, is used. Both are torch autograd Functions with the analytic
derivatives ``d log I_nu / dk = A(k) + nu / k`` and ``dA/dk = 1 - A^2 - (2 nu + 1) A / k``.

On them rest the vMF normaliser ``C_d(kappa)``, its mean resultant length ``A_d(kappa)`` and the
closed-form ``KL(vMF || U(S^{d-1}))`` (Davidson et al. 2018, "Hyperspherical Variational
Auto-Encoders", arXiv:1804.00891, Sec. 3 and appendix). The KL to the uniform has its own Function whose
derivative, ``kappa dA_d/dkappa``, has none of the cancelling ``nu / kappa`` terms, so it stays finite
and exact for ``kappa`` from 1e-3 to 1e4 and beyond.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from gaekit.distributions._tensor import _back, _np
from gaekit.manifolds import log_sphere_area

__all__ = ["bessel_ratio", "log_bessel_iv", "vmf_kl_to_uniform", "vmf_log_normalizer",
           "vmf_mean_resultant_length"]


def _log_iv_np(nu: float, k: np.ndarray) -> np.ndarray:
    from scipy.special import gammaln, ive

    k = np.maximum(k, 1e-300)
    with np.errstate(divide="ignore"):
        out = np.log(ive(nu, k)) + k
    series = nu * np.log(k / 2) - gammaln(nu + 1)
    return np.where(np.isfinite(out), out, series)


def _ratio_np(nu: float, k: np.ndarray) -> np.ndarray:
    from scipy.special import ive

    k = np.maximum(k, 1e-300)
    num, den = ive(nu + 1, k), ive(nu, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    small = k / (2 * (nu + 1))  # leading term for k -> 0
    return np.where((den > 0) & np.isfinite(ratio), ratio, small)


def bessel_ratio(nu: float, kappa: Tensor) -> Tensor:
    """``I_{nu+1}(kappa) / I_nu(kappa)`` (no gradient; see ``_BesselRatio`` for the differentiable one)."""
    return _back(_ratio_np(nu, _np(kappa)), kappa)


class _LogBesselI(torch.autograd.Function):
    @staticmethod
    def forward(ctx, nu: float, kappa: Tensor) -> Tensor:
        ctx.nu = nu
        ctx.save_for_backward(kappa)
        return _back(_log_iv_np(nu, _np(kappa)), kappa)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (kappa,) = ctx.saved_tensors
        k = np.maximum(_np(kappa), 1e-300)
        return None, grad * _back(_ratio_np(ctx.nu, k) + ctx.nu / k, kappa)


class _BesselRatio(torch.autograd.Function):
    @staticmethod
    def forward(ctx, nu: float, kappa: Tensor) -> Tensor:
        ctx.nu = nu
        ctx.save_for_backward(kappa)
        return bessel_ratio(nu, kappa)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (kappa,) = ctx.saved_tensors
        k = np.maximum(_np(kappa), 1e-300)
        a = _ratio_np(ctx.nu, k)
        return None, grad * _back(1 - a * a - (2 * ctx.nu + 1) * a / k, kappa)


def log_bessel_iv(nu: float, kappa: Tensor) -> Tensor:
    """``log I_nu(kappa)``, differentiable in ``kappa`` (float64 inside, any ``kappa > 0``)."""
    return _LogBesselI.apply(float(nu), kappa)


def vmf_mean_resultant_length(dim: int, kappa: Tensor) -> Tensor:
    """``A_d(kappa) = I_{d/2}(kappa) / I_{d/2-1}(kappa) = ||E[z]||`` for ``z ~ vMF(mu, kappa)`` on ``S^{d-1}``."""
    return _BesselRatio.apply(dim / 2 - 1, kappa)


def vmf_log_normalizer(dim: int, kappa: Tensor) -> Tensor:
    """``log C_d(kappa) = (d/2-1) log kappa - (d/2) log(2 pi) - log I_{d/2-1}(kappa)`` (Davidson et al. Sec. 3)."""
    nu = dim / 2 - 1
    k = kappa.double()
    return (nu * torch.log(k) - dim / 2 * math.log(2 * math.pi) - log_bessel_iv(nu, k)).to(kappa.dtype)


class _KLvMFUniform(torch.autograd.Function):
    @staticmethod
    def forward(ctx, dim: int, kappa: Tensor) -> Tensor:
        ctx.dim = dim
        ctx.save_for_backward(kappa)
        nu = dim / 2 - 1
        k = np.maximum(_np(kappa), 1e-300)
        kl = (k * _ratio_np(nu, k) + nu * np.log(k) - _log_iv_np(nu, k)
              - dim / 2 * math.log(2 * math.pi) + log_sphere_area(dim))
        return _back(np.maximum(kl, 0.0), kappa)

    @staticmethod
    def backward(ctx, grad: Tensor):
        (kappa,) = ctx.saved_tensors
        k = np.maximum(_np(kappa), 1e-300)
        a = _ratio_np(ctx.dim / 2 - 1, k)
        # d/dk [k A + nu log k - log I_nu] = k A'(k) = k (1 - A^2) - (d - 1) A
        return None, grad * _back(k * (1 - a * a) - (ctx.dim - 1) * a, kappa)


def vmf_kl_to_uniform(dim: int, kappa: Tensor) -> Tensor:
    """``KL(vMF(mu, kappa) || U(S^{d-1})) = kappa A_d(kappa) + log C_d(kappa) + log |S^{d-1}|``
    (Davidson et al. 2018, Sec. 3), elementwise in ``kappa``; differentiable and stable."""
    return _KLvMFUniform.apply(int(dim), kappa)
