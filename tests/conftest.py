"""Shared fixtures: real data (MNIST from $GAEKIT_DATA_DIR or the user's data dir) and tiny models.

gaekit looks for dataset files in ``$GAEKIT_DATA_DIR`` and the user data folder only. When GAEKIT_DATA_DIR is
not set and our CI's shared data (``../shared/datasets`` next to the checkout) exists, it is set to that folder
here, before gaekit is imported, so the tests that use real MNIST or CelebA, and the processes they start, find it.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch

# A shell without job control starts background jobs (`cmd &`) with SIGINT ignored, and children inherit that: the
# tests of Ctrl-C handling (in this process and in the `gaekit` processes they start) need Python's default handler.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
if "GAEKIT_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
    os.environ["GAEKIT_DATA_DIR"] = str(SHARED_DATA)

from gaekit.errors import DataError  # noqa: E402
from gaekit.models import create_model  # noqa: E402

# Extra config fields some registered models need to build at test size; a model not listed
# here is built with input_dim and latent_dim only.
TINY_MODEL_KWARGS: dict[str, dict] = {
    # adversarial models: a small FactorVAE discriminator
    "FactorVAE": {"discriminator_hidden_dim": 16, "discriminator_num_layers": 2},
    # importance-weighted family: small K (num_importance_samples) and M (num_gradient_estimates)
    "IWAE": {"num_importance_samples": 3},
    "MIWAE": {"num_importance_samples": 2, "num_gradient_estimates": 2},
    "CIWAE": {"num_importance_samples": 3},
    "PIWAE": {"num_importance_samples": 2, "num_gradient_estimates": 2},
    # VAE-objective variants: a 3-pixel MS-SSIM window gives two scales on 8x8 images
    "MSSSIM_VAE": {"window_size": 3},
    # priors and regularised autoencoders: a VampPrior with few pseudo-inputs
    "VAMP": {"num_components": 4},
    # flow posteriors: both linear flow kinds; small MADEs
    "VAE_LinNF": {"flows": ("Planar", "Radial")},
    "VAE_IAF": {"hidden_size": 16, "num_made_hidden_layers": 2},
    # geometric and Hamiltonian models: a small metric network
    "RHVAE": {"metric_hidden_dim": 16},
    # discrete-latent models: a small codebook of 1-d codes (divides any latent_dim)
    "VQVAE": {"num_embeddings": 8, "embedding_dim": 1},
    "HRQVAE": {"num_embeddings": 4, "embedding_dim": 1, "num_levels": 2},
}


def tiny_model(name: str, input_dim=(1, 8, 8), latent_dim: int = 3, seed: int = 0, **overrides):
    """A registered model at test size, seeded so two calls give identical weights."""
    kwargs = {"input_dim": input_dim, "latent_dim": latent_dim, **TINY_MODEL_KWARGS.get(name, {}), **overrides}
    torch.manual_seed(seed)
    return create_model(name, **kwargs)


@pytest.fixture(scope="session")
def mnist_dir():
    """The MNIST folder, or a skip saying why (no MNIST in $GAEKIT_DATA_DIR or the user data folder)."""
    from gaekit.data import find_data_dir

    try:
        return find_data_dir("mnist")
    except DataError as err:
        pytest.skip(f"real MNIST not available here: {err}")


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's bundled 8x8 digits: (train, validation, test) gaekit datasets."""
    from gaekit.data import load_digits

    return load_digits("train"), load_digits("validation"), load_digits("test")


@pytest.fixture(scope="session")
def dsprites_root(tmp_path_factory):
    """A data folder holding dSprites' packed cache, generated once per test session (about 10 s)."""
    from gaekit.data.dsprites import dsprites_packed

    root = tmp_path_factory.mktemp("dsprites-data")
    dsprites_packed(root)
    return root


def fail_at_training_step(model, step: int, message: str = "simulated crash") -> None:
    """Make ``model`` raise ``RuntimeError(message)`` in its ``step``-th training forward (1-based), after the
    forward has run and drawn its random numbers; evaluation batches are not counted."""
    original_forward, calls = model.forward, {"n": 0}

    def failing_forward(batch, ctx=None):
        calls["n"] += model.training
        out = original_forward(batch, ctx)
        if calls["n"] == step:
            raise RuntimeError(message)
        return out

    model.forward = failing_forward


def recording(base: type) -> type:
    """A subclass of the dataset class ``base`` that records ``(epoch, indices, data)`` of every batch the trainer
    gathers (``.seen``), with ``.epoch`` kept by :class:`EpochOf`: for the per-batch-random datasets' resume tests."""

    class Recording(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.epoch, self.seen = 0, []

        def get_batch(self, indices, device=None):
            batch = super().get_batch(indices, device)
            self.seen.append((self.epoch, torch.as_tensor(indices).tolist(), batch.data.clone()))
            return batch

    Recording.__name__ = f"Recording{base.__name__}"
    return Recording


def epoch_of(data, stop_step: int | None = None):
    """A trainer callback that tells ``data`` (a :func:`recording` dataset) the epoch, and interrupts training
    (``KeyboardInterrupt``) after global step ``stop_step``."""
    from gaekit.trainers import TrainerCallback

    class EpochOf(TrainerCallback):
        def on_step_end(self, trainer, output):
            if trainer.state.global_step == stop_step:
                raise KeyboardInterrupt("stopped")

        def on_epoch_end(self, trainer, record):
            data.epoch = trainer.state.epoch

    return EpochOf()


def run_recorded(data, model, output_dir, num_epochs: int, stop_step: int | None = None, resume=None):
    """Train ``model`` on a :func:`recording` dataset (batch 8, seed 5), interrupted after ``stop_step`` or resumed
    from the checkpoint ``resume``; returns the trainer."""
    from gaekit.trainers import Trainer, TrainerConfig

    config = TrainerConfig(output_dir=str(output_dir), num_epochs=num_epochs, batch_size=8, show_progress=False,
                           seed=5)
    trainer = Trainer(model, config, data, callbacks=[epoch_of(data, stop_step)])
    if resume is not None:
        data.epoch = 0
        trainer.load_checkpoint(resume)
        data.epoch = trainer.state.epoch
    trainer.train()
    return trainer
