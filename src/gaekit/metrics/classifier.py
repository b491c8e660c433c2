"""Domain classifiers: small CNNs trained on a labelled dataset, used as FID/IS feature extractors.

The Inception-v3 of FID was trained on ImageNet photographs; for MNIST-like data a classifier
trained on the domain itself is a common, cheaper and more telling feature extractor. Its metrics
are named after it (``fid_mnist_classifier``, ``is_mnist_classifier``, ...) and are not comparable
with Inception FID/IS or with the numbers of the Pythae paper (arXiv:2206.08309, Tables 1-3).

The network: inputs standardised with the training set's pixel mean and standard deviation, then
``Conv(16, 5x5, stride 2) - ReLU - Conv(32, 3x3, stride 2) - ReLU - Linear(128) - ReLU -
Linear(classes)``; its features are the 128 ReLU activations, its logits the last layer's output.
It is trained reproducibly -- seeded initialisation and data order, Adam with a cosine-decayed step
size, cross-entropy, on one CPU thread so that the result does not depend on the thread count --
on the dataset's full official training set (MNIST: 60,000 images, 3 epochs, about 99% test
accuracy, some 10 s on one core), then cached in
``<cache>/metrics/classifiers/<dataset>-<config hash>/`` as ``model.safetensors`` with a
``classifier.json`` holding its config, the sha256 of the training data and of the weights, and its
test accuracy. A later call with the same config loads it; when the training data's checksum
differs (a changed dataset), it is trained again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaekit.config import BaseConfig
from gaekit.errors import CheckpointError, DataError
from gaekit.metrics.extractors import EXTRACTORS, ExtractorUnavailableError, FeatureExtractor
from gaekit.metrics.extractors import cache_dir as default_cache_dir
from gaekit.serialization import (
    atomic_folder,
    check_output_folder,
    library_metadata,
    load_tensors,
    read_json,
    save_tensors,
    write_json,
)

__all__ = [
    "DomainClassifier",
    "DomainClassifierConfig",
    "DomainClassifierNet",
    "domain_classifier",
    "train_domain_classifier",
]

RECORD_FILE = "classifier.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass
class DomainClassifierConfig(BaseConfig):
    """How a domain classifier is built and trained.

    Parameters
    ----------
    dataset : str, default "mnist"
        A registered dataset with labels (``gaekit.data.DATASETS``): "mnist", "fashion-mnist", "digits".
    train_split, test_split : str
        Splits it is trained and tested on (default: all official training images, the test set).
    max_train : int, optional
        Train on the first ``max_train`` images only (cheap checks).
    channels : (int, int), default (16, 32)
        Channels of the two convolutions.
    hidden : int, default 128
        Size of the feature layer.
    epochs, batch_size : int
    learning_rate : float
        Adam's initial step size, decayed to 0 along a half cosine over all steps.
    seed : int
        Seeds the initialisation and the data order.
    """

    name: ClassVar[str] = "DomainClassifier"
    dataset: str = "mnist"
    train_split: str = "train_full"
    test_split: str = "test"
    max_train: int | None = None
    channels: tuple[int, ...] = (16, 32)
    hidden: int = 128
    epochs: int = 3
    batch_size: int = 128
    learning_rate: float = 3e-3
    seed: int = 0

    def _check(self) -> None:
        super()._check()
        if self.max_train is not None:
            self._require("max_train", self.max_train >= 1, "a positive int or None")
        self._require("channels", len(self.channels) == 2 and all(c >= 1 for c in self.channels), "two positive ints")
        for field in ("hidden", "epochs", "batch_size"):
            self._require(field, getattr(self, field) >= 1, "a positive int")
        self._require_positive("learning_rate")
        self._require("seed", self.seed >= 0, "an int >= 0")

    def key(self) -> str:
        """Short hash of the config: the cache folder's suffix."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


# Per-dataset defaults (the 8x8 digits have 1,497 training images: more, smaller-batch epochs).
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {"digits": {"epochs": 40, "batch_size": 64}}


