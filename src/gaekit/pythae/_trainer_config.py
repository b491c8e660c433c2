"""``PythaeTrainerConfig``: the ``TrainerConfig`` that ``gaekit.pythae``'s trainer config classes build, which also
reads and writes Pythae's field names."""

from __future__ import annotations

import dataclasses
from typing import Any

from gaekit.trainers import TrainerConfig
from gaekit.trainers.pythae_config import PYTHAE_OPTIMIZATION_FIELDS as _OPTIMIZATION

__all__ = ["PythaeTrainerConfig"]

_WORKERS = ("train_dataloader_num_workers", "eval_dataloader_num_workers")


@dataclasses.dataclass(eq=False)
class PythaeTrainerConfig(TrainerConfig):
    """A ``TrainerConfig`` (written and read back as one) on which Pythae's names read and write the gaekit fields
    they map to: ``per_device_train_batch_size`` (``batch_size`` over the processes), ``per_device_eval_batch_size``,
    ``optimizer_cls``, ``scheduler_cls``, ``steps_predict``, ``no_cuda``, ``keep_best_on_train``, the data loader
    workers and the ``<group>_`` fields (``group_overrides``). It equals the ``TrainerConfig`` of the same fields."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrainerConfig) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def _group_key(self, attr: str) -> tuple[str, str] | None:
        for group in self.__dict__.get("group_overrides", {}):
            key = attr[len(group) + 1:] if attr.startswith(f"{group}_") else None
            if key in _OPTIMIZATION:
                return group, _OPTIMIZATION[key]
        return None

    def _is_pythae_name(self, attr: str) -> bool:
        fields = {f.name for f in dataclasses.fields(self)}
        return attr not in fields and attr not in self.all_aliases() and (
            attr in ("per_device_train_batch_size", "per_device_eval_batch_size", "optimizer_cls", "scheduler_cls",
                     "steps_predict", "no_cuda", "keep_best_on_train", *_WORKERS)
            or self._group_key(attr) is not None)

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("_") or "group_overrides" not in self.__dict__ or not self._is_pythae_name(attr):
            return super().__getattr__(attr)
        world = self.__dict__.get("pythae_world", 1)
        group = self._group_key(attr)
        if group is not None:
            return self.group_settings(group[0])[group[1]]
        values = {"per_device_train_batch_size": self.batch_size // world,
                  "per_device_eval_batch_size": (self.eval_batch_size or self.batch_size) // world,
                  "optimizer_cls": self.optimizer, "scheduler_cls": self.scheduler,
                  "steps_predict": self.images_every_n_epochs, "no_cuda": self.device == "cpu",
                  "keep_best_on_train": self.__dict__.get("pythae_keep_best_on_train", False)}
        workers = self.__dict__.get("pythae_num_workers", (0, 0))
        values.update(zip(_WORKERS, workers))
        return values[attr]

    def __setattr__(self, attr: str, value: Any) -> None:
        if "group_overrides" not in self.__dict__ or not self._is_pythae_name(attr):
            super().__setattr__(attr, value)
            return
        before = dict(self.__dict__)
        try:
            self._set_pythae(attr, value)
            self.validate()
        except Exception:
            self.__dict__.clear()
            self.__dict__.update(before)  # a refused value leaves the config as it was
            raise

    def _set_pythae(self, attr: str, value: Any) -> None:
        world = self.__dict__.get("pythae_world", 1)
        group = self._group_key(attr)
        set_field = super().__setattr__
        if group is not None:
            name, key = group
            value = value if value is not None or key not in ("optimizer_params", "scheduler_params") else {}
            set_field("group_overrides", {**self.group_overrides, name: {**self.group_overrides[name], key: value}})
        elif attr in _WORKERS:
            workers = list(self.__dict__.get("pythae_num_workers", (0, 0)))
            workers[_WORKERS.index(attr)] = value
            object.__setattr__(self, "pythae_num_workers", tuple(workers))
        elif attr == "keep_best_on_train":
            object.__setattr__(self, "pythae_keep_best_on_train", bool(value))
        elif attr == "no_cuda":
            set_field("device", "cpu" if value else "auto")
            if value:
                set_field("amp", False)
        else:
            gaekit = {"per_device_train_batch_size": "batch_size", "per_device_eval_batch_size": "eval_batch_size",
                      "optimizer_cls": "optimizer", "scheduler_cls": "scheduler",
                      "steps_predict": "images_every_n_epochs"}[attr]
            scale = world if attr.startswith("per_device") and isinstance(value, int) else 1
            set_field(gaekit, value * scale)
