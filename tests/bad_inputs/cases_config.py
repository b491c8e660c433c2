"""Bad configs of every kind (model, sampler, trainer, evaluation, bench spec), in Python and as JSON files."""
# ruff: noqa: B008 -- a case binds its inputs as lambda defaults so that they exist before the snapshot

from __future__ import annotations

import importlib
import math

from bad_inputs.harness import CaseList, write, write_json_file

from gaekit.errors import ConfigError

CASES = CaseList()

MODULES = {"models": "gaekit.models", "samplers": "gaekit.samplers", "trainers": "gaekit.trainers",
           "metrics": "gaekit.metrics", "bench": "gaekit.bench.spec"}
TINY = {"input_dim": (1, 8, 8), "latent_dim": 3}


def config_class(qualified: str):
    """``"models.VAEConfig"`` -> the class."""
    module, _, name = qualified.partition(".")
    return getattr(importlib.import_module(MODULES[module]), name)


# (id, config class, keyword arguments, the field the message must name); every one must be a ConfigError
PYTHON_CONFIGS = [
    ("model-unknown-keyword", "models.VAEConfig", {**TINY, "latnt_dim": 3}, "latnt_dim"),
    ("model-missing-required", "bench.ModelSpec", {"model": "VAE"}, "label"),
    ("model-latent-zero", "models.VAEConfig", {**TINY, "latent_dim": 0}, "latent_dim"),
    ("model-latent-negative", "models.VAEConfig", {**TINY, "latent_dim": -3}, "latent_dim"),
    ("model-latent-float", "models.VAEConfig", {**TINY, "latent_dim": 2.5}, "latent_dim"),
    ("model-latent-string", "models.VAEConfig", {**TINY, "latent_dim": "8"}, "latent_dim"),
    ("model-latent-bool", "models.VAEConfig", {**TINY, "latent_dim": True}, "latent_dim"),
    ("model-input-dim-zero", "models.VAEConfig", {**TINY, "input_dim": (1, 0, 8)}, "input_dim"),
    ("model-input-dim-empty", "models.VAEConfig", {**TINY, "input_dim": ()}, "input_dim"),
    ("model-input-dim-negative", "models.VAEConfig", {**TINY, "input_dim": (1, -8, 8)}, "input_dim"),
    ("model-input-dim-string", "models.VAEConfig", {**TINY, "input_dim": "1,8,8"}, "input_dim"),
    ("model-input-dim-float", "models.VAEConfig", {**TINY, "input_dim": (1, 8.5, 8)}, "input_dim"),
    ("model-loss-unknown", "models.VAEConfig", {**TINY, "reconstruction_loss": "l1"}, "reconstruction_loss"),
    ("model-activation-unknown", "models.VAEConfig", {**TINY, "output_activation": "relu"}, "output_activation"),
    ("model-bce-identity", "models.VAEConfig", {**TINY, "reconstruction_loss": "bce",
                                                 "output_activation": "identity"}, "output_activation"),
    ("model-beta-negative", "models.BetaVAEConfig", {**TINY, "beta": -1.0}, "beta"),
    ("model-beta-nan", "models.BetaVAEConfig", {**TINY, "beta": math.nan}, "beta"),
    ("model-beta-inf", "models.BetaVAEConfig", {**TINY, "beta": math.inf}, "beta"),
    ("model-iwae-zero-samples", "models.IWAEConfig", {**TINY, "num_importance_samples": 0},
     "num_importance_samples"),
    ("model-vq-one-embedding", "models.VQVAEConfig", {**TINY, "num_embeddings": 1}, "num_embeddings"),
    ("model-vq-decay-above-one", "models.VQVAEConfig", {**TINY, "embedding_dim": 1, "decay": 1.5}, "decay"),
    ("model-vq-embedding-not-dividing", "models.VQVAEConfig", {**TINY, "embedding_dim": 2}, "latent_dim"),
    ("model-linnf-unknown-flow", "models.VAE_LinNFConfig", {**TINY, "flows": ("Planar", "Bogus")}, "flows"),
    ("model-poincare-zero-curvature", "models.PoincareVAEConfig", {**TINY, "curvature": 0.0}, "curvature"),
    ("model-hvae-zero-leapfrog", "models.HVAEConfig", {**TINY, "num_leapfrog_steps": 0}, "num_leapfrog_steps"),
    ("model-hvae-negative-step", "models.HVAEConfig", {**TINY, "eps_lf": -0.1}, "eps_lf"),
    ("model-vamp-zero-components", "models.VAMPConfig", {**TINY, "num_components": 0}, "num_components"),
    ("model-infovae-alpha-above-one", "models.InfoVAE_MMDConfig", {**TINY, "alpha": 2.0}, "alpha"),
    ("sampler-gmm-zero-components", "samplers.GaussianMixtureSamplerConfig", {"num_components": 0}, "num_components"),
    ("sampler-gmm-covariance-unknown", "samplers.GaussianMixtureSamplerConfig", {"covariance_type": "round"},
     "covariance_type"),
    ("sampler-gmm-negative-reg", "samplers.GaussianMixtureSamplerConfig", {"reg_covar": -1.0}, "reg_covar"),
    ("sampler-gmm-zero-iterations", "samplers.GaussianMixtureSamplerConfig", {"max_iter": 0}, "max_iter"),
    ("sampler-gmm-huge-seed", "samplers.GaussianMixtureSamplerConfig", {"random_state": 2**70}, "random_state"),
    ("sampler-gmm-unknown-keyword", "samplers.GaussianMixtureSamplerConfig", {"ncomponents": 3}, "ncomponents"),
    ("sampler-maf-zero-lr", "samplers.MAFSamplerConfig", {"learning_rate": 0.0}, "learning_rate"),
    ("sampler-maf-zero-epochs", "samplers.MAFSamplerConfig", {"num_epochs": 0}, "num_epochs"),
    ("sampler-maf-negative-batch", "samplers.MAFSamplerConfig", {"batch_size": -1}, "batch_size"),
    ("sampler-maf-zero-hidden", "samplers.MAFSamplerConfig", {"hidden_size": 0}, "hidden_size"),
    ("sampler-maf-huge-seed", "samplers.MAFSamplerConfig", {"seed": 2**70}, "seed"),
    ("sampler-two-stage-zero-latent", "samplers.TwoStageVAESamplerConfig", {"second_stage_latent_dim": 0},
     "second_stage_latent_dim"),
    ("sampler-rhvae-zero-mcmc", "samplers.RHVAESamplerConfig", {"num_mcmc_steps": 0}, "num_mcmc_steps"),
    ("trainer-zero-epochs", "trainers.TrainerConfig", {"num_epochs": 0}, "num_epochs"),
    ("trainer-zero-batch", "trainers.TrainerConfig", {"batch_size": 0}, "batch_size"),
    ("trainer-zero-lr", "trainers.TrainerConfig", {"learning_rate": 0.0}, "learning_rate"),
    ("trainer-nan-lr", "trainers.TrainerConfig", {"learning_rate": math.nan}, "learning_rate"),
    ("trainer-inf-lr", "trainers.TrainerConfig", {"learning_rate": math.inf}, "learning_rate"),
    ("trainer-unknown-optimizer", "trainers.TrainerConfig", {"optimizer": "Adamm"}, "Adamm"),
    ("trainer-betas-string", "trainers.TrainerConfig", {"optimizer_params": {"betas": "x"}}, "betas"),
    ("trainer-betas-above-one", "trainers.TrainerConfig", {"optimizer_params": {"betas": (0.9, 1.5)}}, "betas"),
    ("trainer-three-betas", "trainers.TrainerConfig", {"optimizer_params": {"betas": (0.9, 0.9, 0.9)}}, "betas"),
    ("trainer-eps-inf", "trainers.TrainerConfig", {"optimizer_params": {"eps": math.inf}}, "eps"),
    ("trainer-negative-weight-decay", "trainers.TrainerConfig", {"optimizer_params": {"weight_decay": -1.0}},
     "weight_decay"),
    ("trainer-lr-in-optimizer-params", "trainers.TrainerConfig", {"optimizer_params": {"lr": 0.1}}, "lr"),
    ("trainer-sgd-param-for-adam", "trainers.TrainerConfig", {"optimizer_params": {"nesterov": True}}, "nesterov"),
    ("trainer-unknown-scheduler", "trainers.TrainerConfig", {"scheduler": "Nope"}, "Nope"),
    ("trainer-scheduler-params-alone", "trainers.TrainerConfig", {"scheduler_params": {"gamma": 0.5}},
     "scheduler_params"),
    ("trainer-steplr-missing-step", "trainers.TrainerConfig", {"scheduler": "StepLR"}, "step_size"),
    ("trainer-plateau-factor-two", "trainers.TrainerConfig",
     {"scheduler": "ReduceLROnPlateau", "scheduler_params": {"factor": 2.0}}, "factor"),
    ("trainer-huge-seed", "trainers.TrainerConfig", {"seed": 2**70}, "seed"),
    ("trainer-negative-seed", "trainers.TrainerConfig", {"seed": -1}, "seed"),
    ("trainer-unknown-device", "trainers.TrainerConfig", {"device": "tpu"}, "device"),
    ("trainer-amp-dtype-unknown", "trainers.TrainerConfig", {"amp": True, "amp_dtype": "float8"}, "amp_dtype"),
    ("trainer-amp-dtype-without-amp", "trainers.TrainerConfig", {"amp_dtype": "bfloat16"}, "amp_dtype"),
    ("trainer-compile-options-without-compile", "trainers.TrainerConfig", {"compile_options": {"mode": "x"}},
     "compile_options"),
    ("trainer-group-override-unknown-key", "trainers.TrainerConfig",
     {"group_overrides": {"model": {"momentum": 0.9}}}, "momentum"),
    ("trainer-zero-eval-batch", "trainers.TrainerConfig", {"eval_batch_size": 0}, "eval_batch_size"),
    ("trainer-zero-steps-saving", "trainers.TrainerConfig", {"checkpoint_every_n_epochs": 0},
     "checkpoint_every_n_epochs"),
    ("trainer-zero-log-every", "trainers.TrainerConfig", {"log_every_n_steps": 0}, "log_every_n_steps"),
    ("trainer-zero-finite-check", "trainers.TrainerConfig", {"check_finite_every_n_steps": 0},
     "check_finite_every_n_steps"),
    ("trainer-data-on-device-text", "trainers.TrainerConfig", {"data_on_device": "yes"}, "data_on_device"),
    ("trainer-zero-patience", "trainers.TrainerConfig", {"early_stopping_patience": 0}, "early_stopping_patience"),
    ("trainer-distributed-unknown", "trainers.TrainerConfig", {"distributed": "yes"}, "distributed"),
    ("trainer-output-dir-int", "trainers.TrainerConfig", {"output_dir": 5}, "output_dir"),
    ("trainer-unknown-keyword", "trainers.TrainerConfig", {"lerning_rate": 0.1}, "lerning_rate"),
    ("trainer-device-cuda-garbage", "trainers.TrainerConfig", {"device": "cuda:abc"}, "device"),
    ("trainer-steplr-step-string", "trainers.TrainerConfig",
     {"scheduler": "StepLR", "scheduler_params": {"step_size": "ten"}}, "step_size"),
    ("trainer-lambdalr-not-callable", "trainers.TrainerConfig",
     {"scheduler": "LambdaLR", "scheduler_params": {"lr_lambda": 5}}, "lr_lambda"),
    ("trainer-group-override-bad-lr", "trainers.TrainerConfig",
     {"group_overrides": {"model": {"learning_rate": -1.0}}}, "learning_rate"),
    ("trainer-group-override-betas-string", "trainers.TrainerConfig",
     {"group_overrides": {"model": {"optimizer_params": {"betas": "x"}}}}, "betas"),
    ("evaluation-zero-batch", "metrics.EvaluationConfig", {"batch_size": 0}, "batch_size"),
    ("evaluation-negative-seed", "metrics.EvaluationConfig", {"seed": -1}, "seed"),
    ("evaluation-huge-seed", "metrics.EvaluationConfig", {"seed": 2**70}, "seed"),
    ("evaluation-one-generated", "metrics.EvaluationConfig", {"num_generated": 1}, "num_generated"),
    ("evaluation-zero-classifier-lr", "metrics.EvaluationConfig", {"classification_lr": 0.0}, "classification_lr"),
    ("evaluation-nan-traversal", "metrics.EvaluationConfig", {"traversal_range": math.nan}, "traversal_range"),
    ("evaluation-one-step", "metrics.EvaluationConfig", {"interpolation_steps": 1}, "interpolation_steps"),
    ("evaluation-unknown-keyword", "metrics.EvaluationConfig", {"clasification_runs": 5}, "clasification_runs"),
    ("bench-training-plateau-factor", "bench.TrainingSpec", {"plateau_factor": 1.5}, "plateau_factor"),
    ("bench-training-zero-lr", "bench.TrainingSpec", {"learning_rate": 0.0}, "learning_rate"),
    ("bench-training-betas-string", "bench.TrainingSpec", {"optimizer_params": {"betas": "x"}}, "betas"),
    ("bench-data-max-train-one", "bench.DataSpec", {"max_train": 1}, "max_train"),
    ("bench-model-unknown", "bench.ModelSpec", {"label": "X", "model": "NoSuchModel"}, "NoSuchModel"),
    ("bench-model-unknown-field", "bench.ModelSpec", {"label": "X", "model": "VAE", "fields": {"bta": 1}}, "bta"),
    ("bench-model-empty-label", "bench.ModelSpec", {"label": " ", "model": "VAE"}, "label"),
]

