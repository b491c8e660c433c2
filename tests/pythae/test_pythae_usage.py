"""Pythae's documented usage (its README's training, custom-network, generation and reloading snippets, its
trainer and callback API) run through ``gaekit.pythae``, unchanged but for the import root and the sizes
(tiny models, 1x28x28 or 8x8 data, 1-2 epochs). Each call was checked against the installed Pythae 0.1.2 source."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from torch import nn

from gaekit.errors import ConfigError, DataError
from gaekit.pythae.models import AE, VAE, Adversarial_AE, Adversarial_AE_Config, AEConfig, AutoModel, VAEConfig
from gaekit.pythae.models.base.base_utils import ModelOutput
from gaekit.pythae.models.nn import BaseDecoder, BaseEncoder
from gaekit.pythae.pipelines import GenerationPipeline
from gaekit.pythae.pipelines.training import TrainingPipeline
from gaekit.pythae.samplers import (
    GaussianMixtureSampler,
    GaussianMixtureSamplerConfig,
    MAFSamplerConfig,
    NormalSampler,
    NormalSamplerConfig,
)
from gaekit.pythae.trainers import (
    AdversarialTrainer,
    AdversarialTrainerConfig,
    BaseTrainer,
    BaseTrainerConfig,
    CoupledOptimizerTrainer,
)
from gaekit.pythae.trainers.training_callbacks import TrainingCallback


@pytest.fixture(scope="module")
def mnist_like():
    """200 images of 1x28x28 in [0, 1] (train) and 40 (eval), as numpy arrays like the README's."""
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(240, 1, 28, 28, generator=gen) > 0.7).float().numpy()
    return x[:200], x[200:]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_like):
    """The README's training snippet (its BaseTrainerConfig fields, 1 epoch); returns the output_dir."""
    train_dataset, eval_dataset = mnist_like
    output_dir = str(tmp_path_factory.mktemp("my_model"))
    my_training_config = BaseTrainerConfig(
        output_dir=output_dir,
        num_epochs=2,
        learning_rate=1e-3,
        per_device_train_batch_size=50,
        per_device_eval_batch_size=50,
        train_dataloader_num_workers=2,
        eval_dataloader_num_workers=2,
        steps_saving=1,
        optimizer_cls="AdamW",
        optimizer_params={"weight_decay": 0.05, "betas": (0.91, 0.995)},
        scheduler_cls="ReduceLROnPlateau",
        scheduler_params={"patience": 5, "factor": 0.5},
        no_cuda=True,
    )
    my_vae_config = VAEConfig(input_dim=(1, 28, 28), latent_dim=4)
    my_vae_model = VAE(model_config=my_vae_config)
    pipeline = TrainingPipeline(training_config=my_training_config, model=my_vae_model)
    pipeline(train_data=train_dataset, eval_data=eval_dataset)
    return output_dir, pipeline


def test_readme_training_and_reloading(trained, mnist_like):
    output_dir, pipeline = trained
    last_training = sorted(os.listdir(output_dir))[-1]
    assert pipeline.trainer.training_dir == os.path.join(output_dir, last_training)
    assert {"checkpoint_epoch_1", "checkpoint_epoch_2", "final_model"} <= set(os.listdir(pipeline.trainer.training_dir))
    trained_model = AutoModel.load_from_folder(os.path.join(output_dir, last_training, "final_model"))
    assert isinstance(trained_model, VAE)
    x = torch.from_numpy(mnist_like[1][:4])
    torch.testing.assert_close(trained_model.reconstruct(x), pipeline.model.reconstruct(x))
    optimizer = pipeline.trainer.optimizer  # Pythae's attribute: AdamW with the README's settings
    assert type(optimizer).__name__ == "AdamW" and optimizer.param_groups[0]["betas"] == (0.91, 0.995)
    assert type(pipeline.trainer.scheduler).__name__ == "ReduceLROnPlateau"


