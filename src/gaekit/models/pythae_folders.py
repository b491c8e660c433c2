"""Pythae model folders read without pickle: ``model.pt`` (weights only), ``model_config.json``, ``environment.json``.

A Pythae folder (written by Pythae 0.1.2's ``model.save``) holds ``model_config.json`` (the model's config, read
with ``gaekit.models.pythae_config.model_config_from_pythae``), ``model.pt`` (``{"model_state_dict": ...}``,
read with ``torch.load(weights_only=True)``: tensors and plain containers only, never full unpickling),
``environment.json`` (the Python version it was saved with; checked) and, for custom networks,
``encoder.pkl`` / ``decoder.pkl`` / ``metric.pkl`` (cloudpickled modules). gaekit never unpickles those: the user
passes the networks again and they receive the saved weights. The weights of Pythae's default networks
(``pythae.models.nn.default_architectures``: MLPs of width 512) are mapped onto gaekit's ``mlp`` networks so that
outputs are identical; each model's own parts
(discriminators, pseudo-inputs, flows, codebooks, ...) are mapped by ``PART_MAPPERS``.
``BaseAE.load_from_folder`` (and so ``AutoModel``) dispatches here for a folder with ``model.pt`` and
``model_config.json`` and no gaekit ``config.json``.
"""

from __future__ import annotations

import json
import math
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gaekit.errors import CheckpointError, ConfigError, UnsafeLoadError
from gaekit.models.base import FOREIGN_FOLDER_READERS, BaseAE
from gaekit.models.factory import MODELS, create_model, global_rng_kept

__all__ = ["PYTHAE_FILES", "is_pythae_folder", "load_pythae_folder", "read_pythae_weights", "read_environment"]

PYTHAE_FILES = ("model.pt", "model_config.json")
# Pythae's cloudpickled custom networks, by part
PICKLED_PARTS = {"encoder": "encoder.pkl", "decoder": "decoder.pkl", "discriminator": "discriminator.pkl",
                 "metric": "metric.pkl"}


def is_pythae_folder(folder: Path) -> bool:
    """Whether ``folder`` holds Pythae's ``model.pt`` and ``model_config.json`` and no gaekit ``config.json``."""
    folder = Path(folder)
    return all((folder / name).is_file() for name in PYTHAE_FILES) and not (folder / "config.json").exists()


def read_pythae_weights(path: Path) -> dict[str, Any]:
    """The object in a Pythae ``model.pt``, read with ``torch.load(weights_only=True, map_location="cpu")``.

    Raises
    ------
    UnsafeLoadError
        When the file holds anything but tensors and plain containers (its unpickling could run code).
    CheckpointError
        When it is not a torch file, or holds no ``model_state_dict`` of named tensors.
    """
    with open(path, "rb") as fh:
        head = fh.read(2)
    if not zipfile.is_zipfile(path) and head[:1] != b"\x80":  # neither torch's zip format nor a legacy pickle
        raise CheckpointError(f"{path} is not a readable torch weights file (neither torch.save's zip archive nor "
                              f"its legacy pickle format)")
    try:
        data = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as err:
        found = re.search(r"GLOBAL [\w.]+", str(err))
        raise UnsafeLoadError(
            f"refusing to load {path}: it holds objects other than tensors, which only full unpickling would build "
            f"(and unpickling can run arbitrary code); gaekit reads Pythae's model.pt with torch.load("
            f"weights_only=True) only{f'; it references {found.group(0)}' if found else ''}") from None
    except Exception as err:  # noqa: BLE001 - any other failure: not a readable torch file
        raise CheckpointError(f"{path} is not a readable torch weights file ({type(err).__name__}: {err})") from None
    state = data.get("model_state_dict") if isinstance(data, dict) else None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()):
        keys = list(data)[:8] if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{path} is not a Pythae model file: expected a dict with 'model_state_dict' (named "
                              f"tensors), as Pythae's model.save writes; got {keys}")
    return data


