"""The trainer's callback hooks: when each is called and with what, periodic images, and that neither
hooks nor images change the training (its numbers, its random stream, its exact resume)."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_model

from gaekit.errors import ConfigError
from gaekit.trainers import Trainer, TrainerCallback, TrainerConfig
from gaekit.trainers import trainer as trainer_module
from gaekit.trainers.callbacks import epoch_metrics

DATA = torch.rand(48, 1, 8, 8, generator=torch.Generator().manual_seed(0))  # 3 steps of 16 per epoch
EVAL = DATA[:12]  # 2 evaluation batches of 8 and 4


def _config(**kw):
    return TrainerConfig(**{"output_dir": None, "num_epochs": 2, "batch_size": 16, "eval_batch_size": 8,
                            "learning_rate": 1e-3, "show_progress": False, "log_every_n_steps": 2, **kw})


def _train(callbacks=(), model_seed=0, **kw):
    trainer = Trainer(tiny_model("VAE", seed=model_seed), _config(**kw), DATA, EVAL, callbacks=list(callbacks))
    trainer.train()
    return trainer


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


class Recorder(TrainerCallback):
    """Every hook, in order, as ``(hook, epoch, global step, argument)``."""

    def __init__(self):
        self.calls = []

    def _add(self, hook, trainer, arg=None):
        self.calls.append((hook, trainer.state.epoch, trainer.state.global_step, arg))

    def on_train_begin(self, trainer):
        self._add("train_begin", trainer)

    def on_epoch_begin(self, trainer):
        self._add("epoch_begin", trainer)

    def on_step_begin(self, trainer):
        self._add("step_begin", trainer)

    def on_step_end(self, trainer, output):
        self._add("step_end", trainer, float(output.loss.detach()))

    def on_eval_step_end(self, trainer, output):
        self._add("eval_step_end", trainer, (len(output.recon_x), float(output.loss)))

    def on_evaluate(self, trainer, metrics):
        self._add("evaluate", trainer, metrics)

    def on_log(self, trainer, logs):
        self._add("log", trainer, logs)

    def on_prediction_step(self, trainer, images):
        self._add("prediction_step", trainer, images)

    def on_epoch_end(self, trainer, record):
        self._add("epoch_end", trainer, record)

    def on_train_end(self, trainer):
        self._add("train_end", trainer)

    def names(self):
        return [c[0] for c in self.calls]

    def args(self, hook):
        return [c[3] for c in self.calls if c[0] == hook]


def test_hooks_come_in_order_with_their_arguments():
    recorder = Recorder()
    trainer = _train([recorder], images_every_n_epochs=1)
    steps = ["step_begin", "step_end"]
    epoch = ["epoch_begin", *steps, *steps, "log", *steps, "eval_step_end", "eval_step_end", "evaluate", "log",
             "prediction_step", "epoch_end"]
    second = ["epoch_begin", *steps, "log", *steps, *steps, "log", "eval_step_end", "eval_step_end", "evaluate",
              "log", "prediction_step", "epoch_end"]
    assert recorder.names() == ["train_begin", *epoch, *second, "train_end"]
    # a step begins before its counters advance, and ends after
    begins = [c[2] for c in recorder.calls if c[0] == "step_begin"]
    ends = [c[2] for c in recorder.calls if c[0] == "step_end"]
    assert begins == [0, 1, 2, 3, 4, 5] and ends == [1, 2, 3, 4, 5, 6]
    assert [c[1] for c in recorder.calls if c[0] == "epoch_begin"] == [0, 1]
    # the evaluation batches, whose size-weighted mean loss is the evaluated loss
    evals = recorder.args("eval_step_end")
    assert [n for n, _ in evals] == [8, 4, 8, 4]
    for (n1, l1), (n2, l2), metrics in zip(evals[::2], evals[1::2], recorder.args("evaluate"), strict=True):
        assert (n1 * l1 + n2 * l2) / (n1 + n2) == pytest.approx(metrics["loss"], rel=1e-6)
    # logs: the step metrics at steps 2, 4, 6 (each the loss its step ended with), the epoch records
    logs = [(c[2], c[3]) for c in recorder.calls if c[0] == "log"]
    step_logs = [(s, lg) for s, lg in logs if "step/loss" in lg]
    step_losses = dict(zip(ends, recorder.args("step_end"), strict=True))
    assert [s for s, _ in step_logs] == [2, 4, 6]
    for step, lg in step_logs:
        assert set(lg) == {"step/loss", "step/recon_loss", "step/kl"}
        assert lg["step/loss"] == pytest.approx(step_losses[step], rel=1e-6)
    epoch_logs = [lg for _, lg in logs if "step/loss" not in lg]
    assert epoch_logs == [epoch_metrics(r) for r in trainer.state.history]
    assert epoch_logs[0]["epoch/train_loss"] == trainer.state.history[0]["train_loss"]
    assert "epoch/global_step" not in epoch_logs[0] and "epoch/eval_kl" in epoch_logs[0]
    # images: the 12 eval inputs, their reconstructions and 12 samples, in [0, 1] on the CPU
    for images in recorder.args("prediction_step"):
        assert set(images) == {"inputs", "reconstructions", "samples"}
        for batch in images.values():
            assert batch.shape == (12, 1, 8, 8) and batch.device.type == "cpu"
            assert batch.dtype == torch.float32 and 0 <= batch.min() and batch.max() <= 1
        torch.testing.assert_close(images["inputs"], EVAL, rtol=0, atol=0)
    first, last = recorder.args("prediction_step")
    assert not torch.equal(first["reconstructions"], last["reconstructions"])  # the model trained in between


class StopAtCall(TrainerCallback):
    """Raise KeyboardInterrupt from the ``n``-th call of ``hook``."""

    def __init__(self, hook, n):
        self.hook, self.n, self.calls = hook, n, 0
        setattr(self, hook, self._count)

    def _count(self, trainer, *args):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt(f"stopped in {self.hook}")


@pytest.mark.parametrize(("hook", "n", "resumed_at"), [
    ("on_epoch_begin", 2, 3),  # before epoch 2
    ("on_step_begin", 5, 4),  # epoch 2's second step, before it ran
    ("on_eval_step_end", 3, 6),  # epoch 2's evaluation: the end of the epoch is redone
    ("on_prediction_step", 1, 3),  # after epoch 1 was committed
])
def test_a_hook_that_stops_training_resumes_exactly(hook, n, resumed_at, tmp_path):
    reference = _train()
    stopper = StopAtCall(hook, n)
    stopped = Trainer(tiny_model("VAE"), _config(output_dir=str(tmp_path), images_every_n_epochs=1), DATA, EVAL,
                      callbacks=[Recorder(), stopper])
    with pytest.raises(KeyboardInterrupt, match=f"stopped in {hook}"):
        stopped.train()
    recorder = Recorder()
    resumed = Trainer.from_checkpoint(stopped.run_dir / "checkpoint_interrupted", DATA, EVAL, callbacks=[recorder])
    assert resumed.state.global_step == resumed_at
    resumed.train()
    assert resumed.state.history == reference.state.history
    assert _same_weights(resumed.model, reference.model)
    if hook == "on_step_begin":  # resumed inside epoch 2: no epoch_begin, as that epoch had begun
        assert "epoch_begin" not in recorder.names()
        assert recorder.names()[:3] == ["train_begin", "step_begin", "step_end"]


def test_hooks_and_images_leave_the_training_unchanged():
    watched = _train([Recorder()], images_every_n_epochs=1)
    reference = _train()
    assert watched.state.history == reference.state.history and _same_weights(watched.model, reference.model)


def test_hooks_left_alone_cost_nothing(monkeypatch):
    computed = []
    for name in ("step_metrics", "epoch_metrics"):
        real = getattr(trainer_module, name)
        monkeypatch.setattr(trainer_module, name, lambda arg, real=real, name=name: computed.append(name) or real(arg))

    class Counting(Trainer):
        def prediction_images(self, num_images=16):
            computed.append("images")
            return super().prediction_images(num_images)

    class StepEndOnly(TrainerCallback):
        def on_step_end(self, trainer, output):
            pass

    trainer = Counting(tiny_model("VAE"), _config(images_every_n_epochs=1), DATA, EVAL, callbacks=[StepEndOnly()])
    trainer.train()
    assert computed == []  # no metric turned into floats, no image made: nobody listens

    class LogOnly(TrainerCallback):
        def on_log(self, trainer, logs):
            pass

    Counting(tiny_model("VAE"), _config(images_every_n_epochs=1), DATA, EVAL, callbacks=[LogOnly()]).train()
    assert computed == ["step_metrics", "epoch_metrics", "step_metrics", "step_metrics", "epoch_metrics"]


def test_images_need_an_autoencoder_of_image_data():
    with pytest.raises(ConfigError, match="images_every_n_epochs=0 is invalid"):
        TrainerConfig(images_every_n_epochs=0)
    flat = tiny_model("VAE", input_dim=(64,))
    with pytest.raises(ConfigError, match=r"TrainerConfig.images_every_n_epochs needs image data.*\(64,\)"):
        Trainer(flat, _config(images_every_n_epochs=1), DATA.flatten(1))
    Trainer(flat, _config(), DATA.flatten(1))  # without images: fine
    # without eval data the images are of the first training samples
    trainer = Trainer(tiny_model("VAE"), _config(images_every_n_epochs=1), DATA)
    images = trainer.prediction_images(5)
    torch.testing.assert_close(images["inputs"], DATA[:5], rtol=0, atol=0)
    assert images["samples"].shape == (5, 1, 8, 8)
    assert torch.equal(trainer.prediction_images(5)["samples"], images["samples"])  # seeded: the same draws