for _id, _cls, _kwargs, _field in PYTHON_CONFIGS:
    CASES.add(f"config-{_id}", "config", f"{_cls.split('.')[1]}(**{_kwargs!r:.70})", ConfigError, _field)(
        lambda tmp, fx, cls=_cls, kwargs=_kwargs: (lambda: config_class(cls)(**kwargs)))


@CASES.add("config-model-latent-huge", "config", "VAE with latent_dim=2**40 (petabytes of weights)", ConfigError,
           "latent_dim")
def _(tmp, fx):
    from gaekit.models import VAE, VAEConfig

    return lambda: VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=2**40))


@CASES.add("config-model-replace-unknown", "config", "config.replace(latnt_dim=3)", ConfigError, "latnt_dim")
def _(tmp, fx):
    from gaekit.models import VAEConfig

    return lambda: VAEConfig(**TINY).replace(latnt_dim=3)


@CASES.add("config-trainer-group-override-unknown-group", "config",
           "TrainerConfig.group_overrides for a group the model does not have", ConfigError, "decoder_group")
def _(tmp, fx):
    from gaekit.trainers import Trainer

    config = fx.trainer_config(tmp, group_overrides={"decoder_group": {"learning_rate": 0.1}})
    return lambda: Trainer(fx.model(), config, fx.x())


