"""The paper's Appendix A snippet, with ``gaekit`` for ``pythae``, on real MNIST; and learning on MNIST."""

from __future__ import annotations

import pytest
import torch

from gaekit.data import load_mnist


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    train, test = load_mnist("train", root=mnist_dir), load_mnist("test", root=mnist_dir)
    return train.subset(slice(0, 10_000)), test.subset(slice(0, 2_000))


def test_appendix_a_snippet_runs_on_mnist(mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    train, test = mnist
    your_train_data = train.data[:3000].numpy().astype("float32") / 255  # "arrays or tensors"
    your_eval_data = test.data[:500].float() / 255
    train_data = your_train_data

    # -- Appendix A, steps 1-5, verbatim but for the package name ------------------------
    from gaekit.trainers import BaseTrainerConfig
    # Set up the model configuration
    my_training_config = BaseTrainerConfig(
        output_dir='my_model',
        num_epochs=50,
        learning_rate=1e-3,
        batch_size=200)

    from gaekit.models import BetaVAE, BetaVAEConfig
    # Set up the model configuration
    my_vae_config = BetaVAEConfig(
        input_dim=(1, 28, 28),
        latent_dim=16,
        beta=2)
    # Build the model
    my_vae_model = BetaVAE(model_config=my_vae_config)

    from gaekit.pipelines import TrainingPipeline
    my_training_config = my_training_config.replace(num_epochs=2, show_progress=False)  # test budget
    pipeline = TrainingPipeline(
        training_config=my_training_config,
        model=my_vae_model)
    # Launch the Pipeline
    pipeline(
        train_data=your_train_data,  # arrays or tensors
        eval_data=your_eval_data)  # arrays or tensors

    from gaekit.models import AutoModel
    (path_to_trained_model,) = (tmp_path / "my_model").glob("BetaVAE_training_*/final_model")
    my_trained_vae = AutoModel.load_from_folder(path_to_trained_model)

    from gaekit.samplers import GaussianMixtureSamplerConfig  # noqa: I001 (the paper's order)
    from gaekit.pipelines import GenerationPipeline
    # Define your sampler configuration
    gmm_sampler_config = GaussianMixtureSamplerConfig(
        n_components=10)
    # Build the pipeline
    pipeline = GenerationPipeline(
        model=my_trained_vae,
        sampler_config=gmm_sampler_config)
    # Launch generation
    generated_samples = pipeline(
        num_samples=100,
        return_gen=True,
        train_data=train_data,
        eval_data=None)
    # ---------------------------------------------------------------------------------------

    assert isinstance(my_trained_vae, BetaVAE) and my_trained_vae.model_config.beta == 2
    assert generated_samples.shape == (100, 1, 28, 28)
    assert 0 <= generated_samples.min() and generated_samples.max() <= 1
    x = your_eval_data[:8]
    assert torch.equal(my_trained_vae.embed(x), my_vae_model.embed(x))  # the saved model is the trained one


def test_vae_learns_mnist_in_two_epochs(mnist):
    from gaekit.models import VAE, VAEConfig
    from gaekit.trainers import Trainer, TrainerConfig

    train, test = mnist
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=(1, 28, 28), latent_dim=16, reconstruction_loss="bce"))
    trainer = Trainer(model, TrainerConfig(output_dir=None, num_epochs=2, batch_size=100, learning_rate=1e-3,
                                           show_progress=False), train, eval_data=test)
    before = trainer.evaluate()["loss"]
    history = trainer.train()
    after = trainer.evaluate()["loss"]
    assert after < before and history[1]["eval_loss"] < history[0]["eval_loss"]
    x = test.as_float()
    recon_mse = ((model.reconstruct(x) - x) ** 2).mean()
    mean_image_mse = ((train.as_float().mean(0, keepdim=True) - x) ** 2).mean()
    assert recon_mse < 0.7 * mean_image_mse
