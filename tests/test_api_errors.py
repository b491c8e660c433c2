"""Every bad input to the Python API is a gaekit error naming the field, the bad value and what is allowed
(gaekit issue 13): config keywords, JSON shapes, optimizer settings, seeds, sizes, sample counts, helper
inputs, importance sampling, loader batches and the data range of sigmoid models."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pytest
import torch
from conftest import tiny_model

from gaekit.bench.spec import ModelSpec, StudySpec, TrainingSpec
from gaekit.config import BaseConfig
from gaekit.data import LoaderAdapter, TorchDatasetAdapter, iterate_batches, validate_data
from gaekit.errors import ConfigError, DataError
from gaekit.metrics.evaluation import EvaluationConfig
from gaekit.models import (
    HRQVAE,
    VAE,
    VAMP,
    VQVAE,
    BetaVAEConfig,
    HRQVAEConfig,
    VAEConfig,
    VAMPConfig,
    VQVAEConfig,
)
from gaekit.nn import create_network
from gaekit.pipelines import GenerationPipeline
from gaekit.samplers import MAFSamplerConfig, NormalSampler, NormalSamplerConfig
from gaekit.trainers import Trainer, TrainerConfig

# -- 1. keyword / positional misuse in Python ------------------------------------------------------


@dataclasses.dataclass
class _LaterConfig(VAEConfig):
    """A config class defined after the library's (and re-decorated): the rule holds for it too."""

    extra: int = 1


CONFIG_CALLS = [
    (VAEConfig, (), {"latnt_dim": 3}, r"unknown field\(s\) 'latnt_dim' for VAEConfig; accepted fields: .*latent_dim"),
    (TrainerConfig, (), {"num_epoch": 3}, r"'num_epoch'.*accepted fields: .*num_epochs"),
    (NormalSamplerConfig, (), {"foo": 1}, r"'foo' for NormalSamplerConfig"),
    (EvaluationConfig, (), {"sed": 1}, r"'sed' for EvaluationConfig; accepted fields: .*seed"),
    (ModelSpec, (), {"label": "m"}, r"ModelSpec: missing a required argument: 'model'; accepted fields"),
    (VAEConfig, ((4,), 3, "mse", "sigmoid", "mlp", {}, 0.5, "extra"), {}, r"VAEConfig: too many positional arguments"),
    (VAEConfig, ((4,),), {"input_dim": (4,)}, r"multiple values for argument 'input_dim'"),
    (_LaterConfig, (), {"extr": 2}, r"'extr' for _LaterConfig; accepted fields: .*extra"),
]


