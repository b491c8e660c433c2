"""Built-in study specs: ``paper``, ``paper-latent``, ``cpu-quick``, ``smoke``, ``disentanglement`` and
``disentanglement-cpu-quick``.

- ``paper``: the fixed-latent study of Chadebec et al. 2022 (arXiv:2206.08309, Section 4.2.1 and
  Appendix C): 19 models x 10 configurations (Tables 8-21) x {MNIST, CIFAR-10, CelebA} x {ConvNet,
  ResNet}, latent 16 / 256 / 64, 100 epochs (CelebA 50), lr 1e-4 (CelebA 1e-3), batch 100, Adam, lr
  halved after 10 epochs without validation improvement; samplers N(0, I) (VAMP: its own prior),
  GMM with 10 components, MAF, two-stage VAE; 10k generated samples. 1140 trainings. Every model
  carries the paper's code's fields explicitly where the grids leave them to the library
  (``PAPER_FIELDS``): its Gaussian decoder scale and VAMP's warm-up (docs/deviations.md).
- ``paper-latent``: the latent sweep of Section 4.2.2, latent 16 ... 512 on MNIST and CIFAR-10.
- ``cpu-quick``: the 19 models, 2 configurations each, on a real-MNIST subset with a small
  convolutional network and few epochs, the five tasks with fewer classifier / k-means runs,
  the paper's four samplers (N, GMM, MAF, two-stage VAE) with short sampler training; sized for a
  2-core machine.
- ``smoke``: three tiny MLP models on a few hundred MNIST images, one epoch: seconds.
- ``disentanglement``: the study of Locatello et al. 2019 ("Challenging Common Assumptions in the Unsupervised
  Learning of Disentangled Representations", ICML) on dSprites: beta-VAE, FactorVAE, beta-TC-VAE, DIP-VAE-I,
  DIP-VAE-II and AnnealedVAE, each with their six hyper-parameter values (``grids.LOCATELLO_GRIDS``), 5 seeds
  (they trained 50), their convolutional network (``grids.LOCATELLO_CONV_OPTIONS``: channels 32, 32, 64, 64 and a
  256-unit dense layer), latent 10, Bernoulli decoder, Adam lr 1e-4, batch 64, 33 epochs of the 80 % training split
  (their 300,000 steps; AnnealedVAE's capacity grown per step over their 100,000), scored with every
  disentanglement metric at the protocol's sample counts. 180 trainings.
- ``disentanglement-cpu-quick``: the same six models, two values each (a weak and a strong regularisation), one
  seed, an MLP (4096-256-256-10) on a random 150,000-image subset of dSprites for 3 epochs (7,032 steps of 64, lr
  5e-4; AnnealedVAE's capacity grows per step over the first third, as over Locatello et al.'s first 100,000;
  FactorVAE's discriminator 6 x 256), the metrics on 1,000 / 500 samples: sized to finish in under 45 minutes
  on 2 CPU cores (``--workers 2``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gaekit.bench.grids import LOCATELLO_CONV_OPTIONS, PAPER_MODEL_ORDER, locatello_models, paper_models
from gaekit.bench.spec import DataSpec, ModelSpec, StudySpec, TrainingSpec
from gaekit.errors import ConfigError

FIVE_TASKS = ["reconstruction", "generation", "classification", "clustering", "interpolation"]
PAPER_LATENT_DIMS = {"mnist": [16], "cifar10": [256], "celeba": [64]}
LATENT_SWEEP = [16, 32, 64, 128, 256, 512]

# The Gaussian decoder variance of the Pythae code that produced the paper's tables (Pythae before 0.1.2: the
# plain sum of squared errors, i.e. sigma^2 = 1/2, for every model of Tables 8-21; 0.1.2 moved its variational
# models to sigma^2 = 1). Set explicitly so that the paper presets keep it whatever gaekit's default is.
PAPER_DECODER_VARIANCE = 0.5
# Fields that the paper's grids leave to the library's defaults, as the paper's code had them: every model's
# decoder scale, and VAMP without KL warm-up (the paper's code had none; gaekit's default warms up 10 epochs).
PAPER_FIELDS: dict[str, dict[str, Any]] = {
    "*": {"decoder_variance": PAPER_DECODER_VARIANCE},
    "VAMP": {"linear_scheduling_steps": 0},
}

# cpu-quick: two configurations per model (1-based numbers in the paper's table), chosen to span
# the table's main trade-off (e.g. a weak and a strong regularisation) while staying cheap.
CPU_QUICK_CONFIGS = {
    "VAE": [1, 2], "VAMP": [1, 5], "IWAE": [1, 5], "VAE-lin-NF": [1, 2], "VAE-IAF": [1, 6], "beta-VAE": [3, 6],
    "beta-TC-VAE": [3, 6], "FactorVAE": [1, 4], "InfoVAE-IMQ": [3, 6], "InfoVAE-RBF": [3, 6], "AAE": [3, 5],
    "MSSSIM-VAE": [2, 5], "VAEGAN": [1, 5], "AE": [1, 2], "WAE-IMQ": [3, 6], "WAE-RBF": [3, 6],
    "VQVAE": [1, 3], "RAE-L2": [2, 5], "RAE-GP": [2, 5],
}


def _with_paper_fields(models: list) -> list:
    """The paper's ``ModelSpec`` list with ``PAPER_FIELDS`` added to every model's shared fields."""
    return [m.replace(fields={**PAPER_FIELDS["*"], **PAPER_FIELDS.get(m.label, {}), **m.fields}) for m in models]


def _paper(latent_dims: dict[str, list[int]], study: str) -> StudySpec:
    return StudySpec(
        study=study,
        datasets=list(latent_dims),
        networks=["convnet", "resnet"],
        models=_with_paper_fields(paper_models()),
        latent_dims=latent_dims,
        training=TrainingSpec(num_epochs=100, learning_rate=1e-4, batch_size=100, optimizer="Adam",
                              plateau_patience=10, plateau_factor=0.5,
                              overrides={"celeba": {"num_epochs": 50, "learning_rate": 1e-3}}
                              if "celeba" in latent_dims else {}),
        tasks=list(FIVE_TASKS),
        samplers=["normal", "gmm", "maf", "two_stage"],
        sampler_settings={"gmm": {"num_components": 10}},
        evaluation={"num_generated": 10000, "classification_runs": 20, "clustering_runs": 100},
        max_lr_retries=3,
    )


def paper() -> StudySpec:
    """The paper's fixed-latent study (1140 trainings)."""
    return _paper(dict(PAPER_LATENT_DIMS), "paper (Chadebec et al. 2022, Section 4.2.1)")