def test_readme_generation(trained, mnist_like, tmp_path):
    output_dir, pipeline = trained
    last_training = sorted(os.listdir(output_dir))[-1]
    my_trained_vae = AutoModel.load_from_folder(os.path.join(output_dir, last_training, "final_model"))
    my_samper = NormalSampler(model=my_trained_vae)
    gen_data = my_samper.sample(num_samples=50, batch_size=10, output_dir=None, return_gen=True)
    assert gen_data.shape == (50, 1, 28, 28) and 0 <= gen_data.min() and gen_data.max() <= 1
    gmm_sampler_config = GaussianMixtureSamplerConfig(n_components=3)
    my_samper = GaussianMixtureSampler(sampler_config=gmm_sampler_config, model=my_trained_vae)
    my_samper.fit(mnist_like[0])
    gen_data = my_samper.sample(num_samples=12, batch_size=5, output_dir=str(tmp_path / "gen"), return_gen=True,
                                save_sampler_config=True)
    assert gen_data.shape == (12, 1, 28, 28)
    written = sorted(os.listdir(tmp_path / "gen"))
    assert written == [f"{i:08d}.png" for i in range(12)] + ["sampler_config.json"]  # Pythae's file names
    reread = GaussianMixtureSamplerConfig.from_json_file(str(tmp_path / "gen" / "sampler_config.json"))
    assert reread.num_components == 3
    assert my_samper.sample(num_samples=2, return_gen=False) is None


def test_generation_pipeline_with_a_trained_sampler(trained, mnist_like):
    _, pipeline = trained
    pipe = GenerationPipeline(model=pipeline.model, sampler_config=MAFSamplerConfig(n_made_blocks=1, hidden_size=8))
    generated = pipe(num_samples=6, return_gen=True, train_data=mnist_like[0], eval_data=mnist_like[1],
                     training_config=BaseTrainerConfig(num_epochs=1, per_device_train_batch_size=100))
    assert generated.shape == (6, 1, 28, 28)
    assert pipe.sampler.sampler_config.num_epochs == 1 and pipe.sampler.sampler_config.batch_size == 100
    assert len(pipe.sampler.history) == 1
    with pytest.raises(ConfigError, match="trains no model"):
        GenerationPipeline(pipeline.model, NormalSamplerConfig())(num_samples=1,
                                                                  training_config=BaseTrainerConfig())


class My_Encoder(BaseEncoder):
    def __init__(self, args=None):
        BaseEncoder.__init__(self)
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU())
        self.mu, self.log_var = nn.Linear(16, args.latent_dim), nn.Linear(16, args.latent_dim)

    def forward(self, x: torch.Tensor) -> ModelOutput:
        out = self.layers(x)
        return ModelOutput(embedding=self.mu(out), log_covariance=self.log_var(out))


class My_Decoder(BaseDecoder):
    def __init__(self, args=None):
        BaseDecoder.__init__(self)
        self.layers = nn.Sequential(nn.Linear(args.latent_dim, 64), nn.Sigmoid())

    def forward(self, z: torch.Tensor) -> ModelOutput:
        return ModelOutput(reconstruction=self.layers(z).reshape(-1, 1, 8, 8))


class Recorder(TrainingCallback):
    """Overrides every Pythae hook and records the calls."""

    def __init__(self):
        self.calls = []

    def _record(self, name, training_config, **kwargs):
        assert isinstance(training_config, BaseTrainerConfig)
        self.calls.append((name, kwargs.get("epoch", kwargs.get("global_step"))))


for _hook in ("on_init_end", "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_step_begin",
              "on_train_step_end", "on_eval_step_begin", "on_eval_step_end", "on_evaluate", "on_prediction_step",
              "on_save"):
    setattr(Recorder, _hook, lambda self, training_config, _h=_hook, **kw: self._record(_h, training_config, **kw))


def _on_log(self, training_config, logs, **kwargs):
    assert set(logs) == {"train_epoch_loss", "eval_epoch_loss"}
    self.calls.append(("on_log", kwargs["global_step"]))


Recorder.on_log = _on_log


def test_custom_networks_and_every_callback_hook(tmp_path):
    x = torch.rand(40, 1, 8, 8)
    model_config = VAEConfig(input_dim=(1, 8, 8), latent_dim=2)
    model = VAE(model_config=model_config, encoder=My_Encoder(model_config), decoder=My_Decoder(model_config))
    out = model({"data": x[:3]})
    assert out["loss"].ndim == 0 and torch.isfinite(out.loss)
    recorder = Recorder()
    config = BaseTrainerConfig(output_dir=str(tmp_path), num_epochs=2, per_device_train_batch_size=10,
                               per_device_eval_batch_size=10, steps_predict=1, no_cuda=True)
    trainer = BaseTrainer(model=model, train_dataset=x[:30], eval_dataset=x[30:], training_config=config,
                          callbacks=[recorder])
    assert recorder.calls == [("on_init_end", None)]
    trainer.train()
    names = [c[0] for c in recorder.calls]
    assert set(names) == {"on_init_end", "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
                          "on_train_step_begin", "on_train_step_end", "on_eval_step_begin", "on_eval_step_end",
                          "on_evaluate", "on_prediction_step", "on_save", "on_log"}
    assert names.count("on_train_step_end") == 6 and names.count("on_eval_step_end") == 2
    assert [c for c in recorder.calls if c[0] in ("on_epoch_begin", "on_log")] == [
        ("on_epoch_begin", 1), ("on_log", 1), ("on_epoch_begin", 2), ("on_log", 2)]
    assert names.index("on_eval_step_begin") < names.index("on_eval_step_end")
    assert names[-1] == "on_train_end"
    reloaded = AutoModel.load_from_folder(os.path.join(trainer.training_dir, "final_model"),
                                          encoder=My_Encoder(model_config), decoder=My_Decoder(model_config))
    torch.testing.assert_close(reloaded.reconstruct(x[:2]), model.reconstruct(x[:2]))


