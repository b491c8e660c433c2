"""gaekit's disentanglement metrics against disentanglement_lib, the implementation behind Locatello et al.
2019's published scores, run beside them (the ``disentanglement_lib`` extra, in ``dev``).

- On the same arrays, over representations drawn by hypothesis (the factors themselves, rotations, entangled
  non-linear mixtures, collapsed and duplicated codes, discrete-valued codes): the same discretisation, mutual
  information and entropies, MIG, Modularity, Explicitness, SAP (discrete and continuous factors) and DCI, to
  rounding. Their DCI adds 1e-11 to every importance before its entropies, which moves a score by up to about
  K 1e-11 ln(1e11), hence a tolerance of 1e-8 there.
- The beta-VAE and FactorVAE scores, which sample their own batches: their code is replayed on the draws
  gaekit made (each factor index and factor batch, recorded), and must give the same scores exactly.
- On independent draws (their ``RandomState``, gaekit's ``Generator``), all six metrics agree to sampling error.

Classifiers: their DCI trees and SAP SVMs run unseeded, so they are seeded here (``reference_protocol(seed=)``);
their ``LogisticRegression()`` gets the study's scikit-learn defaults (see
:func:`gaekit.metrics.disentanglement.reference.reference_protocol`).
"""

from __future__ import annotations

import importlib.resources
import inspect
import re
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("disentanglement_lib", reason="needs the disentanglement_lib extra (installed by the dev extra)")

from gaekit.errors import ConfigError  # noqa: E402
from gaekit.metrics.disentanglement import (  # noqa: E402
    METRICS,
    SyntheticGroundTruth,
    beta_vae_score,
    dci,
    dci_from_importance,
    discrete_entropy,
    discrete_mutual_info,
    explicitness,
    factor_vae_score,
    histogram_discretize,
    mig,
    modularity,
    sap,
)
from gaekit.metrics.disentanglement._arrays import protocol_logistic  # noqa: E402
from gaekit.metrics.disentanglement.reference import (  # noqa: E402
    REFERENCE_NUM_BINS,
    REFERENCE_PROTOCOL,
    REFERENCE_PRUNE_THRESHOLD,
    ReferenceGroundTruth,
    load_disentanglement_lib,
    reference_protocol,
    reference_scores,
)

SHAPES = ("factors", "rotation", "mixture", "collapsed", "duplicated", "discrete")