def paper_latent() -> StudySpec:
    """The paper's latent-dimension sweep (Section 4.2.2) on MNIST and CIFAR-10."""
    return _paper({"mnist": list(LATENT_SWEEP), "cifar10": list(LATENT_SWEEP)},
                  "paper-latent (Chadebec et al. 2022, Section 4.2.2)")


def cpu_quick() -> StudySpec:
    """The 19 paper models, 2 configurations each, on 10k MNIST images with a small conv net."""
    return StudySpec(
        study="cpu-quick (19 paper models, 2 configurations each, MNIST subset)",
        datasets=["mnist"],
        networks=["conv"],
        network_options={"conv": {"channels": [16, 32, 64]}},
        models=paper_models(PAPER_MODEL_ORDER, CPU_QUICK_CONFIGS),
        latent_dims={"mnist": [16]},
        training=TrainingSpec(num_epochs=10, learning_rate=1e-3, batch_size=100, plateau_patience=10),
        tasks=list(FIVE_TASKS),
        samplers=["normal", "gmm", "maf", "two_stage"],
        sampler_settings={"gmm": {"num_components": 10},
                          "maf": {"num_epochs": 50, "learning_rate": 1e-3},
                          "two_stage": {"num_epochs": 50, "learning_rate": 1e-3, "hidden_dims": [256, 256]}},
        data=DataSpec(max_train=10000, max_validation=2000, max_test=2000),
        evaluation={"num_generated": 2000, "classification_runs": 5, "clustering_runs": 10},
        max_lr_retries=3,
    )