@pytest.mark.parametrize(("cls", "args", "kwargs", "message"), CONFIG_CALLS)
def test_bad_config_arguments_are_config_errors_listing_the_fields(cls, args, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        cls(*args, **kwargs)


def test_a_bug_inside_validation_is_not_hidden_as_a_config_error():
    @dataclasses.dataclass
    class Buggy(BaseConfig):
        x: int = 1

        def _check(self):
            raise TypeError("a bug")

    with pytest.raises(TypeError, match="a bug"):
        Buggy()


# -- 2. JSON that is not an object ------------------------------------------------------------------
@pytest.mark.parametrize(("payload", "kind"), [([1, 2], "array"), (3, "number"), ("VAE", "string"), (None, "null")])
def test_from_dict_and_from_json_refuse_a_non_object(tmp_path, payload, kind):
    with pytest.raises(ConfigError, match=f"expects a JSON object.*got a JSON {kind}"):
        VAEConfig.from_dict(payload)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(ConfigError, match=f"config file {path} holds a JSON {kind}; expected a JSON object"):
        VAEConfig.from_json(path)


# -- 3. optimizer / scheduler settings checked by torch at validation; no NaN/inf anywhere ------------
OPTIMIZATION = [
    ({"optimizer_params": {"betas": "x"}}, r"TrainerConfig.optimizer_params=\{'betas': 'x'\} is invalid for Adam"),
    ({"optimizer_params": {"betas": (0.9, 1.5)}}, r"optimizer_params=.* is invalid for Adam: .*beta"),
    ({"optimizer_params": {"eps": math.inf}}, r"TrainerConfig.optimizer_params\['eps'\]=inf is invalid: .*finite"),
    ({"optimizer": "SGD", "optimizer_params": {"momentum": -1.0}}, r"optimizer_params=.* is invalid for SGD"),
    ({"group_overrides": {"decoder": {"optimizer_params": {"weight_decay": -1.0}}}},
     r"TrainerConfig.group_overrides\['decoder'\].optimizer_params=.* is invalid for Adam"),
    ({"scheduler": "ReduceLROnPlateau", "scheduler_params": {"mode": "up"}},
     r"TrainerConfig.scheduler_params=\{'mode': 'up'\} is invalid for ReduceLROnPlateau"),
    ({"scheduler": "StepLR", "scheduler_params": {"step_size": "ten"}}, r"scheduler_params=.* is invalid for StepLR"),
    ({"learning_rate": math.nan}, r"TrainerConfig.learning_rate=nan is invalid"),
    ({"compile": True, "compile_options": {"options": {"x": math.inf}}}, r"compile_options\['options'\]\['x'\]=inf"),
]


@pytest.mark.parametrize(("changes", "message"), OPTIMIZATION)
def test_optimizer_and_scheduler_settings_are_checked_when_the_config_is_built(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainerConfig(**changes)


def test_valid_optimizer_and_scheduler_settings_still_pass():
    config = TrainerConfig(optimizer="AdamW", optimizer_params={"betas": [0.5, 0.9], "eps": 1e-6},
                           scheduler="StepLR", scheduler_params={"step_size": 2, "gamma": 0.5})
    assert TrainerConfig.from_dict(json.loads(config.to_json_string())).to_dict() == config.to_dict()


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize(("cls", "field"), [(EvaluationConfig, "traversal_range"), (BetaVAEConfig, "beta"),
                                            (TrainingSpec, "optimizer_params")])
def test_non_finite_floats_are_refused_in_every_config(cls, field, value):
    with pytest.raises(ConfigError, match=rf"{cls.__name__}.{field}\S*=\S+ is invalid: expected a finite number"):
        cls(**{field: {"eps": value} if field == "optimizer_params" else value})


# -- 4. seeds ---------------------------------------------------------------------------------------
SEEDS = [2**70, 2**63, -1]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("cls", [TrainerConfig, EvaluationConfig, MAFSamplerConfig])
def test_seed_fields_refuse_values_outside_the_64_bit_range(cls, seed):
    with pytest.raises(ConfigError, match=rf"{cls.__name__}.seed={seed} is invalid: expected an int in \[0, 2\*\*63\)"):
        cls(seed=seed)
    assert cls(seed=2**63 - 1).seed == 2**63 - 1


@pytest.mark.parametrize("seed", SEEDS)
def test_study_seeds_and_sample_seeds_are_checked(seed):
    with pytest.raises(ConfigError, match=r"StudySpec.seeds\[1\]=.* \[0, 2\*\*63\)"):
        StudySpec(datasets=["digits"], networks=["mlp"], models=[ModelSpec(label="m", model="AE")],
                  latent_dims={"digits": [2]}, seeds=[0, seed])
    sampler = NormalSampler(tiny_model("VAE"))
    with pytest.raises(ConfigError, match=rf"seed={seed} is invalid"):
        sampler.sample(2, seed=seed)
    with pytest.raises(ConfigError, match=rf"seed={seed} is invalid"):
        GenerationPipeline(tiny_model("VAE"))(2, seed=seed)


# -- 5. sizes whose default networks cannot fit in memory --------------------------------------------
@pytest.mark.parametrize(("model", "config", "field"), [
    (VAE, VAEConfig(input_dim=(4,), latent_dim=2**40),
     r"VAE's default encoder with VAEConfig.latent_dim=1099511627776"),
    (VAE, VAEConfig(input_dim=(1, 2**20, 2**20), latent_dim=3),
     r"VAE's default encoder with VAEConfig.input_dim=\(1, 1048576, 1048576\)"),
    (VQVAE, VQVAEConfig(input_dim=(1, 8, 8), latent_dim=4, num_embeddings=2**40),
     r"VQVAE with VQVAEConfig.num_embeddings=1099511627776"),
    (VAMP, VAMPConfig(input_dim=(1, 8, 8), num_components=2**40), r"VAMP with VAMPConfig.num_components=\d+"),
    (HRQVAE, HRQVAEConfig(input_dim=(1, 8, 8), latent_dim=4, num_levels=2**40),
     r"HRQVAE with HRQVAEConfig.num_levels=\d+"),
])
def test_absurd_sizes_are_refused_before_allocating(model, config, field):
    with pytest.raises(ConfigError, match=rf"{field} would need .* GiB for its weights, more than this machine's "):
        model(config)


@pytest.mark.parametrize("options", [{"latent_dim": 2**40}, {"latent_dim": 3, "hidden_dims": [2**20, 2**20]}])
def test_create_network_refuses_absurd_sizes(options):
    with pytest.raises(ConfigError, match=r"create_network\('mlp', role='decoder'\) with .* would need .* GiB"):
        create_network("mlp", dataset="mnist", role="decoder", **options)


def test_large_but_feasible_sizes_build():
    assert VAE(VAEConfig(input_dim=(20000,), latent_dim=3)).latent_dim == 3


# -- 6. sample counts -------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [-1, 0, 2.5, True])
@pytest.mark.parametrize("model_name", ["VAE", "VAMP", "SVAE"])
def test_generate_and_sample_prior_refuse_bad_counts(model_name, count):
    model = tiny_model(model_name)
    with pytest.raises(ConfigError, match=rf"num_samples={count!r} is invalid: expected a positive int"):
        model.generate(count)
    with pytest.raises(ConfigError, match=rf"num_samples={count!r} is invalid: expected a positive int"):
        model.sample_prior(count)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"num_samples": -1}, "num_samples=-1"), ({"num_samples": 0}, "num_samples=0"),
    ({"batch_size": 0}, "batch_size=0"), ({"num_samples": 2, "batch_size": -3}, "batch_size=-3"),
])
def test_sampler_sample_refuses_bad_counts(kwargs, message):
    with pytest.raises(ConfigError, match=f"{message} is invalid: expected a positive int"):
        NormalSampler(tiny_model("VAE")).sample(**kwargs)


