"""Latent-space probes: the linear classifier (Task 3) and k-means clustering (Task 4).

Pythae (Chadebec et al. 2022, arXiv:2206.08309, Section 4.2):

- Task 3, classification: "a single layer classifier is trained in a supervised manner on the latent
  embeddings" with the autoencoder's train/validation/test split, 20 runs, reporting the mean test
  accuracy (selection on the validation accuracy);
- Task 4, clustering: "100 separate runs of the k-means algorithm", "the mean accuracy obtained on
  the train embeddings", each cluster labelled with its most frequent class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from gaekit.config import check_seed
from gaekit.errors import ConfigError, DataError
from gaekit.metrics.scores import cluster_accuracy, majority_labels

__all__ = ["kmeans_accuracy", "linear_probe"]


def _check_positive(**values: Any) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name}={value!r} is invalid: expected a positive int")


def _features_labels(z: Any, y: Any, name: str) -> tuple[Tensor, Tensor]:
    z = torch.as_tensor(z).detach().to("cpu", torch.float32)
    if y is None:
        raise DataError(f"{name} has no labels; the classification and clustering tasks need class labels")
    y = torch.as_tensor(y).detach().to("cpu").reshape(-1).long()
    if z.ndim != 2 or z.shape[0] != y.shape[0] or z.shape[0] == 0:
        raise DataError(f"{name}: {tuple(z.shape)} embeddings and {tuple(y.shape)} labels; expected (N, D) and (N,)")
    if not bool(torch.isfinite(z).all()):
        raise DataError(f"{name} embeddings hold NaN or infinite values")
    return z, y


def linear_probe(train_z: Any, train_y: Any, val_z: Any, val_y: Any, test_z: Any, test_y: Any, *,
                 runs: int = 20, epochs: int = 10, batch_size: int = 256, learning_rate: float = 1e-2,
                 weight_decay: float = 0.0, seed: int = 0,
                 progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Train ``runs`` single linear layers on embeddings; return test accuracies selected on validation.

    Features are standardised with the training mean and standard deviation. Every run is a
    ``Linear(D, K)`` (initialised like ``torch.nn.Linear``) trained with Adam on the cross-entropy
    for ``epochs`` epochs of shuffled mini-batches; after each epoch its validation accuracy is
    measured and the weights of its best epoch (earliest on ties) are kept; the test accuracy is
    that of those weights. The runs are trained together as one batched tensor (independent weights,
    data orders and Adam states), so 20 runs cost about as much as one.

    Parameters
    ----------
    train_z, val_z, test_z : array-like, shape (N, D)
        Embeddings.
    train_y, val_y, test_y : array-like of int, shape (N,)
        Class labels (``K`` = largest label + 1 over the three sets).
    runs, epochs, batch_size : int
    learning_rate, weight_decay : float
        Adam's step size and L2 penalty.
    seed : int
        Seeds the initialisations and data orders of all runs.
    progress : callable, optional
        Called with 1 after each epoch.

    Returns
    -------
    dict
        ``test_accuracy_mean``/``_std`` (over runs, ``ddof=0``), ``validation_accuracy_mean``/``_std``,
        ``test_accuracies`` and ``best_epochs`` (one per run), and the settings.
    """
    _check_positive(runs=runs, epochs=epochs, batch_size=batch_size)
    if not (learning_rate > 0 and weight_decay >= 0):
        raise ConfigError(f"learning_rate={learning_rate!r} must be > 0 and weight_decay={weight_decay!r} >= 0")
    (x_train, y_train), val, test, k = _standardised(((train_z, train_y, "train"), (val_z, val_y, "validation"),
                                                      (test_z, test_y, "test")))
    gen = torch.Generator().manual_seed(check_seed(seed, "linear_probe: seed"))
    best_w, best_b, best_val, best_epoch = _train_runs(x_train, y_train, *val, k, runs=runs, epochs=epochs,
                                                       batch_size=batch_size, learning_rate=learning_rate,
                                                       weight_decay=weight_decay, gen=gen, progress=progress)
    test_acc = _accuracy(best_w, best_b, *test).numpy()
    val_acc = best_val.double().numpy()
    return {
        "test_accuracy_mean": float(test_acc.mean()),
        "test_accuracy_std": float(test_acc.std()),
        "validation_accuracy_mean": float(val_acc.mean()),
        "validation_accuracy_std": float(val_acc.std()),
        "test_accuracies": [float(a) for a in test_acc],
        "best_epochs": [int(e) for e in best_epoch],
        "runs": runs, "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
        "weight_decay": weight_decay, "num_classes": k,
    }


def _standardised(splits: tuple[tuple[Any, Any, str], ...]) -> tuple[Any, ...]:
    """``(x, y)`` of each split, the features standardised with the first split's mean and standard deviation,
    and the number of classes ``K`` (largest label + 1)."""
    xs, ys = zip(*(_features_labels(z, y, name) for z, y, name in splits))
    if not xs[0].shape[1] == xs[1].shape[1] == xs[2].shape[1]:
        raise DataError(f"embedding sizes differ: {[x.shape[1] for x in xs]}")
    mean = xs[0].mean(0)
    std = xs[0].std(0, unbiased=False)
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    k = int(max(int(y.max()) for y in ys)) + 1
    if int(min(int(y.min()) for y in ys)) < 0:
        raise DataError("class labels must be >= 0")
    return (*(((x - mean) / std, y) for x, y in zip(xs, ys)), k)