def test_duck_typed_callback_is_called_and_others_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # output_dir=None writes to ./dummy_output_dir, as Pythae
    class NotSubclassed:  # Pythae's hooks without deriving from TrainingCallback
        def __init__(self):
            self.epochs = []

        def on_epoch_end(self, training_config, **kwargs):
            self.epochs.append(kwargs["trainer"].state.epoch)

    callback = NotSubclassed()
    model = AE(model_config=AEConfig(input_dim=(1, 8, 8), latent_dim=2))
    config = BaseTrainerConfig(output_dir=None, num_epochs=2, per_device_train_batch_size=20)
    BaseTrainer(model, torch.rand(20, 1, 8, 8), training_config=config, callbacks=[callback]).train()
    assert callback.epochs == [1, 2]
    assert len(list((tmp_path / "dummy_output_dir").glob("AE_training_*/final_model"))) == 1
    with pytest.raises(ConfigError, match="is not a callback"):
        BaseTrainer(model, torch.rand(20, 1, 8, 8), training_config=config, callbacks=[object()])


def test_adversarial_and_coupled_trainers(tmp_path):
    x = np.random.default_rng(0).random((40, 1, 8, 8), dtype=np.float32)
    model = Adversarial_AE(model_config=Adversarial_AE_Config(input_dim=(1, 8, 8), latent_dim=2))
    config = AdversarialTrainerConfig(output_dir=str(tmp_path), num_epochs=1, per_device_train_batch_size=20,
                                      autoencoder_learning_rate=1e-3, discriminator_learning_rate=1e-2,
                                      discriminator_optimizer_cls="SGD")
    trainer = AdversarialTrainer(model=model, train_dataset=x, training_config=config)
    assert trainer.autoencoder_optimizer.param_groups[0]["lr"] == 1e-3
    assert type(trainer.discriminator_optimizer).__name__ == "SGD"
    assert trainer.discriminator_optimizer.param_groups[0]["lr"] == 1e-2
    trainer.train()
    assert os.path.isdir(os.path.join(trainer.training_dir, "final_model"))
    with pytest.raises(ConfigError, match="use BaseTrainer"):
        CoupledOptimizerTrainer(model=model, train_dataset=x)
    with pytest.raises(AttributeError, match="autoencoder_optimizer"):
        trainer.optimizer  # noqa: B018 -- Pythae's trainers with several optimizers name them


