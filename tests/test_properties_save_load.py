"""Property: for every registered model, drawn config and networks, ``save`` then ``AutoModel.load_from_folder``
gives the same model (bit-identical state dict, equal ``reconstruct`` and ``embed`` in eval mode)."""

from __future__ import annotations

import functools

import pytest
import torch
from conftest import TINY_MODEL_KWARGS, tiny_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaekit.errors import ConfigError
from gaekit.models import MODELS, AutoModel
from gaekit.nn import create_network

_COMMON = dict(deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("save-load", max_examples=3, **_COMMON)  # the default run: bounded
settings.register_profile("save-load-slow", max_examples=60, **_COMMON)  # pytest -m slow

NETWORK_KINDS = ("mlp", "conv", "convnet", "resnet")
# the paper datasets' shapes ("convnet"/"resnet" accept only these); CIFAR-10's and CelebA's networks are
# large, so only the slow run draws them
PAPER_SHAPES = {"save-load": [(1, 28, 28)], "save-load-slow": [(1, 28, 28), (3, 32, 32), (3, 64, 64)]}


@functools.cache
def accepts(name: str, shape: tuple[int, ...], latent_dim: int = 2) -> bool:
    """Whether the model's config accepts ``input_dim=shape`` and ``latent_dim``."""
    model_cls = MODELS.get(name)
    try:
        model_cls.config_class(input_dim=shape, latent_dim=latent_dim, **TINY_MODEL_KWARGS.get(name, {}))
    except ConfigError:
        return False
    return True


@functools.cache
def network_kinds(name: str, shape: tuple[int, ...]) -> tuple[str, ...]:
    """``"default"`` plus the ``network`` kinds that build both networks of the model for ``shape``."""
    kinds = ["default"]
    for kind in NETWORK_KINDS:
        try:
            for role in ("encoder", "decoder"):
                create_network(kind, dataset=shape, role=role, latent_dim=2, model=MODELS.get(name))
        except ConfigError:
            continue
        kinds.append(kind)
    return tuple(kinds)


@st.composite
def setups(draw, name: str, paper_shapes: list[tuple[int, ...]]):
    """``(input_dim, latent_dim, network kind)`` that the model accepts."""
    image = not accepts(name, (8,)) or draw(st.booleans())
    if image:
        shape = draw(st.sampled_from(paper_shapes) | st.tuples(st.sampled_from([1, 3]), st.integers(4, 16),
                                                                st.integers(4, 16)))
    else:
        shape = (draw(st.integers(2, 40)),)
    smallest = next(n for n in range(1, 65) if accepts(name, shape, n))  # e.g. 2 for a sphere S^(n-1)
    return shape, draw(st.integers(smallest, 64)), draw(st.sampled_from(network_kinds(name, shape)))


def build(name: str, shape: tuple[int, ...], latent_dim: int, kind: str):
    """The model with its config's ``network`` set to ``kind`` (or left at the default)."""
    return tiny_model(name, input_dim=shape, latent_dim=latent_dim, **({} if kind == "default" else {"network": kind}))


def check_round_trip(model, folder) -> None:
    model.save(folder)
    loaded = AutoModel.load_from_folder(folder)
    assert type(loaded) is type(model)
    saved, back = model.state_dict(), loaded.state_dict()
    assert list(saved) == list(back)
    for key in saved:
        assert saved[key].dtype == back[key].dtype and torch.equal(saved[key], back[key]), key
    x = torch.rand(3, *model.input_dim, generator=torch.Generator().manual_seed(0))
    model.eval()
    loaded.eval()
    assert torch.equal(loaded.embed(x), model.embed(x))
    assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))


def run_property(name: str, tmp_path_factory, profile: str) -> int:
    seen = []

    @settings(settings.get_profile(profile))
    @given(setup=setups(name, PAPER_SHAPES[profile]))
    def round_trip(setup):
        shape, latent_dim, kind = setup
        check_round_trip(build(name, shape, latent_dim, kind), tmp_path_factory.mktemp(name) / "model")
        seen.append(setup)

    round_trip()
    return len(seen)


@pytest.mark.parametrize("name", MODELS.names())
def test_save_then_load_gives_the_same_model(name, tmp_path_factory):
    assert run_property(name, tmp_path_factory, "save-load") >= 1


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS.names())
def test_save_then_load_gives_the_same_model_many_examples(name, tmp_path_factory):
    assert run_property(name, tmp_path_factory, "save-load-slow") >= 10


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_builds_on_meta_as_it_builds_for_real(name, tmp_path):
    """Loading checks the config against the weights on the meta device: it must describe the real model."""
    real = tiny_model(name)
    with torch.device("meta"):
        skeleton = tiny_model(name)
    assert {k: v.shape for k, v in skeleton.state_dict().items()} == {k: v.shape for k, v in real.state_dict().items()}
    assert all(v.device.type == "meta" for v in skeleton.state_dict().values())
    check_round_trip(real, tmp_path / "m")
