"""StudySpec validation, the paper's grids (Tables 8-21) against the paper, presets and `gaekit bench plan`."""

from __future__ import annotations

import json

import pytest

from gaekit.bench.grids import PAPER_GRIDS, PAPER_MODEL_ORDER, paper_models
from gaekit.bench.presets import PRESETS, cpu_quick, paper, paper_latent, preset, smoke
from gaekit.bench.runs import expand
from gaekit.bench.spec import ModelSpec, StudySpec
from gaekit.errors import ConfigError
from gaekit.models import MODELS


def _minimal(**changes):
    data = {"datasets": ["mnist"], "networks": ["mlp"], "latent_dims": {"mnist": [4]},
            "models": [{"label": "VAE", "model": "VAE"}]}
    data.update(changes)
    return data


@pytest.mark.parametrize("changes, message", [
    ({"models": [{"label": "X", "model": "NotAModel"}]}, "registered model name"),
    ({"models": [{"label": "VAE", "model": "VAE", "configs": []}]}, "non-empty list of configurations"),
    ({"models": [{"label": "b", "model": "BetaVAE", "configs": [{"betta": 2}]}]}, "unknown field(s) ['betta']"),
    ({"models": [{"label": "b", "model": "BetaVAE", "fields": {"latent_dim": 3}}]}, "unknown field(s) ['latent_dim']"),
    ({"models": [{"label": "V", "model": "VAE"}, {"label": "V", "model": "AE"}]}, "no duplicates"),
    ({"datasets": ["imagenet"]}, "registered dataset names"),
    ({"latent_dims": {}}, "missing or bad: 'mnist'"),
    ({"networks": ["transformer"]}, "registered network names"),
    ({"tasks": ["reconstruction", "dance"]}, "a selection of"),
    ({"samplers": ["normal", "magic"]}, "unknown sampler 'magic'"),
    ({"sampler_settings": {"gmm": {"num_components": 0}}}, "num_components"),
    ({"models": [{"label": "VAMP", "model": "VAMP", "sampler_overrides": {"maf": "vamp"}}]}, "sampler_overrides"),
    ({"training": {"overrides": {"celeba": {"num_epochs": 5}}}}, "overrides only for the study's datasets"),
    ({"training": {"overrides": {"mnist": {"epochs": 5}}}}, "unknown field(s) epochs"),
    ({"evaluation": {"clustering_runs": 0}}, "clustering_runs"),
    ({"max_lr_retries": -1}, "max_lr_retries"),
    ({"seeds": []}, "non-empty list"),
    ({"colour": "blue"}, "unknown key(s) 'colour'"),
    # checked by the libraries that use them (issue 13): TrainerConfig, create_network, the extractors
    ({"training": {"optimizer_params": {"betas": "x"}}}, "betas"),
    ({"training": {"optimizer": "Nope"}}, "Nope"),
    ({"training": {"overrides": {"mnist": {"optimizer": "Nope"}}}}, "Nope"),
    ({"network_options": {"mlp": {"wings": 2}}}, "network_options['mlp'] is invalid for dataset 'mnist'"),
    ({"network_options": {"mlp": {"hidden_dims": [0]}}}, "hidden_dims[0]=0"),
    ({"network_options": {"conv": {"channels": [8]}}}, "options only for the study's networks ['mlp']"),
    ({"extractor": "telepathy"}, "extractor='telepathy' is invalid"),
    ({"latent_dims": {"mnist": [4], "cifar10": [8]}}, "(also has ['cifar10'])"),
])
def test_spec_errors_name_the_field_and_what_is_allowed(changes, message):
    with pytest.raises(ConfigError, match=None) as info:
        StudySpec.from_dict(_minimal(**changes))
    assert message in str(info.value)