# -- 7. helpers on data of the wrong shape, dtype or type --------------------------------------------
BAD_INPUTS = [
    (torch.rand(5, 64), r"x\w* \(shape \(5, 64\)\) has samples of shape \(64,\) but the model's input_dim is "
                        r"\(1, 8, 8\); reshape the data to \(N, 1, 8, 8\)"),
    (torch.rand(1, 8, 8), r"shape \(1, 8, 8\), a single sample without its batch axis.*unsqueeze"),
    (torch.rand(5, 3, 8, 8), r"samples of shape \(3, 8, 8\) but the model's input_dim is \(1, 8, 8\)"),
    (torch.zeros(5, 1, 8, 8, dtype=torch.int64), r"uint8 .* got int64"),
    (torch.zeros(5, 1, 8, 8, dtype=torch.bool), r"boolean values"),
    (torch.zeros(5, 1, 8, 8, dtype=torch.complex64), r"complex values"),
    (torch.full((5, 1, 8, 8), math.nan), r"non-finite values: 320 NaN"),
    ([[0.5] * 64], r"x\w* is of type list; expected a torch Tensor or numpy array"),
    ("x", r"x\w* is of type str"),
]
HELPERS = {
    "embed": lambda m, x: m.embed(x),
    "reconstruct": lambda m, x: m.reconstruct(x),
    "interpolate": lambda m, x: m.interpolate(x, x, steps=3),
    "log_likelihood": lambda m, x: m.log_likelihood(x, 2),
}


@pytest.mark.parametrize("helper", sorted(HELPERS))
@pytest.mark.parametrize(("x", "message"), BAD_INPUTS)
def test_helpers_refuse_bad_data_with_a_data_error(helper, x, message):
    with pytest.raises(DataError, match=message):
        HELPERS[helper](tiny_model("VAE"), x)


@pytest.mark.parametrize(("x", "message"), [BAD_INPUTS[i] for i in (0, 1, 2, 7, 8)])
def test_encode_refuses_data_of_the_wrong_shape_or_type(x, message):
    with pytest.raises(DataError, match=message):
        tiny_model("VAE").encode(x)


def test_helpers_accept_good_tensors_arrays_and_uint8():
    model = tiny_model("VAE")
    x = torch.rand(4, 1, 8, 8)
    assert model.embed(x).shape == (4, 3)
    assert torch.allclose(model.embed(x.numpy()), model.embed(x))
    assert model.reconstruct((x * 255).to(torch.uint8)).shape == (4, 1, 8, 8)
    assert model.embed({"data": x}).shape == (4, 3)