def smoke() -> StudySpec:
    """Three tiny models on 300 MNIST images, one epoch (seconds; for tests)."""
    return StudySpec(
        study="smoke",
        datasets=["mnist"],
        networks=["mlp"],
        network_options={"mlp": {"hidden_dims": [32]}},
        models=[ModelSpec(label="VAE", model="VAE", configs=[{}]),
                ModelSpec(label="beta-VAE", model="BetaVAE", configs=[{"beta": 0.1}, {"beta": 2.0}],
                          source="Table 12 (subset)"),
                ModelSpec(label="AE", model="AE", configs=[{}])],
        latent_dims={"mnist": [4]},
        training=TrainingSpec(num_epochs=1, learning_rate=1e-3, batch_size=50),
        tasks=list(FIVE_TASKS),
        samplers=["normal", "gmm"],
        sampler_settings={"gmm": {"num_components": 3}},
        data=DataSpec(max_train=300, max_validation=100, max_test=100),
        evaluation={"num_generated": 100, "classification_runs": 2, "classification_epochs": 2,
                    "clustering_runs": 2, "batch_size": 100},
        max_lr_retries=1,
    )


# Locatello et al. 2019's steps per model (300,000 of batch 64), in epochs of dSprites' 80 % training split
# (589,824 images: 9,216 steps of 64), and AnnealedVAE's capacity schedule: 100,000 steps ("iteration threshold").
LOCATELLO_EPOCHS = 33
LOCATELLO_ANNEALING_STEPS = 100_000
# disentanglement-cpu-quick: per model, two of the six values (1-based), a weak and a strong regularisation.
DISENTANGLEMENT_QUICK_CONFIGS = {label: [2, 5] for label in
                                 ("beta-VAE", "FactorVAE", "beta-TC-VAE", "DIP-VAE-I", "DIP-VAE-II", "AnnealedVAE")}


# disentanglement-cpu-quick: 3 epochs of a 150,000-image subset, batch 64 (the last batch kept): 7,032 steps.
QUICK_STEPS = 3 * -(-150_000 // 64)


def _bernoulli(models: list) -> list:
    """Every model with a Bernoulli decoder (``reconstruction_loss="bce"``), as Locatello et al. 2019."""
    return [m.replace(fields={"reconstruction_loss": "bce", **m.fields}) for m in models]


def disentanglement() -> StudySpec:
    """Locatello et al. 2019's study on dSprites: 6 models x 6 values x 5 seeds (180 trainings)."""
    return StudySpec(
        study="disentanglement (Locatello et al. 2019, dSprites)",
        datasets=["dsprites"],
        networks=["conv"],
        network_options={"conv": dict(LOCATELLO_CONV_OPTIONS)},
        models=_bernoulli(locatello_models(fields={"AnnealedVAE": {"warmup_steps": LOCATELLO_ANNEALING_STEPS}})),
        latent_dims={"dsprites": [10]},
        training=TrainingSpec(num_epochs=LOCATELLO_EPOCHS, learning_rate=1e-4, batch_size=64, plateau_patience=None),
        tasks=["disentanglement"],
        samplers=[],
        seeds=[0, 1, 2, 3, 4],
        max_lr_retries=3,
    )


def disentanglement_cpu_quick() -> StudySpec:
    """The disentanglement study cut to 12 trainings sized for 2 CPU cores (under 45 minutes, ``--workers 2``)."""
    return StudySpec(
        study="disentanglement-cpu-quick (Locatello et al. 2019's models, 2 values each, dSprites subset)",
        datasets=["dsprites"],
        networks=["mlp"],
        network_options={"mlp": {"hidden_dims": [256, 256]}},
        models=_bernoulli(locatello_models(configs=DISENTANGLEMENT_QUICK_CONFIGS,
                                           fields={"AnnealedVAE": {"warmup_steps": QUICK_STEPS // 3},
                                                   "FactorVAE": {"discriminator_hidden_dim": 256}})),
        latent_dims={"dsprites": [10]},
        training=TrainingSpec(num_epochs=3, learning_rate=5e-4, batch_size=64, plateau_patience=None),
        tasks=["disentanglement"],
        samplers=[],
        data=DataSpec(max_train=150000, max_validation=5000, max_test=1000, subset="random"),
        evaluation={"disentanglement_num_train": 1000, "disentanglement_num_test": 500},
        max_lr_retries=3,
    )


PRESETS: dict[str, Callable[[], StudySpec]] = {"paper": paper, "paper-latent": paper_latent,
                                               "cpu-quick": cpu_quick, "smoke": smoke,
                                               "disentanglement": disentanglement,
                                               "disentanglement-cpu-quick": disentanglement_cpu_quick}


def preset(name: str) -> StudySpec:
    """The built-in spec ``name`` (one of ``PRESETS``)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")
    return PRESETS[name]()
