"""``gaekit train``: a fresh run from the flags and config files, or ``--resume`` from a checkpoint folder."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

from gaekit.cli.inputs import _check_shape, _dataset_key, _json_object, _load
from gaekit.config import loads_json
from gaekit.errors import ConfigError


class _Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what to tell the user (where the checkpoint went)."""


def _parse_value(text: str) -> Any:
    try:
        return loads_json(text)
    except json.JSONDecodeError:
        return text


def _set_fields(items: list[str] | None, config_class) -> dict[str, Any]:
    """``--set KEY=VALUE`` items as fields of ``config_class`` (values parsed as JSON when possible)."""
    fields = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set latent_dim=16")
        if key.strip() not in (*config_class.accepted_keys(), *config_class.all_aliases()):
            raise ConfigError(f"--set {item!r}: {config_class.__name__} has no field {key.strip()!r}; accepted keys: "
                              f"{', '.join(config_class.accepted_keys())}")
        key, value = key.strip(), _parse_value(value)
        if key in fields and fields[key] != value:
            raise ConfigError(f"--set {key}={fields[key]!r} and --set {item!r} disagree; give {key} once")
        fields[key] = value
    return fields


# train flags that would change a resumed run (dest, flag); --resume refuses them.
RESUME_REFUSED = (("model", "MODEL"), ("model_option", "--model"), ("model_config", "--model-config"),
                  ("training_config", "--training-config"), ("set", "--set"), ("net", "--net"),
                  ("latent_dim", "--latent-dim"), ("reconstruction_loss", "--reconstruction-loss"),
                  ("batch_size", "--batch-size"), ("lr", "--lr"), ("seed", "--seed"), ("output_dir", "--output-dir"))


def _data_source(dataset: str, data_dir: str | None, evaluated: bool) -> dict[str, Any]:
    """What a checkpoint records of its data, so that ``--resume`` finds it again."""
    return {"dataset": _dataset_key(dataset),
            "data_dir": None if data_dir is None else str(Path(data_dir).expanduser().resolve()),
            "eval": evaluated}


def _recorded_source(source: Any) -> dict[str, Any]:
    """The parts of a checkpoint's data source written by ``_data_source`` (others, e.g. from the Python API, are
    not ours to interpret)."""
    source = source if isinstance(source, dict) else {}
    kinds = {"dataset": str, "data_dir": str, "eval": bool}
    return {key: source[key] for key, kind in kinds.items() if isinstance(source.get(key), kind)}


def _train_data(dataset: str, data_dir: str | None, evaluated: bool):
    train = _load(dataset, "train", data_dir)
    return train, (_load(dataset, "validation", data_dir) if evaluated else None)


def _run(trainer) -> None:
    """``trainer.train()``; Ctrl-C becomes ``_Interrupted`` saying where the checkpoint is and how to resume."""
    try:
        trainer.train()
    except KeyboardInterrupt:
        checkpoint = None if trainer.run_dir is None else Path(trainer.run_dir) / "checkpoint_interrupted"
        if checkpoint is None or not checkpoint.is_dir():
            raise _Interrupted("no checkpoint was written") from None
        raise _Interrupted(f"checkpoint in {checkpoint}; resume with: gaekit train --resume "
                           f"{shlex.quote(str(checkpoint))}") from None


def cmd_train(args: argparse.Namespace) -> int:
    trainer = _resume(args) if args.resume is not None else _fresh_training(args)
    if trainer.is_main_process:  # under torchrun every process trains; rank 0 reports
        last = trainer.state.history[-1] if trainer.state.history else {}
        print(f"trained {trainer.model.model_config.name}: {json.dumps(last)}")
        print(f"final model: {trainer.final_model_dir}")
    return 0


def _fresh_training(args: argparse.Namespace):
    from gaekit.models import MODELS, create_model
    from gaekit.trainers import Trainer, TrainerConfig, set_seed

    if args.model and args.model_option and args.model != args.model_option:
        raise ConfigError(f"two models named: {args.model!r} and --model {args.model_option!r}")
    fields = _json_object(args.model_config, "--model-config") if args.model_config is not None else {}
    fields, pythae_model = _from_pythae_model_config(fields)
    model_cls = MODELS.get(args.model_option or args.model or pythae_model or "VAE")
    set_fields = _set_fields(args.set, model_cls.config_class)
    training = _json_object(args.training_config, "--training-config") if args.training_config is not None else {}
    training = _from_pythae_training_config(training, evaluated=not args.no_eval)
    for key, value in (("num_epochs", args.epochs), ("batch_size", args.batch_size),
                       ("learning_rate", args.lr), ("output_dir", args.output_dir), ("seed", args.seed)):
        if value is not None:
            training[key] = value
    if args.no_progress:
        training["show_progress"] = False
    training_config = TrainerConfig.from_dict(training)
    dataset = args.dataset or "digits"
    train, val = _train_data(dataset, args.data_dir, not args.no_eval)
    if fields.get("input_dim") is None:  # absent, or null as Pythae writes it
        fields["input_dim"] = list(train.sample_shape)
    for key, flag, value in (("latent_dim", "--latent-dim", args.latent_dim),
                             ("reconstruction_loss", "--reconstruction-loss", args.reconstruction_loss),
                             ("network", "--net", args.net)):
        if value is not None and key in set_fields and set_fields[key] != value:
            raise ConfigError(f"{flag} {value} and --set {key}={set_fields[key]!r} disagree; give {key} once")
        if value is not None:
            fields[key] = value
    fields.update(set_fields)
    model_config = model_cls.config_class.from_dict(fields)
    _check_shape(model_config.input_dim, train, dataset, fix=" (or leave input_dim out of the model config: it "
                                                             "defaults to the data's shape)")
    set_seed(training_config.seed)
    trainer = Trainer(create_model(model_config), training_config, train, val,
                      data_source=_data_source(dataset, args.data_dir, val is not None))
    _run(trainer)
    return trainer


