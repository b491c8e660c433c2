"""``create_model``: the one place a model is assembled, from its recipe (a config) and any custom networks.

A model's config is its whole recipe: every field, including the networks (``network``, e.g. ``"convnet"``,
and ``network_options``), is in ``config.json``. The command line, the bench, ``load_from_folder``,
``Trainer.from_checkpoint`` and the Hub all build models here, so a model built by any of them is the model
its config describes. Custom modules (``encoder=``, ``decoder=``, a model's extra networks) replace the
networks the config would build, as they do when passed to the model's constructor.

Folders and checkpoints written before the config held the network recorded it per network in
``gaekit.json`` (``<part>_network``, a ``create_network`` spec); ``saved_model_builder`` migrates those
in memory (see ``migrate_network_specs``).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from gaekit.config import FOREIGN_READERS, BaseConfig
from gaekit.errors import CheckpointError, ConfigError
from gaekit.registry import Registry

if TYPE_CHECKING:
    from gaekit.models.base import BaseAE

MODELS: Registry[type[BaseAE]] = Registry("model")


@contextlib.contextmanager
def global_rng_kept() -> Iterator[None]:
    """Leave torch's global random streams as they were across the block (the CPU one, and the current CUDA
    device's when CUDA is initialised or the default device).

    Loading builds networks whose initial weights are drawn, then overwritten by the saved ones; under this a
    load draws nothing a caller (a seeded script, a resumed run) would see.
    """
    uses_cuda = torch.cuda.is_available() and (torch.cuda.is_initialized()
                                               or torch.get_default_device().type == "cuda")
    with torch.random.fork_rng(devices=[torch.cuda.current_device()] if uses_cuda else []):
        yield


def create_model(name_or_config: str | BaseConfig | Mapping[str, Any] | type[BaseAE], /, **fields: Any) -> BaseAE:
    """Build a model from its registered name or its config, with ``fields`` set on the config.

    Parameters
    ----------
    name_or_config : str, model config, dict or model class
        A registered model name (``"VAE"``), a model config (``VAEConfig(...)``), a config as a dict with
        its ``"name"`` (what ``config.json`` holds; a Pythae model config's ``"name"``, e.g. ``"VAEConfig"``, is
        read by ``gaekit.models.pythae_config.model_config_from_pythae`` with Pythae's defaults), or a model
        class (e.g. a subclass you did not register).
    **fields
        Config fields (``input_dim``, ``latent_dim``, ``network="convnet"``, ``network_options={...}``, any
        field of the model's config), applied on top of the given config; and custom networks by their
        part name (``encoder=``, ``decoder=``, e.g. ``discriminator=``: ``torch.nn.Module`` instances that
        replace the networks the config would build).

    Returns
    -------
    BaseAE
        The model, its networks built from the config unless given.

    Examples
    --------
    >>> from gaekit import create_model
    >>> model = create_model("VAE", input_dim=(1, 28, 28), latent_dim=16, network="convnet")
    >>> type(model.encoder).__name__
    'ConvNetEncoder'
    """
    if isinstance(name_or_config, str) or _is_model_class(name_or_config):
        model_cls = MODELS.get(name_or_config) if isinstance(name_or_config, str) else name_or_config
        networks, fields = _split_networks(model_cls, fields)
        config = model_cls.config_class(**fields)
    elif isinstance(name_or_config, BaseConfig):
        model_cls = MODELS.get(name_or_config.name)
        networks, fields = _split_networks(model_cls, fields)
        config = name_or_config.replace(**fields) if fields else name_or_config
    elif isinstance(name_or_config, Mapping):
        name = name_or_config.get("name")
        if not isinstance(name, str):
            raise ConfigError(f"create_model: a config given as a dict needs its model's \"name\" (a string), got "
                              f"{name!r:.80}")
        if name not in MODELS and name in FOREIGN_READERS:  # e.g. Pythae's "VAEConfig": its fields, its defaults
            name_or_config = FOREIGN_READERS[name](dict(name_or_config))  # (gaekit.models.pythae_config)
            name = name_or_config.get("name")
        model_cls = MODELS.get(name)
        networks, fields = _split_networks(model_cls, fields)
        config = model_cls.config_class.from_dict({**name_or_config, **fields})
    else:
        raise ConfigError(f"create_model: {name_or_config!r:.80} is invalid: expected a registered model name, a "
                          f"model config or a config dict; registered models: {', '.join(MODELS.names())}")
    return model_cls(config, **networks)


def _is_model_class(obj: Any) -> bool:
    return isinstance(obj, type) and hasattr(obj, "config_class") and hasattr(obj, "network_names")


def _split_networks(model_cls: type[BaseAE], fields: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``fields`` split into (custom networks by part name, config fields)."""
    parts = set(model_cls.network_names())
    return ({k: v for k, v in fields.items() if k in parts}, {k: v for k, v in fields.items() if k not in parts})


def saved_model_builder(config_data: dict[str, Any], source: str, given: dict[str, nn.Module | None],
                        custom: dict[str, str | None] | None = None,
                        legacy_specs: dict[str, dict[str, Any] | None] | None = None,
                        model_cls: type[BaseAE] | None = None) -> Callable[[], BaseAE]:
    """How to build the model a saved folder or checkpoint describes: a function building it (call it on the
    ``meta`` device to check shapes before allocating).

    ``source`` is the folder; ``config_data`` its ``config.json``; ``given`` the custom networks passed by the
    user; ``custom`` the class names of the custom networks recorded at save (``None`` where unknown, as in
    checkpoints); ``legacy_specs`` the per-network specs of earlier releases, migrated into the config;
    ``model_cls`` the class to build (default: the registered class of the config's ``name``).
    Building draws nothing from the global random streams (``global_rng_kept``).
    Bad contents raise ``CheckpointError`` naming ``source``.
    """
    if not isinstance(config_data, dict) or config_data.get("name") not in MODELS:
        raise CheckpointError(f"{source}/config.json: expected the config of a registered model (a JSON object "
                              f"whose \"name\" is one of {', '.join(MODELS.names())}), got {config_data!r:.80}")
    model_cls = model_cls or MODELS.get(config_data["name"])
    given = {part: module for part, module in given.items() if module is not None}
    specs = {part: spec for part, spec in (legacy_specs or {}).items() if spec and part not in given}
    for part, name in (custom or {}).items():
        if name and part not in given and part not in specs:
            raise CheckpointError(f"{source} was saved with a custom {part} ({name}); gaekit stores no pickled "
                                  f"code, so pass an instance again: load_from_folder(path, {part}=...)")
    config_data = dict(config_data)
    if specs and "network" not in config_data:
        defaults = [p for p in ("encoder", "decoder") if p not in given and p not in specs
                    and not (custom or {}).get(p)]
        config_data.update(migrate_network_specs(specs, defaults, source))
    try:
        config = model_cls.config_class.from_dict(config_data)
        if specs:
            specs = _not_rebuilt_by_default(model_cls, config, given, specs, source)
    except ConfigError as err:
        raise CheckpointError(f"{source}/config.json describes no valid {model_cls.__name__}: {err}") from None

    def build() -> BaseAE:
        try:
            with global_rng_kept():  # the weights drawn here are replaced by the saved ones
                networks = {**given, **{part: _network_from_spec(s) for part, s in specs.items()}}
                return _create(model_cls, config, networks)
        except ConfigError as err:
            raise CheckpointError(f"{source}/config.json describes no valid {model_cls.__name__}: {err}") \
                from None

    return build


def _create(model_cls: type[BaseAE], config: BaseConfig, networks: dict[str, nn.Module]) -> BaseAE:
    """``create_model`` of ``model_cls`` (which may be an unregistered subclass) from a validated config."""
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.init}
    return create_model(model_cls, **fields, **networks)


# -- folders of earlier releases: per-network specs in gaekit.json --------------------------
_SPEC_PLACES = ("name", "dataset", "role", "latent_dim", "kind")


def migrate_network_specs(specs: dict[str, dict[str, Any]], default_parts: list[str], source: str) -> dict[str, Any]:
    """The ``network`` and ``network_options`` config fields that the saved encoder/decoder specs stand for.

    Before the config held the network, ``create_network`` stamped each network it built with its spec and
    the model saved it per network; networks without a spec were the default MLP. The specs translate into
    the config when the encoder and decoder agree and no default (MLP) network sits beside a network of
    another kind; otherwise the config keeps the MLP and the odd networks are built from their specs.
    """
    for spec in specs.values():
        _check_spec(spec, source)
    recipes = {(spec["name"], repr(_options(spec))) for part, spec in specs.items() if part in ("encoder", "decoder")}
    if len(recipes) != 1:
        return {}
    spec = next(s for p, s in specs.items() if p in ("encoder", "decoder"))
    if default_parts and (spec["name"] != "mlp" or _options(spec)):
        return {}
    return {"network": spec["name"], "network_options": _options(spec)}


def _options(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in _SPEC_PLACES}


def _check_spec(spec: Any, source: str) -> None:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise CheckpointError(f"{source}: cannot rebuild the saved network {spec!r:.200}: expected a create_network "
                              "spec, a JSON object with a 'name' string")


def _network_from_spec(spec: dict[str, Any]) -> nn.Module:
    from gaekit.nn import create_network

    try:
        return create_network(**spec)
    except (ConfigError, TypeError, ValueError, OverflowError) as err:
        raise CheckpointError(f"cannot rebuild the saved network {spec!r:.200}: {err}") from None


def _not_rebuilt_by_default(model_cls: type[BaseAE], config: BaseConfig, given: dict[str, nn.Module],
                            specs: dict[str, dict[str, Any]], source: str) -> dict[str, dict[str, Any]]:
    """The specs whose network the model's default (from ``config``) would not rebuild: same class and
    state-dict shapes, compared on the ``meta`` device."""
    with torch.device("meta"):
        default = _create(model_cls, config, given)
        saved = {part: _network_from_spec(spec) for part, spec in specs.items()}
    return {part: specs[part] for part, module in saved.items() if not _same_layout(module, getattr(default, part))}


def _same_layout(a: nn.Module, b: nn.Module) -> bool:
    shapes = [{k: tuple(v.shape) for k, v in m.state_dict().items()} for m in (a, b)]
    return type(a) is type(b) and shapes[0] == shapes[1]
