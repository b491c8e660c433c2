"""Bad arguments to samplers and generation, and to the evaluation (``evaluate``, ``log_likelihood``)."""
# ruff: noqa: B008 -- a case binds its inputs as lambda defaults so that they exist before the snapshot

from __future__ import annotations

import numpy as np
import torch
from bad_inputs.harness import CaseList

from gaekit.errors import ConfigError, DataError

CASES = CaseList()


def _gmm(fx, **fields):
    from gaekit.samplers import GaussianMixtureSampler, GaussianMixtureSamplerConfig

    config = {"num_components": 2, "num_init": 1, "max_iter": 20, **fields}
    return GaussianMixtureSampler(fx.model(), GaussianMixtureSamplerConfig(**config))


def _normal(fx):
    from gaekit.samplers import NormalSampler

    return NormalSampler(fx.model())


def _fitted(fx):
    from gaekit.samplers import BaseSampler

    return BaseSampler.load_from_folder(fx.sampler_dir, fx.model())


def _maf(fx):
    from gaekit.samplers import MAFSampler, MAFSamplerConfig

    config = MAFSamplerConfig(num_epochs=1, include_batch_norm=True, show_progress=False, hidden_size=8)
    return MAFSampler(fx.model(), config)


def _pipeline(fx, config=None):
    from gaekit.pipelines import GenerationPipeline

    return GenerationPipeline(model=fx.model(), sampler_config=config)


def _gmm_config(**fields):
    from gaekit.samplers import GaussianMixtureSamplerConfig

    return GaussianMixtureSamplerConfig(**{"num_components": 2, "num_init": 1, "max_iter": 20, **fields})