@CASES.add("config-trainer-channels-last-flat", "config", "channels_last=True for a model on flat vectors",
           ConfigError, "channels_last")
def _(tmp, fx):
    from conftest import tiny_model

    from gaekit.trainers import Trainer

    model = tiny_model("AE", input_dim=(64,))
    return lambda: Trainer(model, fx.trainer_config(tmp, channels_last=True), fx.x().reshape(16, 64))


@CASES.add("config-trainer-wrong-type", "config", "Trainer(training_config=a dict)", ConfigError, "dict")
def _(tmp, fx):
    from gaekit.trainers import Trainer

    return lambda: Trainer(fx.model(), {"num_epochs": 1}, fx.x())


@CASES.add("config-model-wrong-config-class", "config", "VAE(AEConfig(...))", ConfigError, "AEConfig")
def _(tmp, fx):
    from gaekit.models import VAE, AEConfig

    return lambda: VAE(AEConfig(**TINY))


@CASES.add("config-model-from-dict-wrong-name", "config", "VAEConfig.from_dict of a dict named 'AE'", ConfigError,
           "AE")
def _(tmp, fx):
    from gaekit.models import VAEConfig

    return lambda: VAEConfig.from_dict({"name": "AE", **TINY})


# ------------------------------------------------------------------------------ JSON files
# (id, config class, file text, the file or field the message must name)
JSON_FILES = [
    ("model-json-list", "models.VAEConfig", "[1, 2, 3]", "bad.json"),
    ("model-json-number", "models.VAEConfig", "3", "bad.json"),
    ("model-json-string", "models.VAEConfig", '"VAE"', "bad.json"),
    ("model-json-invalid", "models.VAEConfig", '{"latent_dim": 3,', "bad.json"),
    ("model-json-empty-file", "models.VAEConfig", "", "bad.json"),
    ("model-json-unknown-key", "models.VAEConfig", '{"input_dim": [1, 8, 8], "latnt_dim": 3}', "latnt_dim"),
    ("model-json-nan", "models.VAEConfig", '{"input_dim": [1, 8, 8], "latent_dim": NaN}', "latent_dim"),
    ("model-json-null-latent", "models.VAEConfig", '{"input_dim": [1, 8, 8], "latent_dim": null}', "latent_dim"),
    ("model-json-wrong-name", "models.VAEConfig", '{"name": "BetaVAE", "input_dim": [1, 8, 8]}', "BetaVAE"),
    ("model-json-beta-infinity", "models.BetaVAEConfig", '{"input_dim": [1, 8, 8], "beta": Infinity}', "beta"),
    ("sampler-json-list", "samplers.GaussianMixtureSamplerConfig", "[]", "bad.json"),
    ("sampler-json-unknown-key", "samplers.GaussianMixtureSamplerConfig", '{"components": 3}', "components"),
    ("sampler-json-zero-components", "samplers.GaussianMixtureSamplerConfig", '{"num_components": 0}',
     "num_components"),
    ("trainer-json-list", "trainers.TrainerConfig", '["num_epochs", 1]', "bad.json"),
    ("trainer-json-unknown-key", "trainers.TrainerConfig", '{"epochs": 3}', "epochs"),
    ("trainer-json-seed-huge", "trainers.TrainerConfig", '{"seed": 1180591620717411303424}', "seed"),
    ("trainer-json-eps-infinity", "trainers.TrainerConfig", '{"optimizer_params": {"eps": Infinity}}', "eps"),
    ("trainer-json-optimizer-params-list", "trainers.TrainerConfig", '{"optimizer_params": [0.9, 0.99]}',
     "optimizer_params"),
    ("trainer-json-lr-string", "trainers.TrainerConfig", '{"learning_rate": "fast"}', "learning_rate"),
    ("evaluation-json-list", "metrics.EvaluationConfig", "[1]", "bad.json"),
    ("evaluation-json-unknown-key", "metrics.EvaluationConfig", '{"runs": 3}', "runs"),
]

