"""Color-dSprites and Noisy-dSprites (Locatello et al. 2019): the observations' shapes and value ranges, per-batch
draws that are pure functions of (variant, seed, the batch's dSprites indices) and fresh each epoch, identical
batches on a resumed training run, subsets and the registry."""

from __future__ import annotations

import pytest
import torch
from conftest import recording, run_recorded, tiny_model

from gaekit.data import (
    DATASETS,
    ColorDSpritesDataset,
    DSpritesDataset,
    NoisyDSpritesDataset,
    iterate_batches,
    load_color_dsprites,
    load_dsprites,
    load_noisy_dsprites,
)
from gaekit.data.dsprites_variants import apply_variant, variant_generator
from gaekit.errors import ConfigError, DataError
from gaekit.registry import spelling_key

LOADERS = {"color": load_color_dsprites, "noisy": load_noisy_dsprites}


def _bits(ds: DSpritesDataset, rows) -> torch.Tensor:
    """The plain dSprites images of ``rows`` (1 on the sprite), ``(B, 64, 64)`` bool."""
    return DSpritesDataset(ds.packed, ds.index).get_batch(rows).data[:, 0].bool()


def test_color_dsprites_colours_the_sprite_and_keeps_the_background_black():
    ds = load_color_dsprites("train", num=64, seed=1)
    assert isinstance(ds, ColorDSpritesDataset) and ds.sample_shape == (3, 64, 64) and len(ds) == 64
    x = ds.get_batch(torch.arange(64)).data
    assert x.shape == (64, 3, 64, 64) and x.dtype == torch.float32
    on = _bits(ds, torch.arange(64))
    assert torch.all(x.permute(1, 0, 2, 3)[:, ~on] == 0)  # every channel off the sprite is exactly 0
    colour = x.amax(dim=(2, 3))  # (64, 3): the one colour of each image
    assert torch.all((colour >= 0.5) & (colour <= 1.0))
    assert torch.equal(x, on[:, None].float() * colour[:, :, None, None])  # a single colour over the sprite
    # the colours spread over [0.5, 1]: 192 channel draws, mean 0.75, std 1/sqrt(48) = 0.144
    assert abs(colour.mean().item() - 0.75) < 0.03 and abs(colour.std().item() - 0.144) < 0.03
    assert colour.min() < 0.55 and colour.max() > 0.95


def test_noisy_dsprites_keeps_the_sprite_white_on_uniform_noise():
    ds = load_noisy_dsprites("test", num=32, seed=2)
    assert isinstance(ds, NoisyDSpritesDataset) and ds.sample_shape == (3, 64, 64)
    x = ds.get_batch(torch.arange(32)).data
    assert x.shape == (32, 3, 64, 64) and x.dtype == torch.float32
    on = _bits(ds, torch.arange(32))
    channels = x.permute(1, 0, 2, 3)
    assert torch.all(channels[:, on] == 1.0)  # the sprite exactly white in every channel
    background = channels[:, ~on]
    assert torch.all((background >= 0) & (background < 1))
    # U[0, 1] per pixel and channel: mean 1/2, variance 1/12, independent across channels
    assert abs(background.mean().item() - 0.5) < 0.005 and abs(background.var().item() - 1 / 12) < 0.002
    assert abs(torch.corrcoef(background[:2])[0, 1].item()) < 0.01


@pytest.mark.parametrize("variant", ["color", "noisy"])
def test_a_batch_is_a_pure_function_of_variant_seed_and_its_dsprites_indices(variant):
    ds = LOADERS[variant]("train", num=40, seed=3)
    a = ds.get_batch([4, 1, 7]).data
    assert torch.equal(a, ds.get_batch(torch.tensor([4, 1, 7])).data)
    assert torch.equal(a, LOADERS[variant]("train", num=40, seed=3).get_batch([4, 1, 7]).data)
    assert not torch.equal(a, ds.get_batch([4, 1, 8]).data[:3])  # another batch: other draws
    assert not torch.equal(a[1], ds.get_batch([1, 4, 7]).data[0])  # the same image in another batch: fresh
    other = type(ds)(ds.packed, ds.index, seed=4)
    assert not torch.equal(a, other.get_batch([4, 1, 7]).data)  # another seed: other draws
    assert torch.equal(ds._get_range(2, 5, None).data, ds.get_batch([2, 3, 4]).data)
    # the draw follows the images' dSprites indices, so a subset draws what the whole set draws
    sub = ds.subset([4, 1, 7])
    assert type(sub) is type(ds) and sub.seed == 3 and (sub.index == ds.index[[4, 1, 7]]).all()
    assert torch.equal(sub.get_batch([0, 1, 2]).data, a)
    assert torch.equal(ds.as_float(), ds.get_batch(torch.arange(40)).data) and torch.equal(ds.data, ds.as_float())
    first = next(iter(iterate_batches(ds, 16, shuffle=False, generator=None)))  # an unshuffled batch
    assert torch.equal(first.data, ds.get_batch(torch.arange(16)).data)