# (id, description, make(fx) -> thunk, expected, the argument the message must name)
SAMPLING = [
    ("generate-negative", "model.generate(-1)", lambda fx: (lambda m=fx.model(): m.generate(-1)), ConfigError,
     "num_samples"),
    ("generate-float", "model.generate(2.5)", lambda fx: (lambda m=fx.model(): m.generate(2.5)), ConfigError,
     "num_samples"),
    ("generate-string", "model.generate('10')", lambda fx: (lambda m=fx.model(): m.generate("10")), ConfigError,
     "num_samples"),
    ("sample-prior-negative", "model.sample_prior(-1)", lambda fx: (lambda m=fx.model(): m.sample_prior(-1)),
     ConfigError, "num_samples"),
    ("sample-negative", "NormalSampler.sample(num_samples=-1)", lambda fx: (lambda s=_normal(fx): s.sample(-1)),
     ConfigError, "num_samples"),
    ("sample-too-many", "NormalSampler.sample(10**13): more samples than memory holds",
     lambda fx: (lambda s=_normal(fx): s.sample(10**13)), ConfigError, "num_samples"),
    ("generate-too-many", "model.generate(10**13): more samples than memory holds",
     lambda fx: (lambda m=fx.model(): m.generate(10**13)), ConfigError, "num_samples"),
    ("sample-batch-zero", "NormalSampler.sample(batch_size=0)",
     lambda fx: (lambda s=_normal(fx): s.sample(4, batch_size=0)), ConfigError, "batch_size"),
    ("sample-seed-huge", "NormalSampler.sample(seed=2**70)", lambda fx: (lambda s=_normal(fx): s.sample(4, seed=2**70)),
     ConfigError, "seed"),
    ("sample-seed-negative", "NormalSampler.sample(seed=-1)", lambda fx: (lambda s=_normal(fx): s.sample(4, seed=-1)),
     ConfigError, "seed"),
    ("sample-seed-bool", "NormalSampler.sample(seed=True)",
     lambda fx: (lambda s=_normal(fx): s.sample(4, seed=True)), ConfigError, "seed"),
    ("sample-seed-string", "NormalSampler.sample(seed='abc')",
     lambda fx: (lambda s=_normal(fx): s.sample(4, seed="abc")), ConfigError, "seed"),
    ("gmm-sample-unfitted", "GaussianMixtureSampler.sample before fit", lambda fx: (lambda s=_gmm(fx): s.sample(4)),
     "SamplerNotFittedError", "fit"),
    ("gmm-fit-none", "GaussianMixtureSampler.fit(None)", lambda fx: (lambda s=_gmm(fx): s.fit(None)), DataError,
     "train_data"),
    ("gmm-fit-wrong-shape", "GaussianMixtureSampler.fit on 7x7 images",
     lambda fx: (lambda s=_gmm(fx): s.fit(torch.rand(16, 1, 7, 7))), DataError, "train_data"),
    ("gmm-fit-nan", "GaussianMixtureSampler.fit on data with NaN",
     lambda fx: (lambda s=_gmm(fx), x=fx.x(): (x.__setitem__((0, 0, 0, 0), np.nan), s.fit(x))), DataError, "NaN"),
    ("gmm-fit-fewer-samples-than-components", "a 10-component GMM fitted on 4 samples",
     lambda fx: (lambda s=_gmm(fx, num_components=10): s.fit(fx.x(4))), (ConfigError, DataError), "num_components"),
    ("gmm-fit-batch-zero", "GaussianMixtureSampler.fit(batch_size=0)",
     lambda fx: (lambda s=_gmm(fx): s.fit(fx.x(), batch_size=0)), ConfigError, "batch_size"),
    ("fitted-sample-seed-huge", "a fitted GMM sampled with seed=2**64",
     lambda fx: (lambda s=_fitted(fx): s.sample(4, seed=2**64)), ConfigError, "seed"),
    ("vamp-with-vae", "VAMPSampler for a VAE", lambda fx: (lambda m=fx.model(): __import__(
        "gaekit.samplers", fromlist=["x"]).VAMPSampler(m)), ConfigError, "VAMP"),
    ("hypersphere-with-vae", "HypersphereUniformSampler for a VAE", lambda fx: (lambda m=fx.model(): __import__(
        "gaekit.samplers", fromlist=["x"]).HypersphereUniformSampler(m)), ConfigError, "SVAE"),
    ("rhvae-with-vae", "RHVAESampler for a VAE", lambda fx: (lambda m=fx.model(): __import__(
        "gaekit.samplers", fromlist=["x"]).RHVAESampler(m)), ConfigError, "RHVAE"),
    ("pixelcnn-with-vae", "PixelCNNSampler for a VAE", lambda fx: (lambda m=fx.model(): __import__(
        "gaekit.samplers", fromlist=["x"]).PixelCNNSampler(m)), ConfigError, "VQVAE"),
    ("poincare-with-vae", "PoincareDiskSampler for a VAE", lambda fx: (lambda m=fx.model(): __import__(
        "gaekit.samplers", fromlist=["x"]).PoincareDiskSampler(m)), ConfigError, "PoincareVAE"),
    ("maf-fit-one-sample", "a MAF sampler fitted on a single image", lambda fx: (
        lambda s=_maf(fx): s.fit(fx.x(1))), DataError, "sample"),
    ("maf-fit-eval-wrong-shape", "a MAF sampler fitted with 7x7 eval_data", lambda fx: (
        lambda s=_maf(fx): s.fit(fx.x(), torch.rand(8, 1, 7, 7))), DataError, "eval_data"),
    ("flow-sample-negative", "MAF flow .sample(-1)", lambda fx: (lambda: __import__("gaekit.flows", fromlist=["x"])
                                                                  .MAF(3).sample(-1)), ConfigError, "num_samples"),
    ("sampler-of-string", "NormalSampler('VAE'): not a model", lambda fx: (lambda: __import__(
        "gaekit.samplers", fromlist=["x"]).NormalSampler("VAE")), ConfigError, "str"),
    ("sampler-wrong-config", "NormalSampler(model, GaussianMixtureSamplerConfig())",
     lambda fx: (lambda m=fx.model(): __import__("gaekit.samplers", fromlist=["x"]).NormalSampler(m, _gmm_config())),
     ConfigError, "GaussianMixtureSamplerConfig"),
    ("pipeline-config-string", "GenerationPipeline(sampler_config='gmm')",
     lambda fx: (lambda: _pipeline(fx, "gmm")), ConfigError, "str"),
    ("pipeline-not-a-model", "GenerationPipeline(model='VAE')",
     lambda fx: (lambda: __import__("gaekit.pipelines", fromlist=["x"]).GenerationPipeline(model="VAE")(2)),
     ConfigError, "str"),
    ("pipeline-gmm-without-data", "GenerationPipeline with a GMM and no train_data",
     lambda fx: (lambda p=_pipeline(fx, _gmm_config()): p(num_samples=2)), DataError, "train_data"),
    ("pipeline-zero-samples", "GenerationPipeline(num_samples=0)",
     lambda fx: (lambda p=_pipeline(fx): p(num_samples=0)), ConfigError, "num_samples"),
    ("pipeline-negative-batch", "GenerationPipeline(batch_size=-5)",
     lambda fx: (lambda p=_pipeline(fx): p(num_samples=2, batch_size=-5)), ConfigError, "batch_size"),
    ("pipeline-seed-huge", "GenerationPipeline(seed=2**70)",
     lambda fx: (lambda p=_pipeline(fx): p(num_samples=2, seed=2**70)), ConfigError, "seed"),
    ("pipeline-gmm-wrong-shape-data", "GenerationPipeline GMM fitted on (N, 64) vectors",
     lambda fx: (lambda p=_pipeline(fx, _gmm_config()): p(num_samples=2, train_data=torch.rand(16, 64))),
     DataError, "train_data"),
    ("interpolate-one-step", "model.interpolate(x0, x1, steps=1)",
     lambda fx: (lambda m=fx.model(), x=torch.as_tensor(fx.x(2)): m.interpolate(x, x, steps=1)), ConfigError,
     "steps"),
    ("interpolate-float-steps", "model.interpolate(x0, x1, steps=2.5)",
     lambda fx: (lambda m=fx.model(), x=torch.as_tensor(fx.x(2)): m.interpolate(x, x, steps=2.5)), ConfigError,
     "steps"),
]