# -- 8. importance sampling arguments ---------------------------------------------------------------
@pytest.mark.parametrize(("kwargs", "message"), [
    ({"num_importance_samples": 0}, "num_importance_samples=0"),
    ({"num_importance_samples": -2}, "num_importance_samples=-2"),
    ({"num_importance_samples": 2.5}, "num_importance_samples=2.5"), ({"chunk_size": 0}, "chunk_size=0"),
])
@pytest.mark.parametrize("model_name", ["VAE", "SVAE"])
def test_log_likelihood_refuses_bad_sample_counts(model_name, kwargs, message):
    with pytest.raises(ConfigError, match=f"log_likelihood: {message} is invalid: expected a positive int"):
        tiny_model(model_name).log_likelihood(torch.rand(2, 1, 8, 8), **kwargs)


# -- 9. a later batch of another shape ---------------------------------------------------------------
@pytest.mark.parametrize("later", [torch.rand(4, 1, 9, 9), torch.rand(4, 64)])
def test_a_loader_batch_of_another_shape_is_a_data_error(later):
    loader = LoaderAdapter([torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8), later])
    validate_data(loader, (1, 8, 8), unit_range=True)
    batches = iterate_batches(loader, 4, shuffle=False, generator=None)
    next(batches), next(batches)
    shape = re.escape(str(tuple(later.shape[1:])))
    with pytest.raises(DataError, match=rf"batch 2 of the loader has samples of shape {shape} "
                                        r"but its first batch had \(1, 8, 8\)"):
        next(batches)


def test_trainer_reports_the_bad_loader_batch():
    loader = torch.utils.data.DataLoader([torch.rand(1, 8, 8)] * 4 + [torch.rand(1, 9, 9)] * 4, batch_size=4)
    trainer = Trainer(tiny_model("VAE"), TrainerConfig(output_dir=None, num_epochs=1, show_progress=False),
                      train_data=loader)
    with pytest.raises(DataError, match=r"batch 1 of the loader has samples of shape \(1, 9, 9\)"):
        trainer.train()