class DomainClassifierNet(nn.Module):
    """Two stride-2 convolutions with ReLU, a ReLU feature layer, a linear output.

    ``forward(x)`` maps ``(N, C, H, W)`` images in [0, 1] to ``(features (N, hidden), logits (N, classes))``;
    inputs are first standardised with the buffers ``input_mean`` and ``input_std`` (set from the
    training data by :func:`train_domain_classifier`).
    """

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, channels: tuple[int, ...] = (16, 32),
                 hidden: int = 128):
        super().__init__()
        if len(input_shape) != 3 or input_shape[1] < 4 or input_shape[2] < 4:
            raise DataError(f"a domain classifier needs (C, H, W) images of at least 4x4; got {tuple(input_shape)}")
        c, h, w = input_shape
        self.register_buffer("input_mean", torch.zeros(()))
        self.register_buffer("input_std", torch.ones(()))
        self.conv1 = nn.Conv2d(c, channels[0], 5, stride=2, padding=2)
        self.conv2 = nn.Conv2d(channels[0], channels[1], 3, stride=2, padding=1)
        h, w = (h + 3) // 4, (w + 3) // 4  # each stride-2 convolution maps n to ceil(n / 2)
        self.fc1 = nn.Linear(channels[1] * h * w, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = (x - self.input_mean) / self.input_std
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        features = F.relu(self.fc1(torch.flatten(x, 1)))
        return features, self.fc2(features)


class DomainClassifier(FeatureExtractor):
    """A :class:`FeatureExtractor` around a trained :class:`DomainClassifierNet`.

    ``info`` holds its config, training-data checksum, test accuracy, and ``source``:
    ``"trained"`` (trained by this call) or ``"cache"`` (loaded).
    """

    def __init__(self, module: DomainClassifierNet, dataset: str, input_shape: tuple[int, ...],
                 info: dict[str, Any]):
        super().__init__(module, name=f"{dataset.replace('-', '_')}_classifier", input_shape=input_shape,
                         description=f"CNN classifier trained on {dataset} "
                                     f"(test accuracy {info.get('test_accuracy', float('nan')):.4f})")
        self.info = info


def _data_checksum(data: Any) -> str:
    """sha256 of a labelled dataset's shapes, dtypes, values and labels."""
    x, y = data.data, data.labels
    digest = hashlib.sha256()
    for t in (x, y):
        arr = np.ascontiguousarray(t.detach().to("cpu").numpy())
        digest.update(f"{arr.dtype.str}{arr.shape}".encode())
        digest.update(memoryview(arr).cast("B"))
    return digest.hexdigest()


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one CPU thread inside the block (results then do not depend on the thread count;
    small networks also train faster than with several threads on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _accuracy(net: nn.Module, data: Any, batch_size: int = 1000) -> float:
    from gaekit.data import iterate_batches

    correct = 0
    net.eval()
    with torch.no_grad():
        for batch in iterate_batches(data, batch_size, shuffle=False, generator=None):
            correct += int((net(batch.data)[1].argmax(1) == batch.labels).sum())
    return correct / len(data)


def train_domain_classifier(config: DomainClassifierConfig, train: Any, test: Any = None,
                            show_progress: bool = False) -> tuple[DomainClassifierNet, dict[str, Any]]:
    """Train a :class:`DomainClassifierNet` on a labelled gaekit dataset, reproducibly.

    Parameters
    ----------
    config : DomainClassifierConfig
    train : ArrayDataset
        Labelled training images (uint8 or float in [0, 1]); ``config.max_train`` is not applied here.
    test : ArrayDataset, optional
        Labelled test images for the reported accuracy.
    show_progress : bool

    Returns
    -------
    (DomainClassifierNet, dict)
        The network in eval mode, and ``{"test_accuracy", "train_seconds", "num_classes", "input_shape"}``.
    """
    from tqdm.auto import tqdm

    from gaekit.data import iterate_batches, num_batches

    if train.labels is None or len(train) == 0:
        raise DataError(f"the {config.dataset} training set has no labels (or no images); a classifier needs both")
    num_classes = int(train.labels.max()) + 1
    shape = train.sample_shape
    with _one_thread():
        pixels = train.as_float()
        mean, std = pixels.mean(), pixels.std().clamp_min(1e-6)
        del pixels
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            net = DomainClassifierNet(shape, num_classes, config.channels, config.hidden)
        net.input_mean.fill_(float(mean))
        net.input_std.fill_(float(std))
        generator = torch.Generator().manual_seed(config.seed)
        optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
        steps = config.epochs * num_batches(train, config.batch_size)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: 0.5 * (1 + math.cos(math.pi * k / steps)))
        start = time.perf_counter()
        net.train()
        with tqdm(total=steps, desc=f"training the {config.dataset} classifier", disable=not show_progress,
                  leave=False) as bar:
            for _ in range(config.epochs):
                for batch in iterate_batches(train, config.batch_size, shuffle=True, generator=generator):
                    loss = F.cross_entropy(net(batch.data)[1], batch.labels)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    schedule.step()
                    bar.update(1)
        seconds = time.perf_counter() - start
        net.eval()
        accuracy = None if test is None else _accuracy(net, test)
    info = {"train_seconds": round(seconds, 3), "num_classes": num_classes, "input_shape": list(shape),
            "test_accuracy": accuracy}
    return net, info


def _load_cached(folder: Path, config: DomainClassifierConfig, data_sha: str | None) -> DomainClassifier | None:
    record_path = folder / RECORD_FILE
    if not record_path.is_file():
        return None
    try:
        record = read_json(record_path, "domain classifier record")
        if record.get("config") != config.to_dict():
            return None
        if data_sha is not None and record.get("data_sha256") != data_sha:
            return None  # the dataset changed: train again
        state = load_tensors(folder / WEIGHTS_FILE, record["sha256"][WEIGHTS_FILE])
        net = DomainClassifierNet(tuple(record["input_shape"]), int(record["num_classes"]), config.channels,
                                  config.hidden)
        net.load_state_dict(state)
    except (CheckpointError, KeyError, TypeError, RuntimeError, ValueError):
        return None  # unreadable or inconsistent cache: train again
    info = {k: record[k] for k in ("test_accuracy", "train_seconds", "num_classes", "input_shape", "data_sha256")}
    info.update(config=config.to_dict(), source="cache", folder=str(folder), data_verified=data_sha is not None)
    return DomainClassifier(net.eval(), config.dataset, tuple(record["input_shape"]), info)


def domain_classifier(dataset: str = "mnist", *, config: DomainClassifierConfig | None = None,
                      data_dir: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                      retrain: bool = False, show_progress: bool = False) -> DomainClassifier:
    """The domain classifier of ``dataset``, loaded from the cache or trained (then cached).

    Parameters
    ----------
    dataset : str, default "mnist"
        Used when ``config`` is None: ``DomainClassifierConfig(dataset=dataset)`` with the
        dataset's defaults.
    config : DomainClassifierConfig, optional
    data_dir : str or Path, optional
        Where the dataset's files are (see :func:`gaekit.data.find_data_dir`).
    cache_dir : str or Path, optional
        gaekit cache root (default :func:`~gaekit.metrics.extractors.cache_dir`).
    retrain : bool, default False
        Train even when a matching cached classifier exists.
    show_progress : bool

    Raises
    ------
    ExtractorUnavailableError
        When the training data cannot be loaded and no cached classifier exists.
    """
    from gaekit.data import load_dataset

    if config is None:
        config = DomainClassifierConfig(dataset=dataset, **DATASET_DEFAULTS.get(dataset, {}))
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    folder = root / "metrics" / "classifiers" / f"{config.dataset}-{config.key()}"
    check_output_folder(folder, "the domain classifier cache folder (the cache_dir= argument, else under "
                                "$GAEKIT_CACHE_DIR)")
    try:
        train = load_dataset(config.dataset, config.train_split, root=data_dir)
    except DataError as err:
        cached = None if retrain else _load_cached(folder, config, None)
        if cached is not None:
            return cached
        raise ExtractorUnavailableError(
            f"the {config.dataset}-classifier feature extractor must be trained on the {config.dataset} "
            f"training set, which is not available: {err}"
        ) from None
    if config.max_train is not None:
        train = train.subset(slice(0, config.max_train))
    data_sha = _data_checksum(train)
    if not retrain:
        cached = _load_cached(folder, config, data_sha)
        if cached is not None:
            return cached
    test = load_dataset(config.dataset, config.test_split, root=data_dir)
    net, info = train_domain_classifier(config, train, test, show_progress=show_progress)
    with atomic_folder(folder) as tmp:
        digest = save_tensors(tmp / WEIGHTS_FILE, net.state_dict())
        write_json(tmp / RECORD_FILE, {**library_metadata(), "config": config.to_dict(), "data_sha256": data_sha,
                                       **info, "sha256": {WEIGHTS_FILE: digest}})
    info.update(config=config.to_dict(), data_sha256=data_sha, source="trained", folder=str(folder),
                data_verified=True)
    return DomainClassifier(net, config.dataset, train.sample_shape, info)


def _registered(dataset: str):
    def factory(data_dir: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                show_progress: bool = False, **_: Any) -> DomainClassifier:
        return domain_classifier(dataset, data_dir=data_dir, cache_dir=cache_dir, show_progress=show_progress)

    factory.__doc__ = f"Registered as ``{dataset}-classifier``: :func:`domain_classifier` of {dataset!r}."
    return factory


for _name in ("mnist", "fashion-mnist", "digits"):
    EXTRACTORS.register(f"{_name}-classifier")(_registered(_name))
