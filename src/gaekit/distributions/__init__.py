"""Probability distributions on the non-Euclidean latent spaces, shared by the geometric models and samplers.

- ``hypersphere``: the uniform distribution on ``S^{d-1}`` and von Mises-Fisher ``vMF(mu, kappa)``
  (Davidson et al. 2018, arXiv:1804.00891);
- ``bessel``: the modified Bessel functions ``log I_nu`` and ``I_{nu+1} / I_nu`` and the vMF normaliser,
  mean resultant length and ``KL(vMF || U(S^{d-1}))`` built on them;
- ``poincare``: the wrapped normal and the Riemannian normal on the Poincare ball (Mathieu et al. 2019,
  arXiv:1901.06033).

Each distribution has ``rsample(num_samples, generator)`` and ``log_prob(z)``; the geometry they use
(exponential maps, distances, sphere areas) is in ``gaekit.manifolds``.
"""

from gaekit.distributions.bessel import (
    bessel_ratio,
    log_bessel_iv,
    vmf_kl_to_uniform,
    vmf_log_normalizer,
    vmf_mean_resultant_length,
)
from gaekit.distributions.hypersphere import VonMisesFisher, sample_sphere_uniform
from gaekit.distributions.poincare import RiemannianNormal, WrappedNormal, riemannian_normal_log_normalizer

__all__ = [
    "bessel_ratio", "log_bessel_iv", "vmf_kl_to_uniform", "vmf_log_normalizer", "vmf_mean_resultant_length",
    "VonMisesFisher", "sample_sphere_uniform",
    "RiemannianNormal", "WrappedNormal", "riemannian_normal_log_normalizer",
]
