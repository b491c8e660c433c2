"""The trainer: parameter groups, schedulers, best model, callbacks, errors."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest
import torch
from conftest import tiny_model
from torch import nn

from gaekit.errors import ConfigError, DataError, TrainingError
from gaekit.models import AE, AEConfig, ModelOutput
from gaekit.models.base import batch_data
from gaekit.trainers import Trainer, TrainerCallback, TrainerConfig


def _config(tmp_path=None, **kw):
    base = {"output_dir": str(tmp_path) if tmp_path else None, "num_epochs": 2, "batch_size": 16,
            "learning_rate": 1e-3, "show_progress": False}
    return TrainerConfig(**{**base, **kw})


def _data(n=48, seed=0):
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed))


class TwoGroupAE(AE):
    """Test model: the encoder group's loss also depends on the decoder, the decoder's loss on nothing."""

    config_class = AEConfig

    def parameter_groups(self):
        return {"encoder": list(self.encoder.parameters()), "decoder": list(self.decoder.parameters())}

    def forward(self, batch, ctx=None):
        out = super().forward(batch, ctx)
        decoder_loss = sum((p * 0).sum() for p in self.decoder.parameters())
        return ModelOutput(loss=out.loss, recon_x=out.recon_x, z=out.z, terms=out.terms,
                           group_losses={"encoder": out.loss, "decoder": decoder_loss})


def test_a_group_loss_never_leaks_gradients_into_another_group():
    torch.manual_seed(0)
    model = TwoGroupAE(AEConfig(input_dim=(1, 8, 8), latent_dim=3))
    before_dec = [p.detach().clone() for p in model.decoder.parameters()]
    before_enc = [p.detach().clone() for p in model.encoder.parameters()]
    trainer = Trainer(model, _config(num_epochs=1, optimizer="SGD"), _data())
    trainer.train()
    assert all(torch.equal(a, b) for a, b in zip(before_dec, model.decoder.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(before_enc, model.encoder.parameters()))
    assert set(trainer.optimizers) == {"encoder", "decoder"}


def test_group_overrides_set_each_groups_optimizer():
    torch.manual_seed(0)
    model = TwoGroupAE(AEConfig(input_dim=(1, 8, 8), latent_dim=3))
    trainer = Trainer(model, _config(group_overrides={"decoder": {"learning_rate": 0.5, "optimizer": "SGD"}}),
                      _data())
    assert isinstance(trainer.optimizers["decoder"], torch.optim.SGD)
    assert trainer.optimizers["decoder"].param_groups[0]["lr"] == 0.5
    assert isinstance(trainer.optimizers["encoder"], torch.optim.Adam)
    with pytest.raises(ConfigError, match="unknown group"):
        Trainer(model, _config(group_overrides={"discriminator": {"learning_rate": 0.1}}), _data())


def test_fused_optimizer_by_default_and_user_choice_respected():
    trainer = Trainer(tiny_model("VAE"), _config(), _data())
    assert trainer.optimizers["model"].defaults["fused"] is True
    trainer = Trainer(tiny_model("VAE"), _config(optimizer_params={"foreach": False}), _data())
    assert not trainer.optimizers["model"].defaults["fused"]


def test_non_finite_loss_stops_with_epoch_step_and_terms():
    class NaNAfterTwoSteps(AE):
        config_class = AEConfig
        calls = 0

        def forward(self, batch, ctx=None):
            out = super().forward(batch, ctx)
            type(self).calls += 1
            if type(self).calls > 2:
                out.terms["recon_loss"] = out.loss = out.loss * float("nan")
            return out

    torch.manual_seed(0)
    model = NaNAfterTwoSteps(AEConfig(input_dim=(1, 8, 8), latent_dim=3))
    with pytest.raises(TrainingError) as err:
        Trainer(model, _config(), _data()).train()
    message = str(err.value)
    assert "epoch 1, step 3" in message and "recon_loss" in message and "nan" in message


def test_data_is_validated_before_training():
    with pytest.raises(DataError, match="shape"):
        Trainer(tiny_model("VAE"), _config(), torch.rand(10, 64))
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        Trainer(tiny_model("VAE", reconstruction_loss="bce"), _config(), _data() * 3)
    with pytest.raises(DataError, match="NaN"):
        Trainer(tiny_model("VAE"), _config(), _data(), eval_data=torch.full((4, 1, 8, 8), float("nan")))
    with pytest.raises(DataError, match="empty"):
        Trainer(tiny_model("VAE"), _config(), torch.rand(0, 1, 8, 8))


def test_uint8_data_trains_like_the_same_data_as_floats():
    raw = torch.randint(0, 256, (48, 1, 8, 8), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    weights = []
    for data in (raw, raw.float() / 255):
        model = tiny_model("VAE")
        Trainer(model, _config(num_epochs=1), data).train()
        weights.append(model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_history_best_model_and_files(tmp_path):
    model = tiny_model("VAE")
    trainer = Trainer(model, _config(tmp_path, num_epochs=3), _data(), eval_data=_data(16, seed=1))
    history = trainer.train()
    assert [r["epoch"] for r in history] == [1, 2, 3]
    assert {"train_loss", "train_recon_loss", "train_kl", "eval_loss", "eval_kl", "lr_model"} <= set(history[0])
    best = min(history, key=lambda r: r["eval_loss"])
    assert trainer.state.best_epoch == best["epoch"] and trainer.state.best_loss == best["eval_loss"]
    assert json.loads((trainer.run_dir / "history.json").read_text()) == history
    assert torch.equal(next(iter(trainer.best_state.values())), next(iter(model.state_dict().values())))
    assert json.loads((trainer.final_model_dir / "training_config.json").read_text())["num_epochs"] == 3


def test_evaluate_is_deterministic_and_leaves_training_randomness_alone():
    trainer = Trainer(tiny_model("VAE"), _config(), _data(), eval_data=_data(16, seed=1))
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = trainer.evaluate()
    assert torch.equal(torch.get_rng_state(), state)
    assert trainer.evaluate() == first


def test_step_lr_and_reduce_on_plateau_are_stepped_per_epoch():
    trainer = Trainer(tiny_model("VAE"), _config(num_epochs=3, scheduler="StepLR",
                                                scheduler_params={"step_size": 1, "gamma": 0.5}), _data())
    lrs = [r["lr_model"] for r in trainer.train()]
    assert lrs == pytest.approx([5e-4, 2.5e-4, 1.25e-4])
    # a learning rate too small to improve the (fixed-noise) eval loss: the plateau rule halves it
    trainer = Trainer(tiny_model("VAE"), _config(num_epochs=3, learning_rate=1e-7, scheduler="ReduceLROnPlateau",
                                                scheduler_params={"factor": 0.5, "patience": 0}),
                      _data(), eval_data=_data(16, seed=1))
    lrs = [r["lr_model"] for r in trainer.train()]
    assert lrs == pytest.approx([1e-7, 5e-8, 2.5e-8])


def test_callbacks_see_every_event_in_order(tmp_path):
    events = []

    class Recorder(TrainerCallback):
        def on_train_begin(self, trainer):
            events.append("begin")

        def on_step_end(self, trainer, output):
            events.append("step")

        def on_evaluate(self, trainer, metrics):
            events.append("evaluate")

        def on_epoch_end(self, trainer, record):
            events.append("epoch")

        def on_save(self, trainer, path):
            events.append("save")

        def on_train_end(self, trainer):
            events.append("end")

    Trainer(tiny_model("AE"), _config(tmp_path, num_epochs=2, checkpoint_every_n_epochs=2), _data(32),
            eval_data=_data(8), callbacks=[Recorder()]).train()
    assert events == ["begin", "step", "step", "evaluate", "epoch",
                      "step", "step", "evaluate", "epoch", "save", "save", "end"]


def test_amp_bf16_on_cpu_trains():
    trainer = Trainer(tiny_model("VAE"), _config(num_epochs=1, amp=True), _data())
    record = trainer.train()[0]
    assert torch.isfinite(torch.tensor(record["train_loss"]))


def test_without_output_dir_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    trainer = Trainer(tiny_model("AE"), _config(None), _data())
    trainer.train()
    assert trainer.run_dir is None and list(tmp_path.iterdir()) == []


def test_torch_dataset_and_dataloader_are_accepted():
    data = _data()

    class MapStyle(torch.utils.data.Dataset):
        def __len__(self):
            return len(data)

        def __getitem__(self, i):
            return data[i], 0

    for train in (MapStyle(), torch.utils.data.DataLoader(MapStyle(), batch_size=16)):
        trainer = Trainer(tiny_model("VAE"), _config(num_epochs=1), train)
        assert trainer.train()[0]["global_step"] == 3


class _Model(nn.Module):
    pass


def test_wrong_arguments_are_reported():
    with pytest.raises(ConfigError, match="gaekit model"):
        Trainer(_Model(), _config(), _data())
    with pytest.raises(ConfigError, match="train_data"):
        Trainer(tiny_model("AE"), _config())
    with pytest.raises(ConfigError, match="TrainerConfig"):
        Trainer(tiny_model("AE"), {"num_epochs": 1}, _data())


def test_parameters_outside_every_group_are_reported():
    class Partial(AE):
        config_class = AEConfig
        variational: ClassVar[bool] = False

        def parameter_groups(self):
            return {"model": list(self.encoder.parameters())}

    with pytest.raises(TrainingError, match="no parameter group"):
        Trainer(Partial(AEConfig(input_dim=(1, 8, 8))), _config(), _data())


def test_batch_data_accepts_dicts_and_batches():
    x = _data(2)
    assert batch_data({"data": x}) is x


def test_train_again_continues_with_more_epochs(tmp_path):
    trainer = Trainer(tiny_model("AE"), _config(tmp_path, num_epochs=1), _data())
    trainer.train()
    run_dir = trainer.run_dir
    trainer.config.num_epochs = 3
    history = trainer.train()
    assert [r["epoch"] for r in history] == [1, 2, 3] and trainer.run_dir == run_dir


def test_early_stopping_on_a_stalled_validation_loss():
    trainer = Trainer(tiny_model("VAE"), _config(num_epochs=20, optimizer="SGD", learning_rate=1e-30,
                                                early_stopping_patience=2),
                      _data(), eval_data=_data(16, seed=1))
    history = trainer.train()
    assert trainer.stopped_early and len(history) == 3  # best at epoch 1, then two epochs without improvement


def test_any_base_model_trains(tmp_path):
    from dataclasses import dataclass

    from gaekit.config import BaseConfig
    from gaekit.models.base import BaseModel

    @dataclass
    class MeanConfig(BaseConfig):
        input_dim: tuple[int, ...] = (2,)

    class GaussianMean(BaseModel):
        """Fits a mean by least squares: a model without encoder or decoder."""

        config_class = MeanConfig

        def __init__(self, config):
            super().__init__(config)
            self.mean = nn.Parameter(torch.zeros(2))

        def forward(self, batch, ctx=None):
            loss = (batch_data(batch) - self.mean).pow(2).sum(-1).mean()
            return ModelOutput(loss=loss)

    data = torch.randn(200, 2) + torch.tensor([3.0, -1.0])
    model = GaussianMean(MeanConfig())
    Trainer(model, _config(tmp_path, num_epochs=30, learning_rate=0.1, batch_size=50), data).train()
    torch.testing.assert_close(model.mean.detach(), data.mean(0), atol=0.05, rtol=0)


def test_model_hooks_epoch_end_and_gradients_in_evaluation():
    calls = []

    class Hooked(AE):
        config_class = AEConfig
        needs_grad_in_eval = True

        def on_epoch_end(self, ctx):
            calls.append(("epoch_end", ctx.epoch))

        def forward(self, batch, ctx=None):
            if ctx is not None and not ctx.training:
                calls.append(("eval_grad", torch.is_grad_enabled()))
            return super().forward(batch, ctx)

    torch.manual_seed(0)
    trainer = Trainer(Hooked(AEConfig(input_dim=(1, 8, 8), latent_dim=3)), _config(num_epochs=2), _data(32),
                      eval_data=_data(8))
    before = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.evaluate()
    assert all(torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))
    trainer.train()
    assert ("epoch_end", 0) in calls and ("epoch_end", 1) in calls and ("eval_grad", True) in calls