def test_spec_file_round_trip_json_and_yaml(tmp_path):
    spec = smoke()
    path = tmp_path / "s.json"
    path.write_text(json.dumps(spec.to_dict()))
    again = StudySpec.from_file(path)
    assert again.to_dict() == spec.to_dict() and again.spec_hash() == spec.spec_hash()
    yaml = pytest.importorskip("yaml", reason="PyYAML (extra 'yaml') not installed")
    ypath = tmp_path / "s.yaml"
    ypath.write_text(yaml.safe_dump(spec.to_dict()))
    assert StudySpec.from_file(ypath).spec_hash() == spec.spec_hash()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        StudySpec.from_file(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        StudySpec.from_file(tmp_path / "missing.yaml")


def test_dataset_overrides_apply_only_to_their_dataset():
    training = paper().training
    assert (training.for_dataset("mnist").num_epochs, training.for_dataset("mnist").learning_rate) == (100, 1e-4)
    assert (training.for_dataset("celeba").num_epochs, training.for_dataset("celeba").learning_rate) == (50, 1e-3)
    config = training.trainer_config("celeba", 1e-3, 7, "out")
    assert config.scheduler == "ReduceLROnPlateau" and config.scheduler_params == {"factor": 0.5, "patience": 10}
    assert (config.batch_size, config.optimizer, config.checkpoint_every_n_epochs) == (100, "Adam", 1)


def _grid(label, field):
    return [c[field] for c in PAPER_GRIDS[label]["configs"]]


def test_grids_match_the_papers_tables():
    # Table 12 (beta-VAE) and Table 13 (beta-TC-VAE, alpha = gamma = 1)
    assert _grid("beta-VAE", "beta") == [1e-3, 1e-2, 1e-1, 0.5, 2, 5, 10, 20, 1e2, 1e3]
    assert _grid("beta-TC-VAE", "beta") == [1e-3, 1e-2, 1e-1, 0.5, 1, 2, 5, 10, 50, 1e2]
    assert PAPER_GRIDS["beta-TC-VAE"]["fields"] == {"alpha": 1.0, "gamma": 1.0}
    # Table 20 (VQVAE): K and beta, the printed 2948 kept
    assert _grid("VQVAE", "num_embeddings") == [128, 256, 512, 512, 512, 512, 512, 512, 1024, 2948]
    assert _grid("VQVAE", "beta") == [0.25, 0.25, 0.9, 0.1, 0.5, 0.25, 0.75, 0.25, 0.25, 0.25]
    # Table 15 (InfoVAE, both kernels): sigma and lambda
    for label, kernel in (("InfoVAE-IMQ", "imq"), ("InfoVAE-RBF", "rbf")):
        assert _grid(label, "kernel_bandwidth") == [1e-2, 1e-1, 0.5, 1e-2, 1e-1, 1, 100, 100, 10, 10]
        assert _grid(label, "lbd") == [10, 10, 10, 1e-2, 1e-1, 10, 100, 100, 10, 10]
        assert PAPER_GRIDS[label]["fields"]["kernel_choice"] == kernel
    # Table 8 (VAMP): the fourth value printed as 500 is kept; VAMP samples from its own prior
    assert _grid("VAMP", "num_components")[3] == 500
    assert PAPER_GRIDS["VAMP"]["sampler_overrides"] == {"normal": "vamp"}
    # Table 18 (VAEGAN): alpha weighs the reconstruction, so adversarial_loss_scale = 1 - alpha
    assert _grid("VAEGAN", "adversarial_loss_scale") == pytest.approx([0.7, 0.5, 0.3, 0.2, 0.2, 0.2, 0.1, 0.1,
                                                                       0.01, 0.001])
    assert _grid("VAEGAN", "reconstruction_layer") == [3, 3, 3, 3, 2, 4, 3, 3, 3, 3]
    # Table 21 (RAE): beta and lambda
    assert _grid("RAE-GP", "embedding_weight") == [1e-6, 1e-4, 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 1e-2, 1e-1, 1]
    assert _grid("RAE-L2", "reg_weight") == [1e-3, 1e-3, 1e-6, 1e-4, 1e-2, 1e-1, 1, 1e-3, 1e-3, 1e-3]
    # AE and VAE: no table, 10 repetitions of the default configuration
    assert PAPER_GRIDS["AE"]["configs"] == [{}] * 10 and "repetitions" in PAPER_GRIDS["VAE"]["note"]


def test_every_paper_configuration_is_a_valid_model_config():
    for m in paper_models():
        assert len(m.configs) == 10
        cls = MODELS.get(m.model).config_class
        for i in range(1, 11):
            cls.from_dict({**m.model_fields(i), "input_dim": [1, 28, 28], "latent_dim": 16})


def test_preset_sizes():
    assert len(expand(paper())) == 1140  # 19 models x 10 configs x 3 datasets x 2 networks
    assert [m.label for m in paper().models] == list(PAPER_MODEL_ORDER)
    assert len(expand(paper_latent())) == 19 * 10 * 2 * 2 * 6
    quick = cpu_quick()
    assert [m.label for m in quick.models] == list(PAPER_MODEL_ORDER)
    assert all(len(m.configs) == 2 and m.source for m in quick.models) and len(expand(quick)) == 38
    assert quick.model("beta-VAE").configs == [{"beta": 0.1}, {"beta": 5}]  # Table 12 configs 3 and 6
    assert set(PRESETS) == {"paper", "paper-latent", "cpu-quick", "smoke", "disentanglement",
                            "disentanglement-cpu-quick"}
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        preset("nope")
    with pytest.raises(ConfigError, match="unknown model label"):
        paper_models(("VAE", "GPT"))
    with pytest.raises(ConfigError, match=r"configs\['VAE'\]"):
        paper_models(("VAE",), {"VAE": [11]})


def test_samplers_per_model_follow_overrides():
    spec = paper()
    assert spec.samplers_for("VAMP") == ["vamp", "gmm", "maf", "two_stage"]
    assert spec.samplers_for("AE") == ["normal", "gmm", "maf", "two_stage"]
    assert spec.sampler_config("gmm").num_components == 10
    with pytest.raises(ConfigError, match="unknown model label 'GPT'"):
        spec.model("GPT")
    assert isinstance(spec.models[0], ModelSpec)


def test_plan_cli_counts_the_paper_study(capsys):
    from gaekit.cli import main

    assert main(["bench", "plan", "--preset", "paper", "--no-calibrate"]) == 0
    out = capsys.readouterr().out
    assert "1140 trainings" in out and "mnist / convnet: 190" in out and "VQVAE 10" in out


def test_plan_calibrates_an_estimate(capsys):
    from gaekit.cli import main

    assert main(["bench", "plan", "--preset", "smoke"]) == 0
    out = capsys.readouterr().out
    assert "4 trainings" in out and "ESTIMATE" in out and "ms per training step" in out


def test_the_disentanglement_estimate_does_not_scale_with_the_splits(monkeypatch):
    """The disentanglement task draws its own samples: its calibration runs it once at a tenth of the study's
    counts and scales by ten, whatever the split sizes (it used to be scaled like the split tasks, ~250x)."""
    import gaekit.metrics
    from gaekit.bench import plan as plan_module

    spec = preset("disentanglement-cpu-quick")
    run = expand(spec)[0]
    clock, calls, real = [0.0], [], gaekit.metrics.evaluate

    def timed_evaluate(model, *args, **kwargs):  # the real evaluation; the clock counts 1 s per call
        calls.append(kwargs)
        out = real(model, *args, **kwargs)
        clock[0] += 1.0
        return out

    monkeypatch.setattr(gaekit.metrics, "evaluate", timed_evaluate)
    monkeypatch.setattr(plan_module.time, "perf_counter", lambda: clock[0])
    _, seconds = plan_module._calibrate_one(spec, run, 2, (10**6, 10**5, 10**5))
    assert seconds == pytest.approx(1 / plan_module.DISENTANGLEMENT_CALIBRATION_FRACTION)
    assert [c["tasks"] for c in calls] == ["disentanglement"]
    config, full = calls[0]["config"], spec.evaluation_config()
    assert config.disentanglement_num_train == round(full.disentanglement_num_train / 10)
    assert config.disentanglement_num_test == round(full.disentanglement_num_test / 10)


def test_the_readme_yaml_spec_is_valid():
    import re
    from pathlib import Path

    yaml = pytest.importorskip("yaml", reason="PyYAML (extra 'yaml') not installed")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("## Benchmark study"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    spec = StudySpec.from_dict(yaml.safe_load(block))
    assert len(expand(spec)) == 2 * (2 + 1) * 2  # 2 latent dims x 3 configurations x 2 seeds


@pytest.mark.parametrize("extractor", ["auto", "none", "inception-v3", "MNIST_classifier"])
def test_registered_extractor_names_are_accepted(extractor):
    assert StudySpec.from_dict(_minimal(extractor=extractor)).extractor == extractor


def test_network_options_are_built_on_the_meta_device_only(monkeypatch):
    import torch

    built = []
    real = torch.nn.Linear.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        built.append(self.weight.device.type)

    monkeypatch.setattr(torch.nn.Linear, "__init__", spy)
    spec = StudySpec.from_dict(_minimal(network_options={"mlp": {"hidden_dims": [64]}}))
    assert spec.network_options == {"mlp": {"hidden_dims": [64]}} and built and set(built) == {"meta"}
    with pytest.raises(ConfigError, match="would need"):  # a network larger than the machine, refused unbuilt
        StudySpec.from_dict(_minimal(network_options={"mlp": {"hidden_dims": [2**20, 2**20]}}))


@pytest.mark.parametrize("name, text, message", [
    ("spec.json", "[1, 2]", "spec.json must hold a mapping of StudySpec fields, got list"),
    ("spec.yaml", "just a string\n", "spec.yaml must hold a mapping of StudySpec fields, got str"),
    ("spec.json", b"\xff\xfe{}", "spec.json is not UTF-8 text"),
    ("folder.json", None, "folder.json is a folder"),
])
def test_a_spec_file_that_holds_no_spec_names_the_file(tmp_path, name, text, message):
    path = tmp_path / name
    if text is None:
        path.mkdir()
    elif isinstance(text, bytes):
        path.write_bytes(text)
    else:
        if name.endswith(".yaml"):
            pytest.importorskip("yaml", reason="PyYAML (extra 'yaml') not installed")
        path.write_text(text)
    with pytest.raises(ConfigError) as info:
        StudySpec.from_file(path)
    assert message in str(info.value)


@pytest.mark.parametrize("command", ["plan", "run"])
def test_zero_workers_is_refused_by_the_command_line(command, capsys):
    from gaekit.cli import main

    with pytest.raises(SystemExit) as info:
        main(["bench", command, "--preset", "smoke", "--workers", "0", "--no-" + ("calibrate" if command == "plan"
                                                                                    else "report")])
    assert info.value.code == 2 and "--workers: expected a positive integer, got 0" in capsys.readouterr().err


def test_the_plan_refuses_zero_workers():
    from gaekit.bench.plan import make_plan

    with pytest.raises(ConfigError, match="workers=0"):
        make_plan(smoke(), calibrate=False).describe(workers=0)