def _expected_class(expected):
    if expected == "SamplerNotFittedError":
        from gaekit.samplers.base import SamplerNotFittedError

        return SamplerNotFittedError
    return expected


for _id, _desc, _make, _expected, _word in SAMPLING:
    CASES.add(f"sampler-{_id}", "sampler", _desc, _expected_class(_expected), _word)(
        lambda tmp, fx, make=_make: make(fx))


@CASES.add("sampler-gmm-save-unfitted", "sampler", "GaussianMixtureSampler.save before fit",
           _expected_class("SamplerNotFittedError"), "fit")
def _(tmp, fx):
    return lambda s=_gmm(fx): s.save(tmp / "never")


# --------------------------------------------------------------------------------- evaluation
def _evaluate(fx, data=None, **kwargs):
    from gaekit.metrics import evaluate

    data = (fx.train, fx.val, fx.val) if data is None else data
    options = {"tasks": "reconstruction", "extractor": "none", **kwargs}
    return lambda m=fx.model(): evaluate(m, data, **options)


EVALUATION = [
    ("not-a-model", "evaluate('VAE', ...)", lambda fx: (lambda: __import__("gaekit.metrics", fromlist=["x"]).evaluate(
        "VAE", (fx.train, fx.val, fx.val))), ConfigError, "str"),
    ("unknown-task", "evaluate(tasks='dreaming')", lambda fx: _evaluate(fx, tasks="dreaming"), ConfigError,
     "dreaming"),
    ("no-tasks", "evaluate(tasks=[])", lambda fx: _evaluate(fx, tasks=[]), ConfigError, "tasks"),
    ("tasks-int", "evaluate(tasks=3): not a task name", lambda fx: _evaluate(fx, tasks=3), ConfigError, "tasks"),
    ("tasks-list-of-ints", "evaluate(tasks=[1, 2])", lambda fx: _evaluate(fx, tasks=[1, 2]), ConfigError, "tasks"),
    ("no-sampler", "evaluate(tasks='generation', sampler=[])",
     lambda fx: _evaluate(fx, tasks="generation", sampler=[]), ConfigError, "sampler"),
    ("unknown-sampler", "evaluate(sampler='magic')",
     lambda fx: _evaluate(fx, tasks="generation", sampler="magic", extractor="digits-classifier"), ConfigError,
     "magic"),
    ("unknown-extractor", "evaluate(extractor='telepathy')",
     lambda fx: _evaluate(fx, extractor="telepathy"), ConfigError, "telepathy"),
    ("wrong-shape-test", "evaluate with 7x7 test images",
     lambda fx: _evaluate(fx, (fx.train, fx.val, torch.rand(8, 1, 7, 7))), DataError, "test"),
    ("nan-test", "evaluate with a NaN test pixel",
     lambda fx: _evaluate(fx, (fx.train, fx.val, fx.x(8) * np.nan)), DataError, "NaN"),
    ("two-splits", "evaluate with a (train, test) pair", lambda fx: _evaluate(fx, (fx.train, fx.val)), DataError,
     "data"),
    ("unknown-split-key", "evaluate with a dict holding a 'valid' key",
     lambda fx: _evaluate(fx, {"train": fx.train, "valid": fx.val, "test": fx.val}), DataError, "valid"),
    ("missing-test", "evaluate reconstruction without a test split",
     lambda fx: _evaluate(fx, {"train": fx.train, "validation": fx.val}), DataError, "test"),
    ("classification-without-labels", "evaluate classification on data without labels",
     lambda fx: _evaluate(fx, (fx.x(), fx.x(8), fx.x(8)), tasks="classification", classification_runs=1,
                          classification_epochs=1), DataError, "label"),
    ("unknown-setting", "evaluate(clasification_runs=5)", lambda fx: _evaluate(fx, clasification_runs=5),
     ConfigError, "clasification_runs"),
    ("bad-setting", "evaluate(num_generated=1)", lambda fx: _evaluate(fx, num_generated=1), ConfigError,
     "num_generated"),
    ("zero-runs-setting", "evaluate(tasks='clustering', clustering_runs=0)",
     lambda fx: _evaluate(fx, tasks="clustering", clustering_runs=0), ConfigError, "clustering_runs"),
    ("seed-huge-setting", "evaluate(seed=2**70)", lambda fx: _evaluate(fx, seed=2**70), ConfigError, "seed"),
    ("trainer-evaluate-no-data", "trainer.evaluate() with no eval_data given", lambda fx: (
        lambda: __import__("gaekit.trainers", fromlist=["x"]).Trainer(
            fx.model(), fx.trainer_config(fx.root, output_dir=None), fx.x()).evaluate()), ConfigError, "eval"),
    ("sampler-of-other-model", "evaluate with a sampler built for another model",
     lambda fx: _evaluate(fx, tasks="generation", sampler=_normal(fx), extractor="digits-classifier"), ConfigError,
     "model"),
    ("config-dict", "evaluate(config={'batch_size': 5})", lambda fx: _evaluate(fx, config={"batch_size": 5}),
     ConfigError, "config"),
    ("log-likelihood-zero", "model.log_likelihood(x, 0)",
     lambda fx: (lambda m=fx.model(), x=torch.as_tensor(fx.x(4)): m.log_likelihood(x, 0)), ConfigError,
     "num_importance_samples"),
    ("log-likelihood-negative", "model.log_likelihood(x, -3)",
     lambda fx: (lambda m=fx.model(), x=torch.as_tensor(fx.x(4)): m.log_likelihood(x, -3)), ConfigError,
     "num_importance_samples"),
    ("log-likelihood-float", "model.log_likelihood(x, 2.5)",
     lambda fx: (lambda m=fx.model(), x=torch.as_tensor(fx.x(4)): m.log_likelihood(x, 2.5)), ConfigError,
     "num_importance_samples"),
    ("log-likelihood-chunk-zero", "model.log_likelihood(x, 5, chunk_size=0)",
     lambda fx: (lambda m=fx.model(), x=torch.as_tensor(fx.x(4)): m.log_likelihood(x, 5, chunk_size=0)),
     ConfigError, "chunk_size"),
]