def _from_pythae_model_config(fields: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A Pythae model config (``"name": "VAEConfig"``, Pythae's fields) as gaekit's config fields, and the gaekit
    model it names; any other config as it is (and None)."""
    from gaekit.models.pythae_config import PYTHAE_CONFIG_NAMES, model_config_from_pythae

    if fields.get("name") not in PYTHAE_CONFIG_NAMES:
        return fields, None
    data = model_config_from_pythae(fields).to_dict()
    return data, data["name"]


def _from_pythae_training_config(training: dict[str, Any], evaluated: bool) -> dict[str, Any]:
    """A Pythae trainer config (``"name": "BaseTrainerConfig"``, ...) as ``TrainerConfig`` fields; others unchanged."""
    from gaekit.trainers.pythae_config import PYTHAE_TRAINER_CONFIGS, trainer_config_from_pythae

    if training.get("name") not in PYTHAE_TRAINER_CONFIGS:
        return training
    return trainer_config_from_pythae(training, with_eval_data=evaluated).to_dict()


def _resume(args: argparse.Namespace):
    from gaekit.serialization import as_folder_path
    from gaekit.trainers import Trainer, read_checkpoint_info

    given = [flag for dest, flag in RESUME_REFUSED if getattr(args, dest) is not None]
    if given:
        raise ConfigError(f"--resume continues the checkpoint's run exactly, with its own configs and folder; "
                          f"{', '.join(given)} cannot be given with it (allowed: --epochs N to train to N epochs, "
                          "--data-dir, --no-progress)")
    as_folder_path(args.resume, "--resume", named=False)  # an empty path is refused, not ignored
    info = read_checkpoint_info(args.resume)
    source = _recorded_source(info.get("data_source"))
    recorded = source.get("dataset")
    if args.dataset is not None and recorded is not None and _dataset_key(args.dataset) != recorded:
        raise ConfigError(f"--dataset {args.dataset}: the checkpoint {args.resume} was trained on {recorded}; a "
                          "resumed run continues on its own data, so leave --dataset out")
    dataset = recorded or args.dataset or "digits"
    data_dir = args.data_dir if args.data_dir is not None else source.get("data_dir")
    evaluated = source.get("eval", not args.no_eval)
    if args.no_eval and evaluated:
        raise ConfigError(f"--no-eval: the checkpoint {args.resume} was trained with evaluation on the validation "
                          "split, which a resumed run keeps; leave --no-eval out")
    target = args.epochs if args.epochs is not None else info["num_epochs"]
    if target <= info["epoch"]:
        raise ConfigError(f"the checkpoint {args.resume} has finished epoch {info['epoch']} of {info['num_epochs']}: "
                          f"nothing is left to train to {target} epochs; pass --epochs N with N > {info['epoch']} "
                          "to train longer")
    train, val = _train_data(dataset, data_dir, evaluated)
    input_dim = _checkpoint_input_dim(args.resume)
    if input_dim is not None:  # else from_checkpoint names what is wrong with config.json
        _check_shape(input_dim, train, dataset)
    overrides: dict[str, Any] = {} if args.epochs is None else {"num_epochs": args.epochs}
    if args.no_progress:
        overrides["show_progress"] = False
    trainer = Trainer.from_checkpoint(args.resume, train, val, overrides=overrides)
    print(f"resuming {args.resume} at epoch {trainer.state.epoch}, step {trainer.state.step_in_epoch} on {dataset}, "
          f"training to {trainer.config.num_epochs} epochs")
    _run(trainer)
    return trainer


def _checkpoint_input_dim(checkpoint: str) -> list[int] | None:
    """The ``input_dim`` of the model config saved in a checkpoint folder (None when it is not readable)."""
    from gaekit.serialization import read_json

    config = read_json(Path(checkpoint) / "config.json", "not a gaekit training checkpoint")
    dims = config.get("input_dim") if isinstance(config, dict) else None
    return dims if isinstance(dims, list) and all(isinstance(d, int) for d in dims) else None
