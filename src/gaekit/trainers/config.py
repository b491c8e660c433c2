"""``TrainerConfig`` (also exported as ``BaseTrainerConfig``, the paper's name)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from gaekit.config import BaseConfig
from gaekit.errors import ConfigError

GROUP_OVERRIDE_KEYS = ("learning_rate", "optimizer", "optimizer_params", "scheduler", "scheduler_params")


def _check_callable_params(where: str, fn: Any, params: dict[str, Any], skip: int) -> None:
    """Refuse keyword arguments ``fn`` does not take, and missing required ones."""
    sig = inspect.signature(fn)
    names = list(sig.parameters)[skip:]
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ConfigError(f"{where}: unknown parameter(s) {unknown}; {fn.__qualname__} accepts {names}")
    missing = [n for n in names if sig.parameters[n].default is inspect.Parameter.empty
               and sig.parameters[n].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD and n not in params]
    if missing:
        raise ConfigError(f"{where}: {fn.__qualname__} needs parameter(s) {missing}")


def _torch_validates(where: str, params: dict[str, Any], cls: type, build: Any) -> Any:
    """Run ``build()`` (a torch constructor, on a dummy parameter), turning torch's own argument checks
    (ValueError, TypeError, ...) into a ``ConfigError`` naming ``where`` and the bad parameters."""
    try:
        return build()
    except (ValueError, TypeError, KeyError, IndexError, RuntimeError) as err:
        raise ConfigError(f"{where}={params!r} is invalid for {cls.__name__}: {err}") from None


def _stepped_optimizer(opt: type, lr: float, params: dict[str, Any]) -> torch.optim.Optimizer:
    """``opt`` on a dummy 2x2 parameter with a zero gradient, stepped once: some hyperparameters (e.g. the
    length of Adam's ``betas``) are only checked, by failing, in ``step``."""
    weight = torch.nn.Parameter(torch.zeros(2, 2))
    optimizer = opt([weight], lr=lr, **params)
    weight.grad = torch.zeros_like(weight)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return optimizer


def _built_scheduler(sched: type, optimizer: torch.optim.Optimizer, params: dict[str, Any]) -> Any:
    """A scheduler on ``optimizer``, stepped once (some check their arguments only when stepping)."""
    scheduler = sched(optimizer, **params)
    optimizer.step()
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(1.0)
    else:
        scheduler.step()
    return scheduler


# torch.optim optimizers that cannot work in this trainer's step (backward, then ``optimizer.step()``)
UNSUPPORTED_OPTIMIZERS = {
    "LBFGS": "it re-evaluates the loss through a closure passed to step(), which the trainer does not give",
    "SparseAdam": "it needs sparse gradients, and gaekit's networks have dense ones",
}
# the modes torch.compile documents; others are looked up in torch._inductor (imported only then)
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
DEVICE_TYPES = ("cpu", "cuda", "mps")


def optimizer_class(name: str) -> type[torch.optim.Optimizer]:
    """The ``torch.optim`` class called ``name``; ``ConfigError`` for an unknown or unsupported one."""
    cls = getattr(torch.optim, name, None) if isinstance(name, str) else None
    if isinstance(name, str) and name in UNSUPPORTED_OPTIMIZERS:
        raise ConfigError(f"optimizer={name!r} cannot be used by the gaekit Trainer: {UNSUPPORTED_OPTIMIZERS[name]}; "
                          "use e.g. 'Adam', 'AdamW' or 'SGD'")
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        base = torch.optim.Optimizer
        known = sorted(n for n, c in vars(torch.optim).items() if isinstance(c, type) and issubclass(c, base)
                       and c is not base and n not in UNSUPPORTED_OPTIMIZERS)
        raise ConfigError(f"optimizer={name!r} is invalid: expected a torch.optim optimizer name: {known}")
    return cls


def parse_device(name: Any, where: str = "TrainerConfig.device") -> torch.device | None:
    """``torch.device(name)`` (None for "auto"); ``ConfigError`` naming ``where`` unless it is "auto" or a
    cpu, cuda, cuda:N or mps device."""
    if name == "auto":
        return None
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        device = None
    if device is None or device.type not in DEVICE_TYPES or (device.index is not None and device.type != "cuda"):
        raise ConfigError(f"{where}={name!r} is invalid: expected 'auto', 'cpu', 'cuda', 'cuda:N' (N an int >= 0) "
                          "or 'mps'")
    return device


def check_compile_options(options: dict[str, Any], where: str = "TrainerConfig.compile_options") -> None:
    """Refuse ``torch.compile`` keyword arguments it does not take, an unknown ``mode`` or string ``backend``,
    and ``mode`` with ``options`` -- without compiling anything."""
    _check_callable_params(where, torch.compile, options, skip=1)
    mode, backend = options.get("mode"), options.get("backend", "inductor")
    if mode is not None and options.get("options") is not None:
        raise ConfigError(f"{where}: give either 'mode' or 'options', not both (torch.compile refuses them together)")
    if mode is not None and mode not in COMPILE_MODES:
        from torch._inductor import list_mode_options

        modes = sorted(list_mode_options())
        if mode not in modes:
            raise ConfigError(f"{where}: mode={mode!r} is invalid: expected None or one of {modes}")
    if isinstance(backend, str) and backend != "inductor":
        from torch._dynamo import list_backends

        backends = list_backends(exclude_tags=())
        if backend not in backends:
            raise ConfigError(f"{where}: backend={backend!r} is invalid: expected a callable or one of "
                              f"{sorted(backends)}")
    elif not (isinstance(backend, str) or callable(backend)):
        raise ConfigError(f"{where}: backend={backend!r} is invalid: expected a backend name or a callable")


def scheduler_class(name: str) -> type:
    sched = torch.optim.lr_scheduler
    cls = getattr(sched, name, None)
    base = (sched.LRScheduler, sched.ReduceLROnPlateau)
    if not (isinstance(cls, type) and issubclass(cls, base)) or cls in base[:1]:
        known = sorted(n for n, c in vars(sched).items()
                       if isinstance(c, type) and issubclass(c, base) and c is not sched.LRScheduler
                       and not n.startswith("_"))
        raise ConfigError(f"scheduler={name!r} is invalid: expected a torch.optim.lr_scheduler name: {known}")
    return cls


@dataclass
class TrainerConfig(BaseConfig):
    """Training hyper-parameters.

    Parameters
    ----------
    output_dir : str or None, default "gaekit_runs"
        Each run writes ``<output_dir>/<Model>_training_<time>/`` with checkpoints,
        ``history.json`` and ``final_model/`` (the best model). ``None`` writes nothing.
    num_epochs, batch_size : int
        ``batch_size`` is the global batch: in data-parallel training each of the N processes trains
        on about ``batch_size / N`` of its samples (see ``distributed``).
    eval_batch_size : int or None
        Defaults to ``batch_size`` (also global).
    learning_rate : float
    optimizer : str, default "Adam"
        Any ``torch.optim`` optimizer but ``LBFGS`` (it needs a closure) and ``SparseAdam`` (sparse
        gradients); ``optimizer_params`` are its keyword arguments. Optimizers
        with a fused kernel (Adam, AdamW, SGD, Adagrad) use it unless ``fused``/``foreach`` is set.
    scheduler : str or None
        Any ``torch.optim.lr_scheduler`` class name, stepped once per epoch;
        ``ReduceLROnPlateau`` is stepped with the validation loss (the training loss without
        eval data), e.g. the paper's ``{"factor": 0.5, "patience": 10}``.
    group_overrides : dict
        Per parameter group (see ``BaseAE.parameter_groups``) overrides of ``learning_rate``,
        ``optimizer``, ``optimizer_params``, ``scheduler``, ``scheduler_params``.
    seed : int
        Seeds torch, numpy, ``random`` and the data order at the start of training. For identical
        initial weights too, call ``gaekit.trainers.set_seed`` before building the model.
    device : str, default "auto"
        "auto" (CUDA when available), "cpu", "cuda", "cuda:N" or "mps".
    checkpoint_every_n_epochs : int or None
        Write a checkpoint every that many epochs (Pythae's ``steps_saving``, kept as an alias).
    checkpoint_every_n_steps : int or None
        Also write one every that many optimisation steps (for long epochs).
    amp : bool, default False
        Mixed precision: bf16 autocast on CPU, fp16 autocast with a gradient scaler on CUDA
        (``amp_dtype`` chooses bf16 there, without a scaler). Only
        the networks run under autocast; their outputs return as fp32, so every loss term (BCE, KL,
        ...) is computed in fp32 (see ``gaekit.trainers.precision``). It pays only where the device computes
        the dtype natively: on a CPU without native bf16 (no AVX512-BF16 or AMX, e.g. an AVX2-only EPYC,
        where a ConvNet step was many times slower than fp32) the trainer warns (``PrecisionWarning``).
    amp_dtype : {"bfloat16", "float16"} or None
        The autocast dtype; None: float16 on CUDA, bfloat16 elsewhere. float16 needs CUDA; bfloat16 on
        CUDA needs a GPU with native bf16 (compute capability 8.0 or newer). Setting "bfloat16"
        explicitly on a CPU keeps it without the warning.
    channels_last : bool, default False
        Channels-last memory format for the model and the image batches (conv networks on
        ``(C, H, W)`` data; refused for other ``input_dim``).
    compile : bool, default False
        ``torch.compile`` the ``forward`` of each of the model's networks (of the whole model when it
        has no named networks), in place; ``compile_options`` are ``torch.compile``'s keyword
        arguments, e.g. ``{"mode": "max-autotune"}`` or ``{"backend": "eager"}``, checked without compiling
        (``mode`` against torch's modes, a backend name against ``torch._dynamo.list_backends``; a callable backend
        works from Python but cannot be written to ``training_config.json``: use it with
        ``output_dir=None``).
    distributed : {"auto", "off"}, default "auto"
        "auto": when started by ``torchrun`` (``WORLD_SIZE`` > 1) or inside an initialised
        ``torch.distributed`` group, train data-parallel: ``gloo`` on CPU, ``nccl`` on CUDA
        (``cuda:LOCAL_RANK``); each global batch is split between the processes, gradients,
        losses and changed buffers are averaged, and only rank 0 writes files (see
        ``gaekit.trainers.distributed``). "off": train alone in each process.
    deterministic : bool, default False
        ``torch.use_deterministic_algorithms(True)`` while training.
    show_progress : bool, default True
        A tqdm progress bar per epoch, refreshed every ``log_every_n_steps`` steps.
    data_on_device : bool or None, default None
        Keep the training and evaluation data on the training device, moved there once, so that no batch is
        copied from the host (each such copy from pageable memory also waits for the device). None: an array
        dataset moves to a CUDA device when it takes at most a quarter of the free memory (MNIST's 50,000
        images take 39 MB as uint8, dSprites 377 MB as packed bits); True: always (array data only);
        False: never. Nothing moves on the CPU. The batches and results are the same either way.
    check_finite_every_n_steps : int or None, default None
        How often the host reads the non-finite-loss check. 1: every step, before the backward pass (a
        non-finite step never reaches the model; one host synchronisation per step, free on the CPU but a
        stall of an accelerator's queue). N > 1: each step's check stays on the device and is read every N
        steps, before every checkpoint and at every end of epoch, where ``NonFiniteLossError`` names the first
        non-finite step; the model has then trained through it (its parameters may not be finite) and no
        checkpoint holds such a step (the best model and the checkpoints do not). Runs without a non-finite
        step are identical either way. None: 1 on the CPU, ``log_every_n_steps`` on an accelerator; always 1
        in distributed training (its processes agree on the check every step).
    shuffle, drop_last : bool
        Training-data order.
    load_best_at_end : bool, default True
        Leave the model holding the best weights (those saved in ``final_model``).
    early_stopping_patience : int or None
        Stop when the monitored loss (validation loss, or training loss without eval data) has not
        improved for this many epochs.
    images_every_n_epochs : int or None
        Every that many epochs, reconstructions of a fixed batch of eval data (training data without
        it) and samples from the model's prior are made, without touching the training random stream,
        and passed to the callbacks' ``on_prediction_step`` (the trackers log them as image grids);
        for autoencoders of image data (``input_dim`` ``(C, H, W)``, C 1 or 3). Pythae's ``steps_predict``.
    """

    name: ClassVar[str] = "TrainerConfig"
    aliases: ClassVar[dict[str, str]] = {"steps_saving": "checkpoint_every_n_epochs"}
    output_dir: str | None = "gaekit_runs"
    num_epochs: int = 100
    batch_size: int = 100
    eval_batch_size: int | None = None
    learning_rate: float = 1e-4
    optimizer: str = "Adam"
    optimizer_params: dict[str, Any] = field(default_factory=dict)
    scheduler: str | None = None
    scheduler_params: dict[str, Any] = field(default_factory=dict)
    group_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    seed: int = 8
    device: str = "auto"
    checkpoint_every_n_epochs: int | None = None
    checkpoint_every_n_steps: int | None = None
    amp: bool = False
    amp_dtype: str | None = None
    channels_last: bool = False
    compile: bool = False
    compile_options: dict[str, Any] = field(default_factory=dict)
    distributed: str = "auto"
    deterministic: bool = False
    show_progress: bool = True
    log_every_n_steps: int = 20
    data_on_device: bool | None = None
    check_finite_every_n_steps: int | None = None
    shuffle: bool = True
    drop_last: bool = False
    load_best_at_end: bool = True
    early_stopping_patience: int | None = None
    images_every_n_epochs: int | None = None

    def _check(self) -> None:
        super()._check()
        for name in ("num_epochs", "batch_size", "log_every_n_steps"):
            self._require(name, getattr(self, name) > 0, "a positive int")
        for name in ("eval_batch_size", "checkpoint_every_n_epochs", "checkpoint_every_n_steps",
                     "early_stopping_patience", "images_every_n_epochs", "check_finite_every_n_steps"):
            self._require(name, getattr(self, name) is None or getattr(self, name) > 0, "None or a positive int")
        self._require_positive("learning_rate")
        parse_device(self.device)
        self._require("amp_dtype", self.amp_dtype in (None, "bfloat16", "float16"), "None, 'bfloat16' or 'float16'")
        if self.amp_dtype is not None and not self.amp:
            raise ConfigError(f"TrainerConfig: amp_dtype={self.amp_dtype!r} is given but amp is False")
        self._require("distributed", self.distributed in ("auto", "off"), "'auto' or 'off'")
        self._require("data_on_device", self.data_on_device in (None, True, False), "None, True or False")
        if self.compile_options and not self.compile:
            raise ConfigError("TrainerConfig: compile_options are given but compile is False")
        check_compile_options(self.compile_options)
        self._check_optimization(self.__dict__, "TrainerConfig")
        for group, override in self.group_overrides.items():
            unknown = sorted(set(override) - set(GROUP_OVERRIDE_KEYS))
            if unknown:
                raise ConfigError(f"TrainerConfig.group_overrides[{group!r}]: unknown key(s) {unknown}; "
                                  f"accepted: {list(GROUP_OVERRIDE_KEYS)}")
            self._check_optimization(self.group_settings(group), f"TrainerConfig.group_overrides[{group!r}]")

    @staticmethod
    def _check_optimization(settings: dict[str, Any], where: str) -> None:
        lr = settings["learning_rate"]
        if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr > 0:
            raise ConfigError(f"{where}: learning_rate={lr!r} is invalid: expected a number > 0")
        opt = optimizer_class(settings["optimizer"])
        if "lr" in settings["optimizer_params"]:
            raise ConfigError(f"{where}.optimizer_params: set the learning rate with learning_rate, not 'lr'")
        opt_params = settings["optimizer_params"]
        _check_callable_params(f"{where}.optimizer_params", opt.__init__, opt_params, skip=2)
        # build it once on a dummy parameter so that torch's own checks run now, not at training time
        optimizer = _torch_validates(f"{where}.optimizer_params", opt_params, opt,
                                     lambda: _stepped_optimizer(opt, lr, opt_params))
        if settings["scheduler"] is not None:
            sched = scheduler_class(settings["scheduler"])
            sched_params = settings["scheduler_params"]
            _check_callable_params(f"{where}.scheduler_params", sched.__init__, sched_params, skip=2)
            _torch_validates(f"{where}.scheduler_params", sched_params, sched,
                             lambda: _built_scheduler(sched, optimizer, sched_params))
        elif settings["scheduler_params"]:
            raise ConfigError(f"{where}: scheduler_params are given but scheduler is None")

    def group_settings(self, group: str) -> dict[str, Any]:
        """Optimizer and scheduler settings for one parameter group, overrides applied."""
        settings = {key: getattr(self, key) for key in GROUP_OVERRIDE_KEYS}
        settings.update(self.group_overrides.get(group, {}))
        return settings


BaseTrainerConfig = TrainerConfig