def _disentanglement(latent_dim=2, sizes=(3, 4), **settings):
    """``evaluate(tasks='disentanglement')`` of a small AE on a synthetic source of ``sizes`` factors."""
    from gaekit import create_model
    from gaekit.metrics import evaluate
    from gaekit.metrics.disentanglement import SyntheticGroundTruth

    model = create_model("AE", input_dim=[len(sizes)], latent_dim=latent_dim, network_options={"hidden_dims": [4]})
    return lambda: evaluate(model, tasks="disentanglement", ground_truth=SyntheticGroundTruth(sizes),
                            disentanglement_num_train=20, disentanglement_num_test=10, **settings)


def _metric(name, *args, **kwargs):
    """A disentanglement metric function called on small codes and factors."""
    import gaekit.metrics.disentanglement as metrics

    rng = np.random.default_rng(0)
    factors = rng.integers(3, size=(40, 2))
    codes = factors + 0.1 * rng.standard_normal((40, 2))
    return lambda: getattr(metrics, name)(*(args or (codes, factors, codes, factors)), **kwargs)


def _sklearn_trees():
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier()


def _factor_vae(**kwargs):
    """``factor_vae_score`` of the identity representation of a synthetic source."""
    from gaekit.metrics.disentanglement import SyntheticGroundTruth, factor_vae_score

    return lambda: factor_vae_score(SyntheticGroundTruth((3, 4)), lambda x: np.asarray(x, dtype=float), **kwargs)


