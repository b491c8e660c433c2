"""End-to-end evaluation: every task on a model trained on real data (digits in the default suite,
10k MNIST images in the slow one), the JSON result, the PNG grids, the CLI, and the errors."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from gaekit.errors import ConfigError, DataError
from gaekit.metrics import (
    DEFAULT_TASKS,
    EvaluationConfig,
    EvaluationData,
    EvaluationResult,
    evaluate,
    resolve_extractor,
)
from gaekit.models import AE, VAE, AEConfig, VAEConfig
from gaekit.trainers import Trainer, TrainerConfig

QUICK = {"classification_runs": 3, "classification_epochs": 3, "clustering_runs": 3, "num_generated": 300,
         "nll_num_test": 60, "num_importance_samples": 20}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("gaekit-cache")


@pytest.fixture(autouse=True)
def private_cache(cache, monkeypatch):
    """Never read or write the user's cache folder."""
    monkeypatch.setenv("GAEKIT_CACHE_DIR", str(cache))


def _trained(model_cls, config_cls, train, val, epochs, tmp, latent_dim=8):
    torch.manual_seed(0)
    model = model_cls(config_cls(input_dim=train.sample_shape, latent_dim=latent_dim, reconstruction_loss="bce"))
    config = TrainerConfig(num_epochs=epochs, batch_size=64, learning_rate=2e-3, output_dir=str(tmp),
                           show_progress=False, seed=0)
    Trainer(model, config, train, val).train()
    return model


@pytest.fixture(scope="module")
def digits_vae(digits, tmp_path_factory):
    return _trained(VAE, VAEConfig, digits[0], digits[1], 10, tmp_path_factory.mktemp("vae"))


def _png_ok(path):
    from PIL import Image

    with Image.open(path) as im:
        im.verify()
        return im.format == "PNG"


def test_every_task_on_digits(digits_vae, digits, tmp_path, cache):
    out = tmp_path / "eval"
    result = evaluate(digits_vae, digits, sampler=["normal", "gmm"], dataset="digits", output_dir=out,
                      cache_dir=cache, **QUICK)
    assert result.tasks == list(DEFAULT_TASKS) and not result.notes
    assert result.extractor["fid_key"] == "fid_digits_classifier"
    rec = result.reconstruction
    mean_image_mse = float(((digits[2].as_float() - digits[0].as_float().mean(0)) ** 2).mean())
    assert 0 < rec["mse"] < mean_image_mse and rec["fid_digits_classifier"] > 0 and rec["num_test"] == 300
    assert set(result.generation) == {"NormalSampler", "GaussianMixtureSampler"}
    for entry in result.generation.values():
        assert entry["num_samples"] == 300 and entry["fid_digits_classifier"] > 0
        assert 1.0 <= entry["is_digits_classifier"] <= 10.0
    assert 1.0 < result.reference["is_digits_classifier"] <= 10.0
    cls = result.classification
    assert cls["runs"] == 3 and len(cls["test_accuracies"]) == 3 and cls["test_accuracy_mean"] > 0.4  # chance: 0.1
    assert result.clustering["runs"] == 3 and result.clustering["accuracy_mean"] > 0.3
    assert result.nll["num_test"] == 60 and result.nll["nll"] > 0
    assert set(result.timings) == {"extractor", *DEFAULT_TASKS}
    for key in ("reconstructions", "samples_NormalSampler", "samples_GaussianMixtureSampler", "interpolation",
                "traversal"):
        assert _png_ok(result.files[key]), key
    assert result.interpolation["pairs"] == 8 and result.interpolation["traversal_dims"] == 8
    # JSON round trip, and the headline numbers
    saved = json.loads((out / "metrics.json").read_text())
    assert saved == result.to_dict()
    assert EvaluationResult.from_json(out / "metrics.json").to_dict() == result.to_dict()
    flat = result.metrics()
    assert "generation/GaussianMixtureSampler/fid_digits_classifier" in flat and "nll/nll" in flat
    assert "fid_digits_classifier" in result.summary()


def test_seeded_results_repeat(digits_vae, digits, cache):
    kwargs = dict(tasks="generation,classification,clustering,nll", sampler="gmm", dataset="digits",
                  cache_dir=cache, **QUICK)
    a, b = evaluate(digits_vae, digits, **kwargs), evaluate(digits_vae, digits, **kwargs)
    for task in ("classification", "clustering", "nll"):
        assert getattr(a, task) == getattr(b, task), task
    gen_a, gen_b = a.generation["GaussianMixtureSampler"], b.generation["GaussianMixtureSampler"]
    for key in ("fid_digits_classifier", "is_digits_classifier"):
        assert gen_a[key] == gen_b[key]