@pytest.mark.parametrize("variant", ["color", "noisy"])
def test_subset_to_labels_and_factors_stay_dsprites(variant):
    ds = LOADERS[variant]("validation", num=30, seed=5)
    plain = load_dsprites("validation", num=30, seed=5)
    assert (ds.index == plain.index).all() and torch.equal(ds.packed, plain.packed)
    assert torch.equal(ds.labels, plain.labels) and (ds.latents_classes == plain.latents_classes).all()
    assert (ds.latents_values == plain.latents_values).all()
    sub = ds.subset(slice(10, 20))
    assert type(sub) is type(ds) and sub.seed == 5 and len(sub) == 10 and (sub.index == ds.index[10:20]).all()
    assert torch.equal(sub.labels, ds.labels[10:20])
    assert ds.to("cpu") is ds and "seed=5" in repr(ds) and "(3, 64, 64)" in repr(ds)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device to compare against the CPU draws")
@pytest.mark.parametrize("variant", ["color", "noisy"])
def test_draws_do_not_depend_on_the_device(variant):
    ds = LOADERS[variant]("test", num=20, seed=1)
    on_gpu = ds.to("cuda")
    assert type(on_gpu) is type(ds) and on_gpu.seed == 1
    assert torch.equal(on_gpu.get_batch([3, 9, 0]).data.cpu(), ds.get_batch([3, 9, 0]).data)
    assert torch.equal(ds.get_batch([3, 9, 0], "cuda").data.cpu(), ds.get_batch([3, 9, 0]).data)


def test_registered_names_and_bad_arguments():
    assert DATASETS.get(spelling_key("Color_dSprites")) is load_color_dsprites
    assert DATASETS.get("noisy-dsprites") is load_noisy_dsprites
    for loader in LOADERS.values():
        for kwargs, match in (({"split": "all"}, "split"), ({"num": 0}, "num"), ({"num": 3, "seed": -1}, "seed")):
            with pytest.raises(ConfigError, match=match):
                loader(**kwargs)
    ds = load_color_dsprites("test", num=4)
    with pytest.raises(ConfigError, match="seed"):
        ColorDSpritesDataset(ds.packed, ds.index, seed=-2)
    with pytest.raises(ConfigError, match="variant"):
        variant_generator("scream", 0, [1])
    with pytest.raises(DataError, match=r"\(B, 1, H, W\)"):
        apply_variant(torch.zeros(2, 3, 64, 64), "noisy", variant_generator("noisy", 0, [1, 2]))


# ---------------------------------------------------------------------- training: fresh each epoch, same on resume
Recording = recording(NoisyDSpritesDataset)


def _run(data, tmp_path, stop_step=None, resume=None):
    model = tiny_model("VAE", input_dim=(3, 64, 64), reconstruction_loss="bce", network_options={"hidden_dims": [8]})
    return run_recorded(data, model, tmp_path, 2, stop_step, resume)


def test_training_sees_fresh_noise_each_epoch_and_the_same_noise_on_resume(tmp_path):
    plain = load_dsprites("train", num=24, seed=0)
    ref = Recording(plain.packed, plain.index)
    ref_trainer = _run(ref, tmp_path / "ref")
    seen = {}
    for epoch, idx, data in ref.seen:
        for row, i in enumerate(idx):
            seen.setdefault(i, {})[epoch] = data[row]
    assert len(seen) == 24 and all(not torch.equal(e[0], e[1]) for e in seen.values())
    # stopped mid-epoch 1 (step 4 of 3 an epoch) and resumed: the remaining batches are drawn identically
    stopped = Recording(plain.packed, plain.index)
    with pytest.raises(KeyboardInterrupt):
        _run(stopped, tmp_path / "stop", stop_step=4)
    resumed = Recording(plain.packed, plain.index)
    run = _run(resumed, tmp_path / "again", resume=next((tmp_path / "stop").glob("*/checkpoint_interrupted")))
    tail = ref.seen[4:]
    assert len(resumed.seen) == len(tail) > 0
    assert all(a[:2] == b[:2] and torch.equal(a[2], b[2]) for a, b in zip(resumed.seen, tail, strict=True))
    assert run.state.history == ref_trainer.state.history
    assert all(torch.equal(p, q) for p, q in zip(run.model.state_dict().values(),
                                                 ref_trainer.model.state_dict().values(), strict=True))