def _accuracy(w: Tensor, b: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """Accuracy of each of the ``runs`` linear layers ``x @ w[r] + b[r]`` on ``(x, y)``."""
    with torch.no_grad():
        pred = torch.baddbmm(b, x.unsqueeze(0).expand(w.shape[0], -1, -1), w).argmax(-1)
    return (pred == y.unsqueeze(0)).double().mean(1)


def _train_runs(x_train: Tensor, y_train: Tensor, x_val: Tensor, y_val: Tensor, k: int, *, runs: int, epochs: int,
                batch_size: int, learning_rate: float, weight_decay: float, gen: torch.Generator,
                progress: Callable[[int], None] | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Train ``runs`` ``Linear(D, K)`` layers as one batched tensor; return each run's weights and bias of its
    best validation epoch (earliest on ties), that accuracy and that epoch."""
    n, d = x_train.shape
    bound = 1.0 / d**0.5
    weight = ((torch.rand(runs, d, k, generator=gen) * 2 - 1) * bound).requires_grad_()
    bias = ((torch.rand(runs, 1, k, generator=gen) * 2 - 1) * bound).requires_grad_()
    optimizer = torch.optim.Adam([weight, bias], lr=learning_rate, weight_decay=weight_decay)
    best_val = torch.full((runs,), -1.0)
    best_epoch = torch.zeros(runs, dtype=torch.long)
    best_w, best_b = weight.detach().clone(), bias.detach().clone()
    for epoch in range(epochs):
        order = torch.argsort(torch.rand(runs, n, generator=gen), dim=1)
        for start in range(0, n, batch_size):
            idx = order[:, start:start + batch_size]
            logits = torch.baddbmm(bias, x_train[idx], weight)
            loss = F.cross_entropy(logits.reshape(-1, k), y_train[idx].reshape(-1)) * runs
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        val_acc = _accuracy(weight.detach(), bias.detach(), x_val, y_val)
        better = val_acc > best_val
        best_val = torch.where(better, val_acc, best_val)
        best_epoch = torch.where(better, torch.full_like(best_epoch, epoch + 1), best_epoch)
        best_w[better] = weight.detach()[better]
        best_b[better] = bias.detach()[better]
        if progress is not None:
            progress(1)
    return best_w, best_b, best_val, best_epoch


def kmeans_accuracy(z: Any, y: Any, *, n_clusters: int | None = None, runs: int = 100, seed: int = 0,
                    test_z: Any = None, test_y: Any = None,
                    progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """k-means on embeddings, ``runs`` times, scored by majority-label accuracy.

    Each run is scikit-learn's ``KMeans(n_clusters, n_init=1, random_state=(seed + run) % 2**32)`` fitted on
    ``z`` on one thread (the runs are small: thread start-up costs more than it saves, many times
    over on a busy machine, and the result cannot depend on the thread count); its accuracy on
    ``z`` is :func:`~gaekit.metrics.scores.cluster_accuracy` (the paper's number, computed on the
    training embeddings). With ``test_z``/``test_y`` the test embeddings
    are also assigned to the nearest centre and labelled with that cluster's training majority label.

    Returns
    -------
    dict
        ``accuracy_mean``/``_std`` (``ddof=0``), ``accuracies``, and with test data
        ``test_accuracy_mean``/``_std``; plus ``n_clusters`` and ``runs``.
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    seed = check_seed(seed, "kmeans_accuracy: seed")
    zt, yt = _features_labels(z, y, "clustering data")
    x = zt.double().numpy()
    labels = yt.numpy()
    k = int(n_clusters) if n_clusters is not None else int(np.unique(labels).size)
    _check_positive(runs=runs, n_clusters=k)
    if k > x.shape[0]:
        raise DataError(f"n_clusters={k} exceeds the number of samples ({x.shape[0]})")
    x_test = labels_test = None
    if test_z is not None:
        zt_test, yt_test = _features_labels(test_z, test_y, "clustering test data")
        x_test, labels_test = zt_test.double().numpy(), yt_test.numpy()
    if int(labels.min()) < 0:
        raise DataError("class labels must be >= 0")
    accs, test_accs = [], []
    with threadpool_limits(1):
        for run in range(runs):
            km = KMeans(n_clusters=k, n_init=1, random_state=(seed + run) % 2**32).fit(x)
            accs.append(cluster_accuracy(labels, km.labels_))
            if x_test is not None:
                mapping = majority_labels(labels, km.labels_, k)
                test_accs.append(float((mapping[km.predict(x_test)] == labels_test).mean()))
            if progress is not None:
                progress(1)
    out: dict[str, Any] = {"accuracy_mean": float(np.mean(accs)), "accuracy_std": float(np.std(accs)),
                           "accuracies": accs, "n_clusters": k, "runs": runs}
    if test_accs:
        out["test_accuracy_mean"] = float(np.mean(test_accs))
        out["test_accuracy_std"] = float(np.std(test_accs))
    return out