for _id, _cls, _text, _word in JSON_FILES:
    CASES.add(f"config-{_id}", "config", f"{_cls.split('.')[1]}.from_json of {_text[:50]!r}", ConfigError, _word)(
        lambda tmp, fx, cls=_cls, text=_text: (
            lambda path=write(tmp / "bad.json", text): config_class(cls).from_json(path)))

CASES.add("config-model-json-missing-file", "config", "VAEConfig.from_json of a file that does not exist",
          ConfigError, "missing.json")(
    lambda tmp, fx: (lambda: config_class("models.VAEConfig").from_json(tmp / "missing.json")))
CASES.add("config-model-json-folder", "config", "VAEConfig.from_json of a folder", ConfigError, "afolder")(
    lambda tmp, fx: (lambda path=(tmp / "afolder"): (path.mkdir(), config_class("models.VAEConfig").from_json(path)))
)
CASES.add("config-model-json-binary", "config", "VAEConfig.from_json of binary (non-UTF-8) bytes", ConfigError,
          "bad.json")(
    lambda tmp, fx: (lambda path=write(tmp / "bad.json", b"\xff\xfe\x00garbage"):
                     config_class("models.VAEConfig").from_json(path)))

# --------------------------------------------------------------------------- bench specs
SPEC = {"datasets": ["digits"], "networks": ["mlp"], "models": [{"label": "VAE", "model": "VAE"}],
        "latent_dims": {"digits": [2]}}

