"""Locatello et al. 2019's own implementation of the metrics, ``disentanglement_lib``, run on gaekit's
ground-truth sources and representations: to score a model with the code behind the published study, and to
check gaekit's metrics against it (``tests/metrics/test_disentanglement_lib_parity.py``).

Needs the ``disentanglement_lib`` extra (``pip install "gaekit[disentanglement_lib]"``). disentanglement_lib is
a TensorFlow project, but its metric modules need only numpy, scipy and scikit-learn. Their one TensorFlow
import, ``gin.tf`` (a training hook they never call), is replaced by an empty module when TensorFlow is absent.

Their settings come from two places. The sample counts are each metric's configuration in the study
(``config/unsupervised_study_v1/metric_configs/*.gin``; :data:`REFERENCE_PROTOCOL`). The inner settings that
the study leaves to gin, 20 histogram bins and the FactorVAE pruning threshold 0.05, are set by
:func:`reference_protocol`, which also chooses their logistic regression (see there). No global gin state is
touched.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import sys
import types
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from gaekit._extras import require_extra
from gaekit.config import check_seed
from gaekit.errors import ConfigError
from gaekit.metrics.disentanglement._arrays import protocol_logistic
from gaekit.metrics.disentanglement.ground_truth import GroundTruthData, Representation, encode

__all__ = ["REFERENCE_KEYS", "REFERENCE_NUM_BINS", "REFERENCE_PROTOCOL", "REFERENCE_PRUNE_THRESHOLD",
           "ReferenceGroundTruth", "load_disentanglement_lib", "reference_protocol", "reference_scores"]

#: Each metric's module, function and keyword settings in disentanglement_lib's ``unsupervised_study_v1``
#: configurations (keys: gaekit's metric names, as in ``gaekit.metrics.disentanglement.METRICS``).
REFERENCE_PROTOCOL: dict[str, tuple[str, str, dict[str, Any]]] = {
    "beta_vae": ("beta_vae", "compute_beta_vae_sklearn", {"batch_size": 64, "num_train": 10000, "num_eval": 5000}),
    "factor_vae": ("factor_vae", "compute_factor_vae", {"batch_size": 64, "num_train": 10000, "num_eval": 5000,
                                                        "num_variance_estimate": 10000}),
    "mig": ("mig", "compute_mig", {"num_train": 10000}),
    "sap": ("sap_score", "compute_sap", {"num_train": 10000, "num_test": 5000, "continuous_factors": False}),
    "dci": ("dci", "compute_dci", {"num_train": 10000, "num_test": 5000}),
    "modularity_explicitness": ("modularity_explicitness", "compute_modularity_explicitness",
                                {"num_train": 10000, "num_test": 5000}),
}
#: Result keys of gaekit's metrics that disentanglement_lib names differently (the others are the same).
REFERENCE_KEYS = {"sap_score": "SAP_score"}
REFERENCE_NUM_BINS = 20  # discretizer.num_bins of the mig and modularity_explicitness configurations
REFERENCE_PRUNE_THRESHOLD = 0.05  # prune_dims.threshold of the factor_vae_metric configuration
_MODULES = ("utils", "beta_vae", "factor_vae", "mig", "sap_score", "dci", "modularity_explicitness")
_CLASSIFIERS = ("study", "installed")


def load_disentanglement_lib() -> types.SimpleNamespace:
    """disentanglement_lib's metric modules (``utils``, ``beta_vae``, ``factor_vae``, ``mig``, ``sap_score``,
    ``dci``, ``modularity_explicitness``), imported without TensorFlow.

    Raises
    ------
    ModuleNotFoundError
        disentanglement_lib is not installed (the message names the extra).
    """
    require_extra("gin", "disentanglement_lib", "gaekit.metrics.disentanglement.reference")
    if "gin.tf" not in sys.modules and importlib.util.find_spec("tensorflow") is None:
        import gin

        sys.modules["gin.tf"] = gin.tf = types.ModuleType("gin.tf")  # only core gin is used by the metrics
    require_extra("disentanglement_lib", "disentanglement_lib", "gaekit.metrics.disentanglement.reference")
    import logging

    absl_root = logging.getLogger()
    level = absl_root.level
    absl_root.setLevel(logging.ERROR)  # gin 0.4 warns once per `blacklist=` argument of their decorators
    try:
        modules = {name: importlib.import_module(f"disentanglement_lib.evaluation.metrics.{name}")
                   for name in _MODULES}
    finally:
        absl_root.setLevel(level)
    return types.SimpleNamespace(**modules)


@contextlib.contextmanager
def reference_protocol(*, classifiers: str = "study", seed: int | None = None) -> Iterator[types.SimpleNamespace]:
    """disentanglement_lib's metric modules, set up as the study ran them, for the ``with`` block.

    Parameters
    ----------
    classifiers : {"study", "installed"}, default "study"
        Their beta-VAE score and Explicitness call ``LogisticRegression()`` with scikit-learn's defaults. When the
        study ran (scikit-learn < 0.22) those were liblinear, one-vs-rest; today they are multinomial lbfgs.
        ``"study"`` gives them the study's classifier (gaekit's protocol logistic regression); ``"installed"``
        leaves the installed scikit-learn's defaults.
    seed : int, optional
        Also seed their unseeded classifiers (DCI's gradient-boosted trees, SAP's linear SVMs, and the logistic
        regression) with ``seed``, so that a run repeats exactly. By default they run unseeded, as in the study.

    Yields
    ------
    types.SimpleNamespace
        The modules of :func:`load_disentanglement_lib`; everything set here is undone on exit. The settings
        are attributes of their modules, so two blocks must not run at once in threads of one process.
    """
    if classifiers not in _CLASSIFIERS:
        raise ConfigError(f"classifiers={classifiers!r} is invalid: expected one of {_CLASSIFIERS}")
    if seed is not None:
        seed = check_seed(seed, "reference_protocol: seed") % 2**32
    lib = load_disentanglement_lib()
    from sklearn import ensemble, svm

    patches: list[tuple[Any, str, Any]] = [
        (lib.utils, "make_discretizer",
         lambda target: lib.utils._histogram_discretize(target, num_bins=REFERENCE_NUM_BINS)),
        (lib.factor_vae, "_prune_dims",
         functools.partial(lib.factor_vae._prune_dims, threshold=REFERENCE_PRUNE_THRESHOLD)),
    ]
    if classifiers == "study":
        logistic = types.SimpleNamespace(LogisticRegression=lambda random_state=None: protocol_logistic(
            0 if seed is None else seed))
        patches += [(lib.beta_vae, "linear_model", logistic), (lib.modularity_explicitness, "linear_model", logistic)]
    if seed is not None:
        patches += [
            (lib.dci, "ensemble", types.SimpleNamespace(
                GradientBoostingClassifier=lambda: ensemble.GradientBoostingClassifier(random_state=seed))),
            (lib.sap_score, "svm", types.SimpleNamespace(
                LinearSVC=lambda **settings: svm.LinearSVC(random_state=seed, **settings))),
        ]
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches]
    try:
        for module, name, value in patches:
            setattr(module, name, value)
        yield lib
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


class ReferenceGroundTruth:
    """A gaekit :class:`GroundTruthData` behind disentanglement_lib's ground-truth interface (``num_factors``,
    ``factors_num_values``, ``sample_factors``, ``sample_observations_from_factors``, ``sample``,
    ``sample_observations``), drawing with their ``numpy.random.RandomState`` as their sources do: every factor
    uniformly and independently."""

    def __init__(self, data: GroundTruthData):
        if not isinstance(data, GroundTruthData):
            raise ConfigError(f"ReferenceGroundTruth: expected a gaekit GroundTruthData, got {type(data).__name__}")
        self.data = data
        self.factors_num_values = list(data.factor_sizes)

    @property
    def num_factors(self) -> int:
        return self.data.num_factors

    def sample_factors(self, num: int, random_state: np.random.RandomState) -> np.ndarray:
        return np.stack([random_state.randint(size, size=num) for size in self.factors_num_values], axis=1)

    def sample_observations_from_factors(self, factors: np.ndarray, random_state: np.random.RandomState) -> Any:
        return self.data.observe(np.asarray(factors, dtype=np.int64))

    def sample(self, num: int, random_state: np.random.RandomState) -> tuple[np.ndarray, Any]:
        factors = self.sample_factors(num, random_state)
        return factors, self.sample_observations_from_factors(factors, random_state)

    def sample_observations(self, num: int, random_state: np.random.RandomState) -> Any:
        return self.sample(num, random_state)[1]


def reference_scores(data: GroundTruthData, representation: Representation, metrics: Sequence[str] | None = None,
                     *, seed: int = 0, classifiers: str = "study",
                     settings: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, dict[str, float]]:
    """Scores of ``representation`` on ``data`` computed by disentanglement_lib, as in the study.

    Parameters
    ----------
    data : GroundTruthData
    representation : callable
        Observations to ``(n, D)`` codes (e.g. :func:`~gaekit.metrics.disentanglement.model_representation`).
    metrics : sequence of str, optional
        Names of :data:`REFERENCE_PROTOCOL`; default all six.
    seed : int, default 0
        Each metric draws from ``numpy.random.RandomState(seed)``, as their ``evaluation.random_seed``; it also
        seeds their classifiers (:func:`reference_protocol`).
    classifiers : {"study", "installed"}
        See :func:`reference_protocol`.
    settings : mapping, optional
        Per metric, keyword settings over the protocol's (e.g. ``{"dci": {"num_train": 1000}}``).

    Returns
    -------
    dict
        Metric name -> their score dictionary (floats), e.g. ``{"mig": {"discrete_mig": 0.12}}``.
    """
    names = list(REFERENCE_PROTOCOL) if metrics is None else list(metrics)
    settings = dict(settings or {})
    unknown = sorted({*names, *settings} - set(REFERENCE_PROTOCOL))
    if unknown:
        raise ConfigError(f"reference_scores: unknown metrics {unknown}; expected names of "
                          f"{sorted(REFERENCE_PROTOCOL)}")
    seed = check_seed(seed, "reference_scores: seed")
    source = ReferenceGroundTruth(data)

    def codes(observations: Any) -> np.ndarray:
        return encode(representation, observations, len(observations), "reference_scores")

    out: dict[str, dict[str, float]] = {}
    with reference_protocol(classifiers=classifiers, seed=seed) as lib:
        for name in names:
            module, function, protocol = REFERENCE_PROTOCOL[name]
            compute = getattr(getattr(lib, module), function)
            random_state = np.random.RandomState(seed % 2**32)
            scores = compute(source, codes, random_state, **{**protocol, **settings.get(name, {})})
            out[name] = {key: float(value) for key, value in scores.items()}
    return out