def test_dataset_items_of_different_shapes_are_a_data_error():
    class Ragged(torch.utils.data.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return torch.rand(1, 8, 8) if i < 4 else torch.rand(1, 9, 9)

    batches = iterate_batches(TorchDatasetAdapter(Ragged()), 2, shuffle=False, generator=None)
    next(batches), next(batches)
    with pytest.raises(DataError, match=r"batch 2 of the dataset has samples of shape \(1, 9, 9\)"):
        next(batches)
    with pytest.raises(DataError, match=r"dataset items have different shapes: \(1, 8, 8\) and \(1, 9, 9\)"):
        next(iterate_batches(TorchDatasetAdapter(Ragged()), 6, shuffle=False, generator=None))


# -- 10. data outside the range of a sigmoid output ---------------------------------------------------
def _images(dtype=np.float64):
    return (np.random.default_rng(0).random((32, 1, 8, 8)) * 255).astype(dtype)


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_sigmoid_models_refuse_data_outside_0_1(loss):
    model = tiny_model("VAE", reconstruction_loss=loss)
    assert model.needs_unit_range_data
    with pytest.raises(DataError, match=r"your data lies in \[.*, 25\d.*\]: divide by 255, or use "
                                        r"output_activation='identity'"):
        Trainer(model, TrainerConfig(output_dir=None, show_progress=False), train_data=_images())


def test_identity_models_and_uint8_images_are_fine():
    identity = tiny_model("VAE", output_activation="identity")
    assert not identity.needs_unit_range_data
    config = TrainerConfig(output_dir=None, num_epochs=1, show_progress=False)
    Trainer(identity, config, train_data=_images())
    Trainer(tiny_model("VAE"), config, train_data=_images(np.uint8))
    Trainer(tiny_model("VAE"), config, train_data=_images() / 255)


# -- 11. networks, later batches, subsets, meta tensors, codes, probes (issue 13, second wave) ------------
@pytest.mark.parametrize("hidden_dims, message", [
    ([0], r"hidden_dims\[0\]=0 is invalid: expected a positive int"),
    ([16, -3], r"hidden_dims\[1\]=-3 is invalid"),
    ([2.5], r"hidden_dims\[0\]=2.5 is invalid"),
    (64, r"hidden_dims=64 is invalid: expected a sequence of positive ints"),
    ("64", r"hidden_dims='64' is invalid"),
])
@pytest.mark.parametrize("role", ["encoder", "decoder", "discriminator"])
def test_mlp_widths_are_positive_ints(hidden_dims, message, role):
    with pytest.raises(ConfigError, match=message):
        create_network("mlp", dataset=(1, 8, 8), role=role, latent_dim=3, hidden_dims=hidden_dims)


def test_mlp_classes_check_their_widths_too():
    from gaekit.nn import MLPDecoder, MLPEncoder

    for cls in (MLPEncoder, MLPDecoder):
        with pytest.raises(ConfigError, match=r"hidden_dims\[0\]=0"):
            cls((1, 8, 8), 3, hidden_dims=[0])
    assert MLPDecoder((1, 8, 8), 3, hidden_dims=[]).latent_shape == (3,)  # no hidden layer is fine


@pytest.mark.parametrize("name, accepted", [("mlp", "hidden_dims"), ("conv", "channels, batch_norm")])
def test_unknown_network_options_list_the_accepted_ones(name, accepted):
    with pytest.raises(ConfigError, match=f"network '{name}' got unknown option\\(s\\) wings: accepted options "
                                          f"are {accepted}"):
        create_network(name, dataset=(1, 8, 8), latent_dim=3, wings=2)
    with pytest.raises(ConfigError, match="network 'convnet' takes no options; got wings"):
        create_network("convnet", dataset="mnist", latent_dim=3, wings=2)
    assert create_network("conv", dataset=(1, 8, 8), latent_dim=3, channels=(4, 8), batch_norm=False) is not None


def _loader_with(later):
    return LoaderAdapter([torch.full((4, 1, 8, 8), 0.5), torch.full((4, 1, 8, 8), 0.5), later])


@pytest.mark.parametrize("later, message", [
    (torch.full((4, 1, 8, 8), 2.0), r"train_data has values outside \[0, 1\] in batch 2 of the loader"),
    (torch.full((4, 1, 8, 8), -0.5), r"outside \[0, 1\] in batch 2 of the loader"),
    (torch.full((4, 1, 8, 8), float("nan")), r"train_data has non-finite values in batch 2 of the loader: 256 NaN"),
])
def test_later_loader_batches_are_checked_against_0_1_when_the_model_needs_it(later, message):
    loader = _loader_with(later)
    validate_data(loader, (1, 8, 8), unit_range=True)
    batches = iterate_batches(loader, 4, shuffle=False, generator=None)
    next(batches), next(batches)
    with pytest.raises(DataError, match=message):
        next(batches)
    validate_data(loader, (1, 8, 8), unit_range=False)  # a model without a sigmoid output: no range check
    assert len(list(iterate_batches(loader, 4, shuffle=False, generator=None))) == 3


def test_later_dataset_items_are_checked_against_0_1_too():
    items = [torch.full((1, 8, 8), 0.5)] * 4 + [torch.full((1, 8, 8), 3.0)] * 2
    dataset = TorchDatasetAdapter(torch.utils.data.TensorDataset(torch.stack(items)))
    validate_data(dataset, (1, 8, 8), unit_range=True)  # only the first item: fine
    batches = iterate_batches(dataset, 2, shuffle=False, generator=None)
    next(batches), next(batches)
    with pytest.raises(DataError, match=r"outside \[0, 1\] in batch 2 of the dataset"):
        next(batches)


def test_subset_indices_are_checked():
    from gaekit.data import ArrayDataset

    ds = ArrayDataset(torch.arange(10.0).view(10, 1), labels=torch.arange(10))
    assert ds.subset([-1, 0]).labels.tolist() == [9, 0]  # negative indices count from the end
    assert len(ds.subset([])) == 0
    for bad in ([10], [-11], [0, 1000]):
        with pytest.raises(DataError, match=rf"subset index {max(bad, key=abs)} is out of range for a dataset of 10 "
                                            r"samples; expected indices in \[-10, 10\)"):
            ds.subset(bad)
    with pytest.raises(DataError, match="subset indices have dtype float32"):
        ds.subset(torch.tensor([0.0, 1.0]))


def test_meta_tensors_are_refused_everywhere_data_enters():
    from gaekit.data import ArrayDataset, check_batch

    meta = torch.empty(4, 1, 8, 8, device="meta")
    with pytest.raises(DataError, match=r"x is a tensor on the 'meta' device \(shape \(4, 1, 8, 8\)\)"):
        check_batch(meta, (1, 8, 8))
    with pytest.raises(DataError, match="'meta' device"):
        ArrayDataset(meta)
    with pytest.raises(DataError, match="the first batch of train_data is a tensor on the 'meta' device"):
        validate_data(LoaderAdapter([meta]), (1, 8, 8), unit_range=True)
    with pytest.raises(DataError, match="'meta' device"):
        tiny_model("VAE").embed(meta)


def test_a_loader_of_dicts_without_data_says_so():
    with pytest.raises(DataError, match=r"the first batch of eval_data is a dict with keys \['pixels'\]; "
                                        r"expected a 'data' key"):
        validate_data(LoaderAdapter([{"pixels": torch.rand(4, 1, 8, 8)}]), (1, 8, 8), unit_range=False,
                      name="eval_data")
    with pytest.raises(DataError, match=r"eval_data is empty \(the loader yielded no batches\)"):
        validate_data(LoaderAdapter([]), (1, 8, 8), unit_range=False, name="eval_data")


def _conv_vqvae():
    enc = create_network("conv", dataset=(1, 8, 8), role="encoder", latent_dim=4, model=VQVAE, channels=(4, 8))
    dec = create_network("conv", dataset=(1, 8, 8), role="decoder", latent_dim=4, model=VQVAE, channels=(4, 8))
    return VQVAE(VQVAEConfig(input_dim=(1, 8, 8), latent_dim=4, num_embeddings=8, embedding_dim=4), encoder=enc,
                 decoder=dec)


@pytest.mark.parametrize("name", ["VAE", "PoincareVAE", "SVAE", "VQVAE", "AE"])
def test_decode_refuses_codes_of_another_width(name):
    model = tiny_model(name)
    assert model.decode(model.sample_prior(2)).shape == (2, 1, 8, 8)
    with pytest.raises(DataError, match=r"z has shape \(4, 5\), but the model decodes latent codes of shape \(3,\); "
                                        r"expected z shaped \(B, 3\)"):
        model.decode(torch.rand(4, 5))
    with pytest.raises(DataError, match=r"latent codes of shape \(3,\)"):
        model.decode_logits(torch.rand(3))
    with pytest.raises(DataError, match="z is of type list; expected a torch Tensor of latent codes"):
        model.decode([[0.0, 0.0, 0.0]])


def test_decode_takes_latent_maps_whole_or_flattened():
    model = _conv_vqvae()
    assert model.decoder.latent_shape == (4, 2, 2)
    z = model.sample_prior(3)
    assert z.shape == (3, 4, 2, 2)
    torch.testing.assert_close(model.decode(z.flatten(1)), model.decode(z))
    assert model.generate(2).shape == (2, 1, 8, 8)
    with pytest.raises(DataError, match=r"latent codes of shape \(4, 2, 2\); expected z shaped \(B, 4, 2, 2\)"):
        model.decode(torch.rand(3, 4, 3, 3))


def test_decode_of_a_decoder_without_a_latent_shape_is_not_checked():
    class Decoder(torch.nn.Module):  # takes any width: the model cannot know which, so nothing is refused
        def forward(self, z):
            return torch.zeros(z.shape[0], 1, 8, 8)

    model = VAE(VAEConfig(input_dim=(1, 8, 8), latent_dim=3), decoder=Decoder())
    assert model.decode(torch.rand(2, 7)).shape == (2, 1, 8, 8)


def test_poincare_encode_checks_its_input_like_every_model():
    model = tiny_model("PoincareVAE")
    with pytest.raises(DataError, match=r"\(1, 8, 8\)"):
        model.encode(torch.rand(4, 64))
    with pytest.raises(DataError, match=r"x \(shape \(2, 8, 8\)\)"):
        model.encode(np.zeros((2, 8, 8), dtype=np.float32))
    out = model.encode(np.full((2, 1, 8, 8), 255, dtype=np.uint8))
    assert out.embedding.shape == (2, 3) and bool((out.embedding.norm(dim=1) < 1).all())  # on the ball


@pytest.mark.parametrize("seed", [-1, 2**63, 1.5, True, "0"])
def test_probe_seeds_are_checked(seed):
    from gaekit.metrics.probes import kmeans_accuracy, linear_probe

    z, y = torch.randn(20, 2), torch.arange(20) % 2
    with pytest.raises(ConfigError, match=rf"kmeans_accuracy: seed={re.escape(repr(seed))} is invalid"):
        kmeans_accuracy(z, y, runs=1, seed=seed)
    with pytest.raises(ConfigError, match=rf"linear_probe: seed={re.escape(repr(seed))} is invalid"):
        linear_probe(z, y, z, y, z, y, runs=1, epochs=1, seed=seed)


def test_kmeans_accepts_every_valid_seed():
    from gaekit.metrics.probes import kmeans_accuracy

    z, y = torch.randn(20, 2), torch.arange(20) % 2
    assert kmeans_accuracy(z, y, runs=2, seed=2**40)["runs"] == 2  # scikit-learn takes < 2**32: wrapped