def _reference(name, **kwargs):
    """A call of ``gaekit.metrics.disentanglement.reference`` (disentanglement_lib's code on a gaekit source)."""
    from gaekit.metrics.disentanglement import SyntheticGroundTruth, reference

    if name == "ReferenceGroundTruth":
        return lambda: reference.ReferenceGroundTruth({"factor_sizes": [3]})
    return lambda: reference.reference_scores(SyntheticGroundTruth((3, 4)), lambda x: x, **kwargs)


EVALUATION += [
    ("disentanglement-mig-one-code", "evaluate(tasks='disentanglement') with MIG of a 1-dimensional code",
     lambda fx: _disentanglement(latent_dim=1, disentanglement_metrics=("beta_vae", "mig")), ConfigError,
     "mig needs at least 2 code"),
    ("disentanglement-modularity-one-factor", "evaluate(tasks='disentanglement') with Modularity on one factor",
     lambda fx: _disentanglement(sizes=(5,), disentanglement_metrics=("modularity_explicitness",)), ConfigError,
     "2 factor"),
    ("disentanglement-batch-one", "evaluate(tasks='disentanglement', disentanglement_batch_size=1) with FactorVAE",
     lambda fx: _disentanglement(disentanglement_batch_size=1), ConfigError, "disentanglement_batch_size"),
    ("dci-classifier-instance", "dci(classifier=GradientBoostingClassifier()): an instance, not a factory",
     lambda fx: _metric("dci", classifier=_sklearn_trees()), ConfigError, "function of the seed"),
    ("mig-negative-information", "mig_from_mutual_info with a negative mutual information",
     lambda fx: _metric("mig_from_mutual_info", [[-1.0, 0.5], [0.5, 0.2]], [1.0, 1.0]), DataError, ">= 0"),
    ("factor-vae-one-variance-sample", "factor_vae_score(num_variance_estimate=1)",
     lambda fx: _factor_vae(num_variance_estimate=1), ConfigError, "num_variance_estimate"),
    ("sap-seed-huge", "sap(seed=2**70): past [0, 2**63) (seeds up to that work, above scikit-learn's 2**32)",
     lambda fx: _metric("sap", seed=2**70), ConfigError, "seed"),
    ("reference-unknown-metric", "reference_scores(source, representation, ['irs']): a disentanglement_lib metric "
     "gaekit does not run", lambda fx: _reference("reference_scores", metrics=["irs"]), ConfigError, "unknown metrics"),
    ("reference-classifiers", "reference_scores(classifiers='sklearn-0.20'): not 'study' or 'installed'",
     lambda fx: _reference("reference_scores", metrics=["mig"], classifiers="sklearn-0.20"), ConfigError,
     "classifiers"),
    ("reference-not-a-source", "ReferenceGroundTruth({'factor_sizes': [3]}): not a gaekit ground-truth source",
     lambda fx: _reference("ReferenceGroundTruth"), ConfigError, "GroundTruthData"),
]

for _id, _desc, _make, _expected, _word in EVALUATION:
    CASES.add(f"evaluation-{_id}", "evaluation", _desc, _expected, _word)(lambda tmp, fx, make=_make: make(fx))