def _every_value(sizes: list[int], n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, K)`` factor rows in which every value of every factor occurs (their Explicitness needs each class
    in both samples)."""
    return np.stack([rng.permutation(np.resize(np.arange(size), n)) for size in sizes], axis=1)


def _representation(shape: str, num_factors: int, dim: int, rng: np.random.Generator):
    """A deterministic row-wise function of factor rows to ``(n, dim)`` codes, of the kind ``shape``."""
    mix = rng.standard_normal((num_factors, dim))
    if shape == "factors":  # each factor in its own code, scaled, the rest pure functions of noise-free factors
        mix = np.zeros((num_factors, dim))
        mix[np.arange(num_factors), rng.permutation(dim)[:num_factors]] = rng.uniform(0.5, 2, num_factors)
    elif shape == "rotation":
        mix = mix @ np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    wobble = rng.standard_normal((num_factors, dim))

    def codes(factors: np.ndarray) -> np.ndarray:
        f = np.asarray(factors, dtype=np.float64)
        z = f @ mix
        if shape in ("mixture", "collapsed", "duplicated", "discrete"):
            z = np.tanh(z / 3) + 0.2 * np.sin(7 * f @ wobble)  # entangled, with a deterministic "noise"
        if shape == "collapsed":
            z[:, 0] = 0.25  # a dead code
        if shape == "duplicated":
            z[:, -1] = z[:, 0]
        if shape == "discrete":
            z = np.round(4 * z)
        return z

    return codes


@st.composite
def cases(draw, min_dim: int = 2):
    """Train/test ``(codes, factors)`` of one random representation, and a bin count."""
    sizes = draw(st.lists(st.integers(2, 6), min_size=2, max_size=4))
    dim = draw(st.integers(max(min_dim, len(sizes)), len(sizes) + 2))
    shape = draw(st.sampled_from(SHAPES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(60, 240))
    codes = _representation(shape, len(sizes), dim, rng)
    y, yt = _every_value(sizes, n, rng), _every_value(sizes, n // 2, rng)
    return codes(y), y, codes(yt), yt, draw(st.integers(2, 30)), shape


PARITY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def lib():
    return load_disentanglement_lib()


@PARITY
@given(cases())
def test_discretisation_mutual_information_and_entropy_match(lib, case):
    z, y, _, _, bins, _ = case
    ours = histogram_discretize(z, bins)
    theirs = lib.utils._histogram_discretize(z.T, num_bins=bins).T
    assert np.array_equal(ours, theirs)
    np.testing.assert_allclose(discrete_mutual_info(ours, y), lib.utils.discrete_mutual_info(theirs.T, y.T),
                               rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(discrete_entropy(y), lib.utils.discrete_entropy(y.T), rtol=1e-12)


@PARITY
@given(cases())
def test_mig_and_modularity_match(lib, case):
    z, y, _, _, _, shape = case
    with reference_protocol() as ref:
        theirs_mig = ref.mig._compute_mig(z.T, y.T)["discrete_mig"]
        mi = ref.utils.discrete_mutual_info(ref.utils.make_discretizer(z.T), y.T)
    with np.errstate(divide="ignore", invalid="ignore"):  # their 0/0 for a code with no information
        theirs_modularity = ref.modularity_explicitness.modularity(mi)
    assert mig(z, y)["discrete_mig"] == pytest.approx(theirs_mig, rel=1e-12, abs=1e-14)
    assert modularity(z, y)["modularity_score"] == pytest.approx(theirs_modularity, rel=1e-12, abs=1e-14)


@PARITY
@given(cases())
def test_explicitness_matches(lib, case):
    z, y, zt, yt, _, shape = case
    varying = z.std(0) > 0  # their standardisation divides a constant code by 0 (gaekit scales it by 1)
    z, zt = z[:, varying], zt[:, varying]
    ours = explicitness(z, y, zt, yt, seed=3)
    with reference_protocol(seed=3) as ref:
        z_norm, mean, std = ref.utils.normalize_data(z.T)
        zt_norm, _, _ = ref.utils.normalize_data(zt.T, mean, std)
        per_factor = [ref.modularity_explicitness.explicitness_per_factor(z_norm, y[:, k], zt_norm, yt[:, k])
                      for k in range(y.shape[1])]
    assert ours["explicitness_score_train"] == pytest.approx(np.mean([p[0] for p in per_factor]), rel=1e-9)
    assert ours["explicitness_score_test"] == pytest.approx(np.mean([p[1] for p in per_factor]), rel=1e-9)


@PARITY
@given(cases(), st.booleans())
def test_sap_matches(lib, case, continuous):
    z, y, zt, yt, _, _ = case
    with reference_protocol(seed=5) as ref:
        theirs = ref.sap_score._compute_sap(z.T, y.T, zt.T, yt.T, continuous)["SAP_score"]
    ours = sap(z, y, zt, yt, continuous_factors=continuous, seed=5)["sap_score"]
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-14)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_dci_matches(lib, case):
    z, y, zt, yt, _, _ = case
    with reference_protocol(seed=11) as ref:
        theirs = ref.dci._compute_dci(z.T, y.T, zt.T, yt.T)
    ours = dci(z, y, zt, yt, seed=11)
    for key in ("disentanglement", "completeness"):
        assert ours[key] == pytest.approx(theirs[key], abs=1e-8)
    for key in ("informativeness_train", "informativeness_test"):
        assert ours[key] == theirs[key]


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.integers(2, 6), st.integers(0, 2**32 - 1), st.floats(0, 0.6))
def test_dci_from_importance_matches(lib, codes, factors, seed, zero_share):
    """Importance matrices with zero entries, rows and columns (one code or one factor is left out: their
    entropy of base 1 divides by log 1 = 0)."""
    rng = np.random.default_rng(seed)
    importance = rng.exponential(size=(codes, factors)) * (rng.random((codes, factors)) >= zero_share)
    if importance.sum() > 0:  # totals of K, as for feature importances (each classifier's sum to 1), so that
        importance *= factors / importance.sum()  # their 1e-11 is as small against them as in a DCI run
    ours = dci_from_importance(importance)
    assert ours["disentanglement"] == pytest.approx(lib.dci.disentanglement(importance), abs=1e-8)
    assert ours["completeness"] == pytest.approx(lib.dci.completeness(importance), abs=1e-8)


class RecordingGroundTruth(SyntheticGroundTruth):
    """A synthetic source that records every factor index gaekit fixes and every batch of rows it observes."""

    def __init__(self, sizes, observe):
        super().__init__(sizes, observe)
        self.fixed: list[int] = []
        self.batches: list[np.ndarray] = []

    def observe(self, factors):
        self.batches.append(np.array(factors))
        return super().observe(factors)

    def sample_pairs(self, factor, num, rng):
        self.fixed.append(factor)
        return super().sample_pairs(factor, num, rng)

    def sample_fixed_factor(self, factor, num, rng, value=None):
        self.fixed.append(factor)
        return super().sample_fixed_factor(factor, num, rng, value)


class Replay(ReferenceGroundTruth):
    """disentanglement_lib's source and random state in one, answering each draw with the next one gaekit made:
    ``randint`` the next fixed factor, ``sample_factors`` the next batch of rows."""

    def __init__(self, recorded: RecordingGroundTruth, factor_batches: list[np.ndarray],
                 variance_rows: np.ndarray | None = None):
        super().__init__(SyntheticGroundTruth(recorded.factor_sizes))
        self.fixed, self.factor_batches = iter(recorded.fixed), iter(factor_batches)
        self.variance_rows = variance_rows

    def randint(self, high):
        return next(self.fixed)

    def sample_factors(self, num, random_state):
        rows = next(self.factor_batches)
        assert rows.shape[0] == num
        return rows.copy()

    def sample_observations(self, num, random_state):
        assert self.variance_rows is not None and self.variance_rows.shape[0] == num
        return self.sample_observations_from_factors(self.variance_rows, random_state)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(2, 5), min_size=2, max_size=4), st.sampled_from(SHAPES), st.integers(0, 2**32 - 1),
       st.integers(2, 12))
def test_beta_vae_score_matches_on_the_same_draws(lib, sizes, shape, seed, batch_size):
    codes = _representation(shape, len(sizes), len(sizes) + 1, np.random.default_rng(seed))
    recorded = RecordingGroundTruth(sizes, codes)
    ours = beta_vae_score(recorded, lambda x: x, batch_size=batch_size, num_train=120, num_eval=60, seed=seed,
                          classifier=lambda state: protocol_logistic(0))
    pairs = [half for rows in recorded.batches for half in (rows[:batch_size], rows[batch_size:])]
    replay = Replay(recorded, pairs)
    with reference_protocol(seed=0) as ref:
        theirs = ref.beta_vae.compute_beta_vae_sklearn(replay, codes, replay, batch_size=batch_size, num_train=120,
                                                       num_eval=60)
    assert (ours["train_accuracy"], ours["eval_accuracy"]) == (theirs["train_accuracy"], theirs["eval_accuracy"])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(2, 5), min_size=2, max_size=4), st.sampled_from(SHAPES), st.integers(0, 2**32 - 1),
       st.integers(2, 40))
def test_factor_vae_score_matches_on_the_same_draws(lib, sizes, shape, seed, batch_size):
    """Including a pruned code ("collapsed"): their vote table keeps a column per code and files the votes of
    the active ones in its first columns, which leaves the majority-vote accuracy as gaekit's."""
    codes = _representation(shape, len(sizes), len(sizes) + 1, np.random.default_rng(seed))
    recorded = RecordingGroundTruth(sizes, codes)
    ours = factor_vae_score(recorded, lambda x: x, batch_size=batch_size, num_train=150, num_eval=80,
                            num_variance_estimate=500, seed=seed)
    variance_calls = -(-500 // batch_size)
    variance_rows = np.concatenate(recorded.batches[:variance_calls])
    replay = Replay(recorded, recorded.batches[variance_calls:], variance_rows)
    with reference_protocol() as ref:
        theirs = ref.factor_vae.compute_factor_vae(replay, codes, replay, batch_size=batch_size, num_train=150,
                                                   num_eval=80, num_variance_estimate=500)
    assert (ours["train_accuracy"], ours["eval_accuracy"]) == (theirs["train_accuracy"], theirs["eval_accuracy"])


def test_every_metric_agrees_on_independent_draws():
    """Their code with their own draws (``RandomState``) against gaekit with its own, on an entangled synthetic
    representation: the same values to within sampling error at these counts."""
    sizes = [3, 5, 8]
    codes = _representation("mixture", len(sizes), 4, np.random.default_rng(0))
    data = SyntheticGroundTruth(sizes, codes)
    counts = {"beta_vae": {"num_train": 1000, "num_eval": 1000},
              "factor_vae": {"num_train": 2000, "num_eval": 2000, "num_variance_estimate": 2000},
              "mig": {"num_train": 4000}, "sap": {"num_train": 2000, "num_test": 1000},
              "dci": {"num_train": 1000, "num_test": 500}, "modularity_explicitness": {"num_train": 4000,
                                                                                      "num_test": 2000}}
    theirs = reference_scores(data, lambda x: x, settings=counts, seed=1)
    ours = {name: METRICS[name](data, lambda x: x, seed=1, **counts[name]) for name in counts}
    pairs = [("beta_vae", "eval_accuracy", "eval_accuracy", 0.04),
             ("factor_vae", "eval_accuracy", "eval_accuracy", 0.04),
             ("mig", "discrete_mig", "discrete_mig", 0.02), ("sap", "sap_score", "SAP_score", 0.02),
             ("dci", "disentanglement", "disentanglement", 0.04), ("dci", "completeness", "completeness", 0.04),
             ("dci", "informativeness_test", "informativeness_test", 0.04),
             ("modularity_explicitness", "modularity_score", "modularity_score", 0.02),
             ("modularity_explicitness", "explicitness_score_test", "explicitness_score_test", 0.02)]
    for name, our_key, their_key, tolerance in pairs:
        assert ours[name][our_key] == pytest.approx(theirs[name][their_key], abs=tolerance), (name, our_key)
    assert 0.1 < ours["mig"]["discrete_mig"] < 0.9  # a representation between the extremes, so agreement says much


def _study_config(name: str) -> dict[str, str]:
    """The bindings of disentanglement_lib's ``unsupervised_study_v1`` metric configuration ``name``.gin."""
    folder = importlib.resources.files("disentanglement_lib") / "config" / "unsupervised_study_v1" / "metric_configs"
    text = (folder / f"{name}.gin").read_text()
    return dict(re.findall(r"^\s*([\w.]+)\s*=\s*(\S+)\s*$", text, flags=re.M))


@pytest.mark.parametrize(("metric", "config"), [("beta_vae", "beta_vae_sklearn"), ("factor_vae", "factor_vae_metric"),
                                                ("mig", "mig"), ("sap", "sap_score"), ("dci", "dci"),
                                                ("modularity_explicitness", "modularity_explicitness")])
def test_protocol_is_the_study_configuration_and_gaekit_defaults(metric, config):
    bindings = _study_config(config)
    _, function, protocol = REFERENCE_PROTOCOL[metric]
    scope = bindings["evaluation.evaluation_fn"].lstrip("@")
    for key, value in protocol.items():
        assert str(value) == bindings[f"{scope}.{key}"], (metric, key)
    assert sum(key.startswith(f"{scope}.") for key in bindings) == len(protocol)
    if "discretizer.num_bins" in bindings:
        assert int(bindings["discretizer.num_bins"]) == REFERENCE_NUM_BINS
    if "prune_dims.threshold" in bindings:
        assert float(bindings["prune_dims.threshold"]) == REFERENCE_PRUNE_THRESHOLD
    defaults = {k: p.default for k, p in inspect.signature(METRICS[metric]).parameters.items()
                if p.default is not inspect.Parameter.empty}
    assert {key: defaults[key] for key in protocol} == protocol  # gaekit's defaults are the study's
    assert defaults.get("num_bins", REFERENCE_NUM_BINS) == REFERENCE_NUM_BINS
    assert defaults.get("prune_threshold", REFERENCE_PRUNE_THRESHOLD) == REFERENCE_PRUNE_THRESHOLD


def test_reference_protocol_undoes_its_settings(lib):
    before = {(m, a): getattr(getattr(lib, m), a) for m, a in [("utils", "make_discretizer"),
                                                               ("factor_vae", "_prune_dims"), ("dci", "ensemble"),
                                                               ("sap_score", "svm"), ("beta_vae", "linear_model")]}
    with pytest.raises(RuntimeError, match="inside"), reference_protocol(seed=1) as ref:
        assert ref.factor_vae._prune_dims(np.array([0.04**2, 0.06**2])).tolist() == [False, True]
        assert ref.utils.make_discretizer(np.array([[0.0, 1.0, 2.0]])).max() == REFERENCE_NUM_BINS
        raise RuntimeError("inside")
    assert all(getattr(getattr(lib, m), a) is value for (m, a), value in before.items())


def test_installed_classifier_is_not_the_studys(lib):
    """Why the beta-VAE score and Explicitness get the study's classifier: today's default differs in value."""
    rng = np.random.default_rng(0)
    y = _every_value([4, 3], 300, rng)
    z = _representation("mixture", 2, 3, rng)(y)
    z_norm = lib.utils.normalize_data(z.T)[0]
    with reference_protocol(classifiers="installed") as ref:
        installed = ref.modularity_explicitness.explicitness_per_factor(z_norm, y[:, 0], z_norm, y[:, 0])
    with reference_protocol(classifiers="study") as ref:
        study = ref.modularity_explicitness.explicitness_per_factor(z_norm, y[:, 0], z_norm, y[:, 0])
    assert abs(installed[0] - study[0]) > 1e-4
    assert study[0] == pytest.approx(explicitness(z, y[:, :1], z, y[:, :1])["explicitness_score_train"], rel=1e-9)


def test_clear_errors():
    data = SyntheticGroundTruth([2, 3])
    with pytest.raises(ConfigError, match="unknown metrics"):
        reference_scores(data, lambda x: x, ["irs"])
    with pytest.raises(ConfigError, match="classifiers"):
        reference_scores(data, lambda x: x, ["mig"], classifiers="sklearn-0.20")
    with pytest.raises(ConfigError, match="GroundTruthData"):
        ReferenceGroundTruth(object())


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "disentanglement_lib", None)
    with pytest.raises(ModuleNotFoundError, match=r"gaekit\[disentanglement_lib\]"):
        load_disentanglement_lib()