def test_refused_settings_name_themselves(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # output_dir=None: ./dummy_output_dir
    model = VAE(model_config=VAEConfig(input_dim=(1, 8, 8), latent_dim=2))
    x = torch.rand(20, 1, 8, 8)
    with pytest.raises(ConfigError, match="keep_best_on_train=True"):
        BaseTrainer(model, x, x, BaseTrainerConfig(keep_best_on_train=True, output_dir=None))
    trainer = BaseTrainer(model, x, None, BaseTrainerConfig(keep_best_on_train=True, output_dir=None, num_epochs=1))
    with pytest.raises(ConfigError, match="log_output_dir"):
        trainer.train(log_output_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="VAEConfig"):
        BaseTrainer(model, x, training_config=VAEConfig())


def test_readme_benchmark_networks_build_gaekits_paper_networks():
    from gaekit.pythae.models.nn.benchmarks.mnist import (
        Decoder_ResNet_AE_MNIST,
        Discriminator_Conv_MNIST,
        Encoder_Conv_AE_MNIST,
        Encoder_ResNet_VAE_MNIST,
    )

    my_vae_config = VAEConfig(input_dim=(1, 28, 28), latent_dim=10)
    my_vae_model = VAE(model_config=my_vae_config, encoder=Encoder_ResNet_VAE_MNIST(my_vae_config),
                       decoder=Decoder_ResNet_AE_MNIST(my_vae_config))
    out = my_vae_model({"data": torch.rand(2, 1, 28, 28)})
    assert out.recon_x.shape == (2, 1, 28, 28) and torch.isfinite(out.loss)
    assert type(my_vae_model.encoder).__name__ == "ResNetEncoder"
    assert type(Encoder_Conv_AE_MNIST(my_vae_config)).__name__ == "ConvNetEncoder"
    assert type(Discriminator_Conv_MNIST(my_vae_config)).__name__ == "ConvNetDiscriminator"


def test_models_with_gaekit_built_networks_reload_without_them(tmp_path):
    from gaekit.errors import CheckpointError
    from gaekit.pythae.models import RHVAE, RHVAEConfig
    from gaekit.pythae.models.nn.benchmarks.mnist import Decoder_Conv_AE_MNIST, Encoder_Conv_VAE_MNIST
    from gaekit.pythae.models.nn.default_architectures import Discriminator_MLP, Encoder_VAE_MLP, Metric_MLP

    x = torch.rand(2, 1, 28, 28)
    config = VAEConfig(input_dim=(1, 28, 28), latent_dim=4)
    models = {
        "vae": VAE(model_config=config, encoder=Encoder_Conv_VAE_MNIST(config), decoder=Decoder_Conv_AE_MNIST(config)),
        "aae": Adversarial_AE(model_config=(aae := Adversarial_AE_Config(input_dim=(1, 28, 28), latent_dim=4)),
                              encoder=Encoder_VAE_MLP(aae), discriminator=Discriminator_MLP(aae)),
        "rhvae": RHVAE(model_config=(rh := RHVAEConfig(input_dim=(1, 28, 28), latent_dim=4)), metric=Metric_MLP(rh)),
    }
    for name, model in models.items():
        model.save(tmp_path / name)
        reloaded = AutoModel.load_from_folder(str(tmp_path / name))  # Pythae's flow: no networks passed
        reloaded.eval()
        model.eval()
        torch.testing.assert_close(reloaded.encode(x).embedding, model.encode(x).embedding)
    custom = VAE(model_config=VAEConfig(input_dim=(1, 8, 8), latent_dim=2), encoder=My_Encoder(config))
    custom.save(tmp_path / "custom")
    with pytest.raises(CheckpointError, match="custom encoder"):  # a user's own network is never rebuilt
        AutoModel.load_from_folder(str(tmp_path / "custom"))


def test_train_history_callback_records_pythaes_epoch_losses(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # output_dir=None: ./dummy_output_dir
    from gaekit.pythae.trainers.training_callbacks import TrainHistoryCallback

    history = TrainHistoryCallback()
    model = AE(model_config=AEConfig(input_dim=(1, 8, 8), latent_dim=2))
    x = torch.rand(30, 1, 8, 8)
    pipeline = TrainingPipeline(model=model, training_config=BaseTrainerConfig(
        output_dir=None, num_epochs=2, per_device_train_batch_size=10))
    pipeline(train_data=x[:20], eval_data=x[20:], callbacks=[history])
    records = pipeline.trainer.trainer.state.history
    assert history.history == {"train_loss": [r["train_loss"] for r in records],
                               "eval_loss": [r["eval_loss"] for r in records]}


def test_datasets_pythaes_way(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # output_dir=None: ./dummy_output_dir
    from gaekit.pythae.data import BaseDataset, DatasetOutput
    from gaekit.pythae.data.preprocessors import DataProcessor

    x = np.random.default_rng(1).random((30, 1, 8, 8))  # float64, as numpy gives it
    data_processor = DataProcessor()
    train_dataset = data_processor.to_dataset(data_processor.process_data(x))
    assert isinstance(train_dataset[0], DatasetOutput) and train_dataset[0].data.dtype == torch.float32
    with pytest.raises(DataError, match="NaN"):
        data_processor.process_data(np.full((2, 3), np.nan))

    class Flipped(BaseDataset):  # Pythae's "define your own dataset": __getitem__ is what the trainer must read
        reads = 0

        def __getitem__(self, index):
            Flipped.reads += 1
            return DatasetOutput(data=1 - self.data[index], labels=self.labels[index])

    model = AE(model_config=AEConfig(input_dim=(1, 8, 8), latent_dim=2))
    config = BaseTrainerConfig(output_dir=None, num_epochs=1, per_device_train_batch_size=10)
    BaseTrainer(model, train_dataset, training_config=config).train()
    BaseTrainer(model, Flipped(torch.from_numpy(x), torch.ones(30)), training_config=config).train()
    assert Flipped.reads >= 30