def test_ae_custom_extractor_no_nll_and_fitted_sampler(digits, tmp_path):
    from gaekit.samplers import GaussianMixtureSampler, GaussianMixtureSamplerConfig

    model = _trained(AE, AEConfig, digits[0], digits[1], 3, tmp_path)
    torch.manual_seed(0)
    projection = nn.Sequential(nn.Flatten(), nn.Linear(64, 12))  # features only: FID but no IS
    sampler = GaussianMixtureSampler(model, GaussianMixtureSamplerConfig(num_components=3)).fit(digits[0])
    sampler.fit = lambda *a, **k: pytest.fail("a fitted sampler was fitted again")
    result = evaluate(model, digits, tasks=["reconstruction", "generation", "nll"], sampler=sampler,
                      extractor=projection, num_generated=200)
    assert result.tasks == ["reconstruction", "generation"] and "no log_likelihood" in result.notes["nll"]
    assert result.extractor["fid_key"] == "fid_custom" and result.reconstruction["fid_custom"] >= 0
    assert set(result.generation["GaussianMixtureSampler"]) >= {"fid_custom", "num_samples"}
    assert "is_custom" not in result.generation["GaussianMixtureSampler"] and result.reference is None


def test_no_extractor_skips_fid_and_generation(digits_vae, digits):
    result = evaluate(digits_vae, digits, tasks="reconstruction,generation", extractor="none")
    assert set(result.reconstruction) == {"mse", "num_test"} and result.generation is None
    assert "feature extractor" in result.notes["generation"] and result.tasks == ["reconstruction"]


def test_interpolation_without_output_dir_notes_it(digits_vae, digits):
    result = evaluate(digits_vae, digits, tasks="interpolation", interpolation_pairs=2, traversal_dims=3)
    assert result.interpolation["interpolation_png"] is None and "no output_dir" in result.notes["interpolation"]


def test_errors_name_the_problem(digits_vae, digits):
    train, val, test = digits
    with pytest.raises(ConfigError, match="tasks"):
        evaluate(digits_vae, digits, tasks="reconstruction,ranking")
    with pytest.raises(DataError, match="validation split is missing; the task.s. classification"):
        evaluate(digits_vae, EvaluationData(train=train, test=test), tasks="classification")
    with pytest.raises(DataError, match="labels"):
        evaluate(digits_vae, (train.data, val.data, test.data), tasks="clustering")
    with pytest.raises(DataError, match="input_dim"):
        evaluate(digits_vae, (train, val, torch.rand(5, 1, 9, 9)), tasks="reconstruction", extractor="none")
    with pytest.raises(ConfigError, match="unknown field"):
        evaluate(digits_vae, digits, tasks="nll", nll_samples=3)
    with pytest.raises(ConfigError, match="clustering_runs"):
        EvaluationConfig(clustering_runs=0)
    with pytest.raises(ConfigError, match="unknown sampler"):
        evaluate(digits_vae, digits, tasks="generation", sampler="fancy", extractor=nn.Flatten())
    with pytest.raises(DataError, match="data must be"):
        evaluate(digits_vae, [train, test], tasks="reconstruction")


def test_auto_extractor_choice(cache):
    assert resolve_extractor("auto", input_shape=(1, 8, 8), dataset="digits", cache_dir=cache).name == \
        "digits_classifier"
    with pytest.raises(ConfigError, match="no feature extractor"):
        resolve_extractor("auto", input_shape=(3, 32, 32), cache_dir=cache)
    assert resolve_extractor("none") is None


def test_cli_evaluate(digits_vae, tmp_path, cache):
    from gaekit.cli import main

    folder = digits_vae.save(tmp_path / "model")
    out = tmp_path / "eval"
    rc = main(["evaluate", str(folder), "--dataset", "digits", "--tasks", "reconstruction,generation,clustering,"
               "interpolation,nll", "--sampler", "normal,gmm", "--n-components", "5", "--clustering-runs", "2",
               "--num-samples", "100", "--nll-num-test", "20", "--nll-samples", "5", "--out", str(out),
               "--cache-dir", str(cache), "--no-progress"])
    assert rc == 0
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["clustering"]["runs"] == 2 and saved["nll"]["num_test"] == 20
    assert saved["generation"]["GaussianMixtureSampler"]["sampler_config"]["num_components"] == 5
    assert (out / "interpolation.png").is_file() and (out / "traversal.png").is_file()
    assert main(["evaluate", str(folder), "--dataset", "digits", "--tasks", "ranking", "--out", str(out)]) == 2


