"""The published results of the Pythae case study, for comparison with a gaekit study.

Chadebec, Vincent & Allassonniere 2022, "Pythae: Unifying Generative Autoencoders in Python"
(arXiv:2206.08309): Table 1 (reconstruction MSE in 1e-3 and FID), Table 2 (classification and
clustering accuracy in %, std over the classifier / k-means runs), Table 3 (generation FID and IS
with the N(0, I), GMM and VampPrior samplers) and Table 7 (the MAF and two-stage VAE samplers), as
transcribed in ``data/paper_results.json`` (its ``source`` entry says how).

A study's setting matches the paper's when dataset, network and latent dimension are the paper's:
``mnist`` 16, ``cifar10`` 256 or ``celeba`` 64 with the ``convnet`` or ``resnet`` networks.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).parent / "data" / "paper_results.json"

# Display names of the samplers (gaekit.samplers.SAMPLER_ALIASES keys), as the paper's tables write them.
SAMPLER_TITLES = {"normal": "N(0, I)", "gmm": "GMM", "vamp": "VAMP", "maf": "MAF", "two_stage": "2-stage VAE"}
TABLE3_SAMPLERS = ("normal", "gmm", "vamp")


@functools.lru_cache(maxsize=1)
def paper_results() -> dict[str, Any]:
    """The parsed ``paper_results.json`` (cached)."""
    return json.loads(DATA_FILE.read_text())


def matches(dataset: str, network: str, latent_dim: int) -> bool:
    """Whether (dataset, network, latent_dim) is one of the paper's settings."""
    data = paper_results()
    return network in data["networks"] and data["paper_settings"].get(dataset) == latent_dim


def value(task: str, dataset: str, network: str, latent_dim: int, model: str, metric: str,
          sampler: str | None = None) -> float | None:
    """A published number, or None when the setting differs or the paper has no such entry.

    Parameters
    ----------
    task : {"reconstruction", "classification", "clustering", "generation"}
    metric : str
        ``mse`` (1e-3) or ``fid`` for reconstruction; ``mean`` or ``std`` (%) for classification and
        clustering; ``fid`` or ``is`` for generation.
    sampler : str, optional
        For generation: ``normal``, ``gmm``, ``vamp``, ``maf`` or ``two_stage``.
    """
    if not matches(dataset, network, latent_dim):
        return None
    entry = paper_results().get(task, {}).get(network, {}).get(dataset, {}).get(model)
    if entry is not None and task == "generation":
        entry = entry.get(sampler or "")
    return None if entry is None else entry.get(metric)