# (id, change to the minimal valid spec, the field or value the message must name)
SPECS = [
    ("unknown-key", {"studdy": "x"}, "studdy"),
    ("unknown-dataset", {"datasets": ["imagenet"], "latent_dims": {"imagenet": [2]}}, "datasets"),
    ("no-datasets", {"datasets": []}, "datasets"),
    ("unknown-network", {"networks": ["transformer"]}, "networks"),
    ("unknown-model", {"models": [{"label": "X", "model": "NoSuchModel"}]}, "NoSuchModel"),
    ("model-unknown-field", {"models": [{"label": "VAE", "model": "VAE", "configs": [{"bta": 2}]}]}, "bta"),
    ("duplicate-labels", {"models": [{"label": "A", "model": "VAE"}, {"label": "A", "model": "AE"}]}, "models"),
    ("models-not-list", {"models": {"label": "VAE", "model": "VAE"}}, "models"),
    ("latent-dims-missing", {"latent_dims": {}}, "latent_dims"),
    ("latent-dim-zero", {"latent_dims": {"digits": [0]}}, "latent_dims"),
    ("unknown-task", {"tasks": ["dreaming"]}, "tasks"),
    ("unknown-sampler", {"samplers": ["magic"]}, "magic"),
    ("sampler-settings-unknown-field", {"sampler_settings": {"gmm": {"components": 3}}}, "components"),
    ("negative-seed", {"seeds": [-1]}, "seeds"),
    ("huge-seed", {"seeds": [2**70]}, "seeds"),
    ("training-plateau-factor", {"training": {"plateau_factor": 1.5}}, "plateau_factor"),
    ("training-unknown-optimizer", {"training": {"optimizer": "Nope"}}, "Nope"),
    ("training-override-unknown-dataset", {"training": {"overrides": {"mnist": {"num_epochs": 2}}}}, "training"),
    ("evaluation-unknown-field", {"evaluation": {"runs": 3}}, "runs"),
    ("data-max-test-one", {"data": {"max_test": 1}}, "max_test"),
    ("network-options-unknown", {"network_options": {"mlp": {"wings": 2}}}, "wings"),
    ("negative-retries", {"max_lr_retries": -1}, "max_lr_retries"),
    ("latent-dims-extra-dataset", {"latent_dims": {"digits": [2], "mnist": [4]}}, "mnist"),
    ("unknown-extractor", {"extractor": "telepathy"}, "telepathy"),
    ("model-sets-latent-dim", {"models": [{"label": "VAE", "model": "VAE", "fields": {"latent_dim": 4}}]},
     "latent_dim"),
    ("model-no-configs", {"models": [{"label": "VAE", "model": "VAE", "configs": []}]}, "configs"),
    ("network-options-bad-width", {"network_options": {"mlp": {"hidden_dims": [0]}}}, "hidden_dims"),
]