@pytest.mark.slow
def test_every_task_on_a_model_trained_on_10k_mnist_images(mnist_dir, tmp_path, cache):
    from gaekit.data import load_mnist

    train = load_mnist("train", root=mnist_dir).subset(slice(0, 10_000))
    val, test = load_mnist("validation", root=mnist_dir), load_mnist("test", root=mnist_dir)
    model = _trained(VAE, VAEConfig, train, val, 5, tmp_path / "train", latent_dim=16)
    out = tmp_path / "eval"
    result = evaluate(model, EvaluationData(train, val, test), sampler=["normal", "gmm"], dataset="mnist",
                      output_dir=out, data_dir=mnist_dir, cache_dir=cache, nll_num_test=1000)
    assert result.tasks == list(DEFAULT_TASKS) and result.extractor["fid_key"] == "fid_mnist_classifier"
    assert result.reconstruction["mse"] < 0.03 and result.reconstruction["num_test"] == 10_000
    gen = result.generation
    assert gen["GaussianMixtureSampler"]["num_samples"] == 10_000
    assert gen["GaussianMixtureSampler"]["fid_mnist_classifier"] < gen["NormalSampler"]["fid_mnist_classifier"] * 2
    assert result.reference["is_mnist_classifier"] > 9.0  # real digits: confident and balanced
    assert len(result.classification["test_accuracies"]) == 20 and result.classification["test_accuracy_mean"] > 0.8
    assert len(result.clustering["accuracies"]) == 100 and result.clustering["accuracy_mean"] > 0.4
    assert 50 < result.nll["nll"] < 200
    for key in ("reconstructions", "interpolation", "traversal", "samples_GaussianMixtureSampler", "metrics"):
        assert (out / result.files[key].rsplit("/", 1)[1]).is_file()


def test_generation_reports_each_samplers_own_fit_time(digits_vae, digits, tmp_path):
    from gaekit.samplers import GaussianMixtureSampler, NormalSampler

    fitted_before = GaussianMixtureSampler(digits_vae).fit(digits[0])  # fitted outside evaluate
    fitted_before.save(tmp_path / "gmm")
    loaded = GaussianMixtureSampler.load_from_folder(tmp_path / "gmm", digits_vae)  # fit time unknown
    samplers = [fitted_before, loaded, NormalSampler(digits_vae)]
    result = evaluate(digits_vae, digits, tasks="generation", sampler=samplers, extractor=nn.Flatten(),
                      num_generated=100)
    times = {name: entry["fit_seconds"] for name, entry in result.generation.items()}
    assert times["GaussianMixtureSampler"] == round(fitted_before.fit_seconds, 3) > 0
    assert times["GaussianMixtureSampler_2"] is None and times["NormalSampler"] == 0.0


# -- output and cache folders under a regular file (issue 13) -----------------------------------------
def test_an_output_dir_under_a_file_is_refused_before_any_task(digits_vae, digits, tmp_path):
    (tmp_path / "afile").write_text("mine")
    with pytest.raises(ConfigError, match="output_dir .*afile above it is a file"):
        evaluate(digits_vae, digits, tasks="reconstruction", extractor="none", output_dir=tmp_path / "afile" / "out")
    assert (tmp_path / "afile").read_text() == "mine"


def test_a_cache_under_a_file_is_refused_before_downloading_or_training(tmp_path, monkeypatch):
    from gaekit.metrics import classifier, inception

    (tmp_path / "afile").write_text("mine")
    monkeypatch.setenv("GAEKIT_CACHE_DIR", str(tmp_path / "afile" / "cache"))

    def forbidden(*args, **kwargs):
        raise AssertionError("reached the network or training")

    monkeypatch.setattr(inception, "_open_url", forbidden)
    monkeypatch.setattr(classifier, "train_domain_classifier", forbidden)
    with pytest.raises(ConfigError, match=r"Inception-v3 weights folder .*afile above it is a file"):
        inception.ensure_inception_weights(download=True)
    with pytest.raises(ConfigError, match="classifier cache folder .*afile above it is a file"):
        classifier.domain_classifier("digits")
    assert (tmp_path / "afile").read_text() == "mine"