def read_environment(folder: Path) -> dict[str, Any] | None:
    """``environment.json`` (Pythae's ``EnvironmentConfig``), checked; None when the folder has none.

    Pythae refuses folders saved with Python 3.7 on 3.8+ (and back) because it unpickles them; gaekit reads no
    pickle, so any Python 3 version loads. ``CheckpointError`` for a malformed file.
    """
    path = Path(folder) / "environment.json"
    if not path.is_file():
        return None
    try:
        env = json.loads(path.read_text(encoding="utf8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON ({err})") from None
    version = env.get("python_version") if isinstance(env, dict) else None
    if (not isinstance(env, dict) or env.get("name", "EnvironmentConfig") != "EnvironmentConfig"
            or not isinstance(version, str) or not re.fullmatch(r"3\.\d+(\.\d+)?", version)):
        raise CheckpointError(f"{path} is invalid: expected Pythae's EnvironmentConfig JSON, e.g. "
                              f'{{"name": "EnvironmentConfig", "python_version": "3.10"}}; got {env!r:.120}')
    return env


def _read_config(folder: Path, state: dict[str, Tensor]) -> tuple[dict[str, Any], Any]:
    from gaekit.models.pythae_config import gaekit_model_name, model_config_from_pythae

    path = folder / "model_config.json"
    try:
        raw = json.loads(path.read_text(encoding="utf8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON ({err})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise CheckpointError(f"{path} is invalid: expected a Pythae model config (a JSON object with its \"name\", "
                              f"e.g. \"VAEConfig\"); got {raw!r:.80}")
    try:
        fields = _sized_by_weights(gaekit_model_name(raw["name"]), state)
        return raw, model_config_from_pythae(raw, **fields)
    except ConfigError as err:
        raise CheckpointError(f"{path}: {err}") from None


def _sized_by_weights(name: str, state: dict[str, Tensor]) -> dict[str, Any]:
    """Config fields that Pythae's architecture fixes and its config does not hold, read from the weights: the
    FactorVAE discriminator's depth and width (Pythae: 5 hidden layers of 1000 units), the VQVAE codebook's
    ``embedding_dim`` (Pythae sets it from its encoder's output: 1 for vector codes, the channels of a map)."""
    if name == "VQVAE":
        codebook = state.get("quantizer.embeddings.weight", state.get("quantizer.embeddings"))
        return {"embedding_dim": int(codebook.shape[1])} if isinstance(codebook, Tensor) and codebook.dim() == 2 else {}
    if name != "FactorVAE":
        return {}
    linears = sorted({int(k.split(".")[2]) for k in state if re.fullmatch(r"discriminator\.layers\.\d+\.weight", k)})
    if len(linears) < 2:
        return {}
    width = state[f"discriminator.layers.{linears[0]}.weight"].shape[0]
    return {"discriminator_num_layers": len(linears) - 1, "discriminator_hidden_dim": int(width)}


def _custom_parts(folder: Path, raw: dict[str, Any], model_cls: type[BaseAE],
                  given: dict[str, nn.Module | None]) -> set[str]:
    """The parts saved as custom (pickled) networks; ``CheckpointError`` for those not given again."""
    custom = set()
    for part, pkl in PICKLED_PARTS.items():
        if part not in model_cls.network_names():
            continue
        if (folder / pkl).exists() or raw.get(f"uses_default_{part}") is False:
            custom.add(part)
    missing = [p for p in PICKLED_PARTS if p in custom and given.get(p) is None]
    if missing:
        args = ", ".join(f"{p}=My{p.capitalize()}(...)" for p in missing)
        files = ", ".join(PICKLED_PARTS[p] for p in missing)
        raise CheckpointError(
            f"{folder} was saved by Pythae with custom {' and '.join(missing)} network(s), stored cloudpickled in "
            f"{files}; gaekit never unpickles (it can run arbitrary code). Pass the network(s) again: "
            f"AutoModel.load_from_folder({str(folder)!r}, {args}), built as when the model was trained; their saved "
            f"weights are then read from model.pt")
    return custom


def load_pythae_folder(folder: str | Path, cls: type[BaseAE] = BaseAE,
                       networks: dict[str, nn.Module | None] | None = None) -> BaseAE:
    """Load the model of a Pythae folder into the gaekit model of the same name.

    Parameters
    ----------
    folder : path
        A folder written by Pythae's ``model.save`` (or downloaded from the Hub).
    cls : model class, default BaseAE
        ``BaseAE`` for any model; a model class must be the folder's model.
    networks : dict, optional
        Networks by part (``encoder``, ``decoder``, ``discriminator``, ``metric``, ...) that replace the defaults:
        required for the parts Pythae saved as ``.pkl`` files. Their weights are read from ``model.pt``.

    Raises
    ------
    CheckpointError
        A bad file, a model or part gaekit cannot map (named, with what is missing), custom networks not given.
    UnsafeLoadError
        ``model.pt`` needs full unpickling.
    """
    folder, given = Path(folder), {k: v for k, v in (networks or {}).items() if v is not None}
    read_environment(folder)
    data = read_pythae_weights(folder / "model.pt")
    state = dict(data["model_state_dict"])
    raw, config = _read_config(folder, state)
    name = config.name
    if name in REFUSED:
        raise CheckpointError(f"{folder}: Pythae's {name} folders are refused: {REFUSED[name]}; train the model "
                              f"with gaekit ({name}) instead")
    model_cls = MODELS.get(name)
    if cls is not BaseAE and cls is not model_cls:
        raise CheckpointError(f"{folder} holds a Pythae {name} model; load it with AutoModel or "
                              f"{name}.load_from_folder")
    custom = _custom_parts(folder, raw, model_cls, given)
    source = f"{folder}/model.pt"
    mapped: dict[str, Tensor] = {}
    for part in ("encoder", "decoder"):
        own = {k: state.pop(k) for k in [k for k in state if k.startswith(f"{part}.")]}
        if part in given or part in custom:
            mapped.update(own)  # the user's network: Pythae's own key names
        else:
            if part == "encoder" and name == "PoincareVAE":
                own = _poincare_heads(own, config.latent_dim)
            mapped.update(map_default_network(part, own, source))
    extra = PART_MAPPERS.get(name)
    built: dict[str, nn.Module] = {}
    if extra is not None:
        with global_rng_kept():  # networks built here get the saved weights
            extra_state, built = extra(state, data, config, given, source)
        mapped.update(extra_state)
    if state:
        raise CheckpointError(f"{source}: weights {sorted(state)[:6]} of Pythae's {name} have no gaekit counterpart: "
                              f"refusing to drop them")
    try:
        with global_rng_kept():
            model = create_model(config, **{**built, **given})
    except ConfigError as err:  # e.g. networks too large for this machine, refused before they are allocated
        raise CheckpointError(f"{folder}: the {name} that model_config.json describes cannot be built: {err}") from None
    model.load_weights({**_kept_buffers(model, mapped), **mapped}, source=source)
    return model


# -- weights: Pythae's default networks and each model's own parts onto gaekit's --------------------------
def _take(own: dict[str, Tensor], key: str, source: str, what: str) -> Tensor:
    try:
        return own.pop(key)
    except KeyError:
        raise CheckpointError(f"{source}: {what} has no weight {key!r}: not the network Pythae's default "
                              f"architecture builds; pass the network you trained with") from None


def _linear(own: dict[str, Tensor], src: str, dst: str, source: str, what: str) -> dict[str, Tensor]:
    return {f"{dst}.weight": _take(own, f"{src}.weight", source, what),
            f"{dst}.bias": _take(own, f"{src}.bias", source, what)}


def _leftover(own: dict[str, Tensor], source: str, what: str) -> None:
    if own:
        raise CheckpointError(f"{source}: {what} has weights {sorted(own)[:6]} that Pythae's default architecture "
                              "does not have: it was a custom network; pass it again (encoder=..., decoder=...)")


def map_default_network(part: str, own: dict[str, Tensor], source: str) -> dict[str, Tensor]:
    """Pythae's default MLP ``encoder.*`` / ``decoder.*`` weights (``Encoder_VAE_MLP``, ``Decoder_AE_MLP``, ...)
    as gaekit's ``mlp`` network's (``MLPEncoder`` with its fused head, ``MLPDecoder``)."""
    own, what = dict(own), f"the default {part}"
    if part == "decoder":
        out = {**_linear(own, "decoder.layers.0.0", "decoder.body.0", source, what),
               **_linear(own, "decoder.layers.1.0", "decoder.out", source, what)}
    elif "encoder.log_concentration.weight" in own:  # Encoder_SVAE_MLP: gaekit's hyperspherical LayeredEncoder
        out = _linear(own, "encoder.layers.0.0", "encoder.layers.0.1.0", source, what)
        heads = [_linear(own, f"encoder.{h}", h, source, what) for h in ("embedding", "log_concentration")]
        out.update({f"encoder.head.proj.{k}": torch.cat([h[f"{n}.{k}"] for h, n in
                                                         zip(heads, ("embedding", "log_concentration"))])
                    for k in ("weight", "bias")})
    else:  # Encoder_AE_MLP, Encoder_VAE_MLP (mean and log-variance heads fused into one)
        out = _linear(own, "encoder.layers.0.0", "encoder.body.0", source, what)
        names = ("embedding", "log_var") if "encoder.log_var.weight" in own else ("embedding",)
        heads = [_linear(own, f"encoder.{h}", h, source, what) for h in names]
        out.update({f"encoder.head.{k}": torch.cat([h[f"{n}.{k}"] for h, n in zip(heads, names)])
                    for k in ("weight", "bias")})
    _leftover(own, source, what)
    return out


def _pop_prefix(state: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    return {k: state.pop(k) for k in [k for k in state if k.startswith(prefix)]}


def _mlp_discriminator(state: dict[str, Tensor], given: dict[str, nn.Module], source: str) -> dict[str, Tensor]:
    """Pythae's ``Discriminator_MLP`` (Linear-ReLU-Linear-Sigmoid) as gaekit's ``LayeredDiscriminator`` (its logit)."""
    own = _pop_prefix(state, "discriminator.")
    if "discriminator" in given:
        return own
    what = "the default discriminator"
    out = {**_linear(own, "discriminator.layers.0.0", "discriminator.layers.0.1.0", source, what),
           **_linear(own, "discriminator.layers.1.0", "discriminator.head", source, what)}
    _leftover(own, source, what)
    return out


def _aae(state, data, config, given, source):
    return _mlp_discriminator(state, given, source), {}


def _vaegan(state, data, config, given, source):
    """Pythae's VAEGAN discriminator is its 256-unit MLP on the data; gaekit's default family one is 512 wide, so
    the 256-unit one is built (a custom network of the loaded model)."""
    from gaekit.nn import create_network

    built = {} if "discriminator" in given else {
        "discriminator": create_network("mlp", config.input_dim, "discriminator", hidden_dims=(256,))}
    return _mlp_discriminator(state, given, source), built


def _factor_vae(state, data, config, given, source):
    """Pythae's FactorVAE discriminator ends in two logits (joint, permuted); gaekit's one logit is their difference."""
    own = _pop_prefix(state, "discriminator.")
    if "discriminator" in given:
        return own, {}
    what = "the FactorVAE discriminator"
    linears = sorted({int(k.split(".")[2]) for k in own})
    out = {}
    for i, index in enumerate(linears[:-1]):
        out.update(_linear(own, f"discriminator.layers.{index}", f"discriminator.layers.{i}.0", source, what))
    last = _linear(own, f"discriminator.layers.{linears[-1]}", "discriminator.head", source, what)
    out.update({k: (v[0] - v[1]).reshape(1, *v.shape[1:]) for k, v in last.items()})
    _leftover(own, source, what)
    return out, {}


def _vamp(state, data, config, given, source):
    """Pythae's pseudo-inputs are ``hardtanh(Linear(K, D)(I_K))`` with a bias; gaekit's have none: ``W + b``."""
    own = _pop_prefix(state, "pseudo_inputs.")
    layer = _linear(own, "pseudo_inputs.0", "p", source, "the VAMP pseudo-inputs")
    _leftover(own, source, "the VAMP pseudo-inputs")
    return {"pseudo_inputs.weight": layer["p.weight"] + layer["p.bias"][:, None]}, {}


def _scalar(state: dict[str, Tensor], key: str, source: str, what: str) -> float:
    value = _take(state, key, source, what)
    if value.numel() != 1:
        raise CheckpointError(f"{source}: {key} has shape {tuple(value.shape)}; Pythae's {what} is one number")
    return float(value.reshape(()))


def _hamiltonian(state: dict[str, Tensor], config: Any, source: str, name: str) -> dict[str, Tensor]:
    """Pythae's ``eps_lf`` (HVAE: a parameter) and ``beta_zero_sqrt`` as gaekit's ``log_eps_lf`` and
    ``beta_zero_logit`` (``beta_0 = beta_zero_sqrt ** 2``)."""
    eps = _scalar(state, "eps_lf", source, f"{name} step size") if "eps_lf" in state else config.eps_lf
    beta = _scalar(state, "beta_zero_sqrt", source, f"{name} beta_zero_sqrt") ** 2
    if not eps > 0 or not 0 < beta < 1:
        raise CheckpointError(f"{source}: Pythae's {name} has eps_lf={eps!r} and beta_zero_sqrt**2={beta!r}; gaekit "
                              "needs eps_lf > 0 and 0 < beta_zero < 1 (it stores log(eps_lf) and logit(beta_zero))")
    return {"log_eps_lf": torch.full((config.latent_dim,), math.log(eps)),
            "beta_zero_logit": torch.tensor(math.log(beta / (1 - beta)))}


def _hvae(state, data, config, given, source):
    return _hamiltonian(state, config, source, "HVAE"), {}


def _rhvae(state, data, config, given, source):
    """RHVAE: the metric network (``Metric_MLP``: ``layers.0`` is gaekit's ``body.1`` after its Flatten), the
    stored metric (``model.pt``'s ``M`` = ``L L^T`` and ``centroids``) and the leapfrog constants."""
    out = _hamiltonian(state, config, source, "RHVAE")
    for key, field in (("temperature", "temperature"), ("lbd", "regularization")):
        value = _scalar(state, key, source, f"RHVAE {key}")
        if not math.isclose(value, getattr(config, field), rel_tol=1e-6):
            raise CheckpointError(f"{source}: RHVAE {key}={value!r} differs from model_config.json's "
                                  f"{getattr(config, field)!r}")
    own = _pop_prefix(state, "metric.")
    if "metric" in given:
        out.update(own)
    else:
        what = "the default metric network"
        out.update({**_linear(own, "metric.layers.0", "metric.body.1", source, what),
                    **_linear(own, "metric.diag", "metric.diag", source, what),
                    **_linear(own, "metric.lower", "metric.lower", source, what)})
        _leftover(own, source, what)
    for key, dst in (("M", "metric_matrices"), ("centroids", "centroids")):
        if not isinstance(data.get(key), Tensor):
            raise CheckpointError(f"{source} has no {key!r} tensor: Pythae's RHVAE.save writes the metric's {key}")
        out[dst] = data[key]
    return out, {}


def _vqvae(state, data, config, given, source):
    """The codebook (``quantizer.embeddings``) and, with ``use_ema``, its moving averages."""
    own = _pop_prefix(state, "quantizer.")
    what = "the VQVAE quantizer"
    if config.use_ema:
        out = {"codebook": _take(own, "quantizer.embeddings", source, what),
               "ema_count": _take(own, "quantizer.cluster_size", source, what),
               "ema_sum": _take(own, "quantizer.ema_embed", source, what)}
    else:
        out = {"codebook": _take(own, "quantizer.embeddings.weight", source, what)}
    _leftover(own, source, what)
    return out, {}


def _planar(own: dict[str, Tensor], src: str, dst: str, source: str) -> dict[str, Tensor]:
    """Pythae's planar flow uses ``u`` as it is; gaekit's uses ``u_hat(u)`` (``w^T u_hat > -1``): the ``u`` whose
    ``u_hat`` is Pythae's ``u``."""
    w, u, b = (_take(own, f"{src}.{k}", source, "a planar flow").reshape(-1).double() for k in "wub")
    wu = float(w @ u)
    if not wu > -1:
        raise CheckpointError(f"{source}: Pythae's planar flow {src} has w.u = {wu:.4g} <= -1 (not invertible); "
                              "gaekit's planar flows keep w.u > -1 and cannot hold it")
    a = math.log(math.expm1(wu + 1)) if wu + 1 < 30 else wu + 1  # m^-1(wu), m(a) = -1 + log(1 + e^a)
    u_free = u + (a - wu) * w / (w @ w).clamp_min(1e-12)
    return {f"{dst}.w": w.float(), f"{dst}.u": u_free.float(), f"{dst}.b": b.float()}


def _radial(own: dict[str, Tensor], src: str, dst: str, source: str) -> dict[str, Tensor]:
    """Pythae's ``alpha = exp(log_alpha)``; gaekit's ``softplus(alpha_raw)``; ``beta`` is parameterised alike."""
    alpha = _take(own, f"{src}.log_alpha", source, "a radial flow").double().exp()
    return {f"{dst}.z0": _take(own, f"{src}.x0", source, "a radial flow").reshape(-1),
            f"{dst}.alpha_raw": torch.where(alpha > 30, alpha, torch.log(torch.expm1(alpha))).float(),
            f"{dst}.beta_raw": _take(own, f"{src}.beta", source, "a radial flow")}


def _lin_nf(state, data, config, given, source):
    own = _pop_prefix(state, "net.")
    out: dict[str, Tensor] = {}
    for i, flow in enumerate(config.flows):
        out.update((_planar if flow == "Planar" else _radial)(own, f"net.{i}", f"flow.layers.{i}", source))
    _leftover(own, source, "the VAE_LinNF flows")
    return out, {}


def _made_masks(config: Any) -> list[Tensor]:
    """The masks of the sequential-ordering MADE that Pythae's IAF builds (its degrees are gaekit's, 0-based)."""
    from gaekit.flows import MADE

    made = MADE(config.latent_dim, 2, (config.hidden_size,) * config.num_made_hidden_layers, "sequential")
    return [layer.mask for layer in made.layers]


def _vae_iaf(state, data, config, given, source):
    """Pythae's IAF (``iaf_flow.net.i``: sequential-ordering MADEs, run last to first, the code reversed before
    each) as gaekit's with ``made_orderings="reverse_before_each"``: gaekit's block ``k`` holds Pythae's MADE
    ``n - 1 - k``; on the blocks of reversed ordering (even ``k``) its inputs and outputs are reversed (a MADE
    whose inputs and outputs are permuted is the MADE of the permuted ordering)."""
    if config.made_orderings != "reverse_before_each":
        raise CheckpointError(f"{source}: Pythae's VAE_IAF flow needs made_orderings='reverse_before_each' (its "
                              f"MADE orderings); got {config.made_orderings!r}")
    own, what = _pop_prefix(state, "iaf_flow."), "the VAE_IAF flow"
    n, dim, masks = config.num_made_blocks, config.latent_dim, _made_masks(config)
    out: dict[str, Tensor] = {}
    for k in range(n):
        src, flip = f"iaf_flow.net.{n - 1 - k}.net", k % 2 == 0
        for j, mask in enumerate(masks):
            layer = _linear(own, f"{src}.{2 * j}", "l", source, what)
            if not torch.equal(_take(own, f"{src}.{2 * j}.mask", source, what).to(mask.dtype), mask):
                raise CheckpointError(f"{source}: {src}.{2 * j}.mask is not the sequential-ordering MADE mask that "
                                      "Pythae's VAE_IAF builds: cannot map this flow")
            weight, bias = layer["l.weight"], layer["l.bias"]
            if flip and j == 0:
                weight = weight.flip(1)
            if flip and j == len(masks) - 1:  # rows (shift, log-scale) x input, each half reversed
                weight = weight.view(2, dim, -1).flip(1).reshape(2 * dim, -1)
                bias = bias.view(2, dim).flip(1).reshape(-1)
            out[f"flow.layers.{k}.made.layers.{j}.weight"] = weight
            out[f"flow.layers.{k}.made.layers.{j}.bias"] = bias
    _leftover(own, source, what)
    return out, {}


def _poincare_heads(own: dict[str, Tensor], latent_dim: int) -> dict[str, Tensor]:
    """Pythae's Riemannian-posterior encoder (``Encoder_SVAE_MLP``: one ``log_concentration`` unit, the log of
    sigma^2) as a log-variance head of ``latent_dim`` equal rows, whose mean (gaekit's isotropic sigma) is it."""
    own = dict(own)
    for key in ("weight", "bias"):
        head = own.pop(f"encoder.log_concentration.{key}", None)
        if head is not None:
            own[f"encoder.log_var.{key}"] = head.expand(latent_dim, *head.shape[1:]).clone()
    return own


def _poincare(state, data, config, given, source):
    """Pythae's prior parameters (``_pz_mu``, ``_pz_logvar``; fixed, the prior's scale is ``exp(_pz_logvar)``)
    must be gaekit's prior: at the origin, with scale ``prior_scale``."""
    mu = _take(state, "_pz_mu", source, "Pythae's PoincareVAE prior")
    scale = _scalar(state, "_pz_logvar", source, "PoincareVAE prior log-scale")
    if bool(mu.any()) or not math.isclose(math.exp(scale), config.prior_scale, rel_tol=1e-6):
        raise CheckpointError(f"{source}: Pythae's PoincareVAE prior is at {mu.reshape(-1).tolist()} with scale "
                              f"{math.exp(scale)!r}; gaekit's prior is at the origin with prior_scale="
                              f"{config.prior_scale!r}")
    return {}, {}


# the models with parts besides the encoder and decoder: ``mapper(state, data, config, given, source) ->
# (gaekit weights, networks to build)``, popping what they map from ``state``
PART_MAPPERS: dict[str, Any] = {"Adversarial_AE": _aae, "VAEGAN": _vaegan, "FactorVAE": _factor_vae, "VAMP": _vamp,
                                "HVAE": _hvae, "RHVAE": _rhvae, "VQVAE": _vqvae, "VAE_LinNF": _lin_nf,
                                "VAE_IAF": _vae_iaf, "PoincareVAE": _poincare}
# the shared models whose Pythae folders are refused, with what is missing (none now: PoincareVAE loads with
# ``posterior_location="embedding"``, VAE_IAF with ``made_orderings="reverse_before_each"``)
REFUSED: dict[str, str] = {}


def _kept_buffers(model: BaseAE, mapped: dict[str, Tensor]) -> dict[str, Tensor]:
    """The model's own empty, data-sized buffers (e.g. RHVAE's last-batch state) that Pythae does not save."""
    return {k: v for k, v in model.state_dict().items() if k not in mapped and v.numel() == 0}


def _reader(folder: Path, cls: type[BaseAE], given: dict[str, nn.Module | None]) -> BaseAE | None:
    return load_pythae_folder(folder, cls, given) if is_pythae_folder(folder) else None


FOREIGN_FOLDER_READERS.append(_reader)