def _spec_file(tmp, change, name="spec.json"):
    return write_json_file(tmp / name, {**SPEC, **change})


for _id, _change, _word in SPECS:
    CASES.add(f"config-bench-spec-{_id}", "config", f"StudySpec.from_file with {_change!r:.70}", ConfigError, _word)(
        lambda tmp, fx, change=_change: (
            lambda path=_spec_file(tmp, change): config_class("bench.StudySpec").from_file(path)))

for _id, _name, _text, _word in [
    ("json-list", "spec.json", "[1, 2]", "spec.json"),
    ("invalid-json", "spec.json", "{datasets: [digits]}", "spec.json"),
    ("invalid-yaml", "spec.yaml", "datasets: [digits\n  - : :", "spec.yaml"),
    ("yaml-scalar", "spec.yaml", "just a string\n", "spec.yaml"),
]:
    CASES.add(f"config-bench-spec-{_id}", "config", f"StudySpec.from_file of {_text[:40]!r}", ConfigError, _word)(
        lambda tmp, fx, name=_name, text=_text: (
            lambda path=write(tmp / name, text): config_class("bench.StudySpec").from_file(path)))

CASES.add("config-bench-spec-missing-file", "config", "StudySpec.from_file of a file that does not exist",
          ConfigError, "nospec.json")(
    lambda tmp, fx: (lambda: config_class("bench.StudySpec").from_file(tmp / "nospec.json")))


