"""``pythae.trainers``: Pythae's four trainers, each building gaekit's one ``Trainer``, and their configs (builders
of a ``TrainerConfig``, see ``gaekit.trainers.pythae_config``).

``BaseTrainer(model, train_dataset, eval_dataset=None, training_config=None, callbacks=None)`` and its three
siblings take Pythae's arguments: datasets as a ``BaseDataset``, a tensor, an array or a torch ``Dataset``;
callbacks as Pythae-style ``TrainingCallback`` objects (their hooks are called, see
``gaekit.pythae.trainers.training_callbacks``) or gaekit ones. ``train()`` trains; ``training_dir`` is the run
folder (``final_model/`` in it). The optimizers of a trainer with several are ``<group>_optimizer``
(``autoencoder_optimizer``, ``discriminator_optimizer``, ``encoder_optimizer``, ...), as in Pythae.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from gaekit.errors import ConfigError
from gaekit.models import BaseAE
from gaekit.models.base import BaseModel
from gaekit.pythae._configs import trainer_config_classes
from gaekit.pythae._submodules import TRAINER_MODULES, register_submodules
from gaekit.pythae.data.datasets import as_gaekit_data
from gaekit.pythae.trainers.training_callbacks import as_trainer_callback, call_init_end
from gaekit.trainers import Trainer, TrainerConfig
from gaekit.trainers.pythae_config import PYTHAE_TRAINER_CONFIGS

__all__ = ["AdversarialTrainer", "AdversarialTrainerConfig", "BaseTrainer", "BaseTrainerConfig",
           "CoupledOptimizerAdversarialTrainer", "CoupledOptimizerAdversarialTrainerConfig",
           "CoupledOptimizerTrainer", "CoupledOptimizerTrainerConfig"]

_CONFIGS = trainer_config_classes()
for _name, _cls in _CONFIGS.items():
    _cls.__module__ = __name__
    globals()[_name] = _cls
del _name, _cls


def check_keep_best(training_config: TrainerConfig, eval_dataset: Any) -> None:
    """Refuse Pythae's ``keep_best_on_train=True`` with eval data (gaekit keeps the best model on the validation
    loss when there is eval data, on the training loss without)."""
    if getattr(training_config, "pythae_keep_best_on_train", False) and eval_dataset is not None:
        raise ConfigError("keep_best_on_train=True: with eval data gaekit keeps the best model on the validation "
                          "loss; leave eval_dataset out (gaekit then keeps it on the training loss) or set "
                          "keep_best_on_train=False")


class BaseTrainer:
    """Pythae's ``BaseTrainer``: one optimizer (one per parameter group of a gaekit model with several, each with
    the config's settings).

    Parameters
    ----------
    model : BaseAE
    train_dataset : BaseDataset, Tensor, numpy array or torch Dataset
    eval_dataset : same, optional
    training_config : TrainerConfig, optional
        ``BaseTrainerConfig(...)`` (Pythae's defaults when None).
    callbacks : list, optional
        ``TrainingCallback`` objects (Pythae's hooks) or gaekit ``TrainerCallback`` objects.

    Raises
    ------
    ConfigError
        A config of another kind, a model whose parameter groups are not the trainer's, or a setting refused
        (``keep_best_on_train`` with eval data).
    """

    config_name: ClassVar[str] = "BaseTrainerConfig"

    def __init__(self, model: BaseAE, train_dataset: Any, eval_dataset: Any = None,
                 training_config: TrainerConfig | None = None, callbacks: Iterable[Any] | None = None):
        name = type(self).__name__
        if training_config is None:
            training_config = _CONFIGS[self.config_name]()
        if not isinstance(training_config, TrainerConfig):
            raise ConfigError(f"{name}: training_config must be a {self.config_name}(...) (a gaekit TrainerConfig), "
                              f"got {type(training_config).__name__}")
        if not isinstance(model, BaseModel):
            raise ConfigError(f"{name} needs a gaekit model (e.g. gaekit.pythae.models.VAE, or a "
                              f"normalizing_flows.NFModel), got {type(model).__name__}")
        self._check_groups(model)
        check_keep_best(training_config, eval_dataset)
        self.model, self.training_config = model, training_config
        self.train_dataset, self.eval_dataset = train_dataset, eval_dataset
        self.callbacks = list(callbacks or [])
        workers = getattr(training_config, "pythae_num_workers", (0, 0))
        train_data, eval_data = as_gaekit_data(train_dataset, workers[0]), as_gaekit_data(eval_dataset, workers[1])
        self.trainer = Trainer(model, training_config, train_data, eval_data,
                               [as_trainer_callback(c) for c in self.callbacks])
        call_init_end(self.callbacks, training_config, self.trainer)

    def _check_groups(self, model: BaseAE) -> None:
        groups = PYTHAE_TRAINER_CONFIGS[self.config_name]
        have = sorted(model.parameter_groups())
        if groups and have != sorted(groups):
            raise ConfigError(f"{type(self).__name__} trains the parameter groups {list(groups)} with their own "
                              f"optimizers; {type(model).__name__} has {have}: use BaseTrainer")

    @property
    def model_config(self) -> Any:
        return self.model.model_config

    @property
    def training_dir(self) -> str | None:
        """The run folder (``<output_dir>/<Model>_training_<time>``), once ``train`` has made it."""
        run_dir = self.trainer.run_dir
        return None if run_dir is None else str(run_dir)

    @property
    def optimizer(self) -> Any:
        """The optimizer (of a one-group model)."""
        return self._one("optimizers")

    @property
    def scheduler(self) -> Any:
        """The scheduler (of a one-group model), None without one."""
        return self._one("schedulers")

    def _one(self, kind: str) -> Any:
        items = getattr(self.trainer, kind)
        if len(items) != 1:
            raise AttributeError(f"{type(self.model).__name__} has one {kind[:-1]} per group: use "
                                 f"{', '.join(f'{g}_{kind[:-1]}' for g in items)}")
        return next(iter(items.values()))

    def __getattr__(self, attr: str) -> Any:
        trainer = self.__dict__.get("trainer")
        if attr in ("optimizer", "scheduler") and trainer is not None:
            return self._one(f"{attr}s")  # the property's own error, naming the per-group attributes
        for kind in ("optimizer", "scheduler"):
            group = attr[:-len(kind) - 1] if attr.endswith(f"_{kind}") else None
            if trainer is not None and group in getattr(trainer, f"{kind}s"):
                return getattr(trainer, f"{kind}s")[group]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")

    def train(self, log_output_dir: str | None = None) -> list[dict[str, Any]]:
        """Train; returns gaekit's per-epoch history (also written to ``training_dir/history.json``).

        Raises
        ------
        ConfigError
            For ``log_output_dir``: gaekit's log of a run is its ``history.json`` in ``training_dir``.
        """
        if log_output_dir is not None:
            raise ConfigError("train(log_output_dir=...): gaekit writes a run's log as history.json in its "
                              "training_dir; leave log_output_dir out")
        return self.trainer.train()


class AdversarialTrainer(BaseTrainer):
    """Pythae's ``AdversarialTrainer`` (Adversarial_AE, FactorVAE): the ``autoencoder`` and ``discriminator``
    groups, each with its settings (``AdversarialTrainerConfig(autoencoder_learning_rate=..., ...)``)."""

    config_name = "AdversarialTrainerConfig"


class CoupledOptimizerTrainer(BaseTrainer):
    """Pythae's ``CoupledOptimizerTrainer`` (RAE_L2, PIWAE): the ``encoder`` and ``decoder`` groups."""

    config_name = "CoupledOptimizerTrainerConfig"


class CoupledOptimizerAdversarialTrainer(BaseTrainer):
    """Pythae's ``CoupledOptimizerAdversarialTrainer`` (VAEGAN): the ``encoder``, ``decoder`` and
    ``discriminator`` groups."""

    config_name = "CoupledOptimizerAdversarialTrainerConfig"


register_submodules(__name__, globals(), {sub: (cls, f"{cls}Config") for sub, cls in TRAINER_MODULES.items()})