def _trainer_with(tmp, fx, **changes):
    from gaekit.trainers import Trainer

    return lambda: Trainer(fx.model(), fx.trainer_config(tmp, **changes), fx.x()).train()


# TrainerConfig values that only fail once training runs: they must be refused before
for _id, _changes, _word in [
    ("lbfgs", {"optimizer": "LBFGS"}, "LBFGS"),
    ("sparse-adam", {"optimizer": "SparseAdam"}, "SparseAdam"),
    ("device-mps", {"device": "mps"}, "mps"),
    ("device-cuda-99", {"device": "cuda:99"}, "cuda"),
    ("compile-bad-mode", {"compile": True, "compile_options": {"mode": "bogus"}}, "mode"),
]:
    CASES.add(f"config-trainer-run-{_id}", "config", f"a Trainer trained with TrainerConfig({_changes!r:.60})",
              ConfigError, _word)(lambda tmp, fx, changes=_changes: _trainer_with(tmp, fx, **changes))


@CASES.add("config-trainer-bad-callback", "config", "Trainer(callbacks=[an object that is not a callback])",
           ConfigError, "callback")
def _(tmp, fx):
    from gaekit.trainers import Trainer

    return lambda: Trainer(fx.model(), fx.trainer_config(tmp), fx.x(), callbacks=[object()]).train()


@CASES.add("config-trainer-not-a-model", "config", "Trainer('VAE', ...)", ConfigError, "str")
def _(tmp, fx):
    from gaekit.trainers import Trainer

    return lambda: Trainer("VAE", fx.trainer_config(tmp), fx.x())


@CASES.add("config-pipeline-no-model", "config", "TrainingPipeline(model=None)", ConfigError, "model")
def _(tmp, fx):
    from gaekit.pipelines import TrainingPipeline

    return lambda: TrainingPipeline(fx.trainer_config(tmp), None)


# gaekit.nn.create_network with bad arguments
for _id, _kwargs, _word in [
    ("unknown-network", {"name": "transformer", "dataset": (1, 8, 8), "latent_dim": 3}, "transformer"),
    ("unknown-role", {"name": "conv", "dataset": (1, 8, 8), "role": "critic", "latent_dim": 3}, "critic"),
    ("unknown-dataset", {"name": "resnet", "dataset": "svhn", "latent_dim": 3}, "svhn"),
    ("latent-zero", {"name": "mlp", "dataset": (1, 8, 8), "latent_dim": 0}, "latent_dim"),
    ("hidden-zero", {"name": "mlp", "dataset": (1, 8, 8), "latent_dim": 3, "hidden_dims": [0]}, "hidden_dims"),
    ("unknown-option", {"name": "mlp", "dataset": (1, 8, 8), "latent_dim": 3, "wings": 2}, "wings"),
    ("huge-width", {"name": "mlp", "dataset": (1, 8, 8), "latent_dim": 3, "hidden_dims": [2**42]}, "GiB|memory"),
]:
    CASES.add(f"config-network-{_id}", "config", f"create_network(**{_kwargs!r:.70})", ConfigError, _word)(
        lambda tmp, fx, kwargs=_kwargs: (lambda: __import__("gaekit.nn", fromlist=["x"]).create_network(**kwargs)))


@CASES.add("config-flow-zero-dim", "config", "PlanarFlow(dim=0)", ConfigError, "dim")
def _(tmp, fx):
    from gaekit.flows import PlanarFlow

    return lambda: PlanarFlow(0)



@CASES.add("config-model-encoder-string", "config", "VAE(config, encoder='mlp'): a name instead of a module",
           ConfigError, "encoder")
def _(tmp, fx):
    from gaekit.models import VAE, VAEConfig

    return lambda: VAE(VAEConfig(**TINY), encoder="mlp")


@CASES.add("config-model-unknown-network", "config", "VAE(config, discriminator=...): a network VAE does not have",
           ConfigError, "discriminator")
def _(tmp, fx):
    import torch

    from gaekit.models import VAE, VAEConfig

    return lambda: VAE(VAEConfig(**TINY), discriminator=torch.nn.Linear(1, 1))


@CASES.add("config-vae-deterministic-encoder", "config", "VAE with an encoder that returns no log-variance",
           ConfigError, "encoder")
def _(tmp, fx):
    import torch

    from gaekit.models import AE, VAE, VAEConfig
    from gaekit.nn import create_network

    encoder = create_network("mlp", dataset=(1, 8, 8), role="encoder", latent_dim=3, model=AE)
    return lambda: VAE(VAEConfig(**TINY), encoder=encoder)(torch.rand(4, 1, 8, 8))


@CASES.add("config-flow-planar-activation", "config", "PlanarFlow(3, activation='relu6')", ConfigError, "activation")
def _(tmp, fx):
    from gaekit.flows import PlanarFlow

    return lambda: PlanarFlow(3, activation="relu6")


for _id, _kwargs, _word in [("nrow-zero", {"nrow": 0}, "nrow"), ("scale-zero", {"scale": 0}, "scale"),
                            ("padding-negative", {"padding": -1}, "padding")]:
    CASES.add(f"config-image-grid-{_id}", "config", f"save_image_grid(images, path, **{_kwargs})", ConfigError,
              _word)(lambda tmp, fx, kwargs=_kwargs: (lambda: __import__("gaekit.images", fromlist=["x"])
                                                      .save_image_grid(fx.x(4), tmp / "grid.png", **kwargs)))


# the reproduce issue's networks: mlp options and the VampPrior's gated MLP
for _id, _kwargs, _word in [
    ("mlp-unknown-activation", {"name": "mlp", "dataset": (1, 8, 8), "latent_dim": 3, "activation": "swishy"},
     "swishy"),
    ("mlp-unknown-init", {"name": "mlp", "dataset": (1, 8, 8), "latent_dim": 3, "init": "zeros-ish"}, "init"),
    ("gated-mlp-hidden-zero", {"name": "gated_mlp", "dataset": (1, 8, 8), "latent_dim": 3, "hidden_dims": [0]},
     "hidden_dims"),
    ("gated-mlp-bounds-reversed", {"name": "gated_mlp", "dataset": (1, 8, 8), "latent_dim": 3,
                                   "log_var_bounds": [2.0, -6.0]}, "log_var_bounds"),
]:
    CASES.add(f"config-network-{_id}", "config", f"create_network(**{_kwargs!r:.70})", ConfigError, _word)(
        lambda tmp, fx, kwargs=_kwargs: (lambda: __import__("gaekit.nn", fromlist=["x"]).create_network(**kwargs)))


def _recipe(**change):
    """A thunk validating the shipped pvae-mnist recipe with ``change`` applied."""
    def run():
        from gaekit.reproduce import Recipe, get_recipe

        Recipe.from_dict({**get_recipe("pvae-mnist").to_dict(), **change})

    return run


for _id, _change, _word in [
    ("unknown-model", {"model": "NoSuchVAE"}, "NoSuchVAE"),
    ("unknown-metric", {"metric": "bleu"}, "metric"),
    ("unknown-dataset", {"dataset": "imagenet"}, "imagenet"),
    ("bad-model-field", {"model_config": {"latnt_dim": 10}}, "latnt_dim"),
    ("bad-schedule", {"training": {"num_epochs": -5}}, "num_epochs"),
    ("nll-without-samples", {"num_importance_samples": None}, "num_importance_samples"),
    ("stand-in-without-note", {"data_matches_paper": False, "data_note": None}, "data_note"),
    ("zero-tolerance", {"tolerance": 0}, "tolerance"),
    ("unknown-need", {"needs": ["tpu"]}, "needs"),
    ("unknown-sampler", {"metric": "fid", "sampler": "langevin"}, "langevin"),
    ("train-on-test", {"train_split": "test"}, "train_split"),
]:
    CASES.add(f"config-recipe-{_id}", "config", f"a reproduce Recipe with {_change!r:.60}", ConfigError, _word)(
        lambda tmp, fx, change=_change: _recipe(**change))
