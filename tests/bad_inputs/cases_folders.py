"""Bad folders: saved models, saved samplers, training checkpoints (resume), and output folders."""
# ruff: noqa: B008 -- a case binds its inputs as lambda defaults so that they exist before the snapshot

from __future__ import annotations

import json
import pickle

import torch
from bad_inputs.harness import (
    FOLDER_REFUSED,
    CaseList,
    edit_json,
    edit_state,
    flip_byte,
    pickle_headed_safetensors,
    rewrite_tensors,
    truncate,
    write,
)

from gaekit.errors import CheckpointError, ConfigError, UnsafeLoadError

CASES = CaseList()


def _load_model(path, cls_name="AutoModel"):
    import gaekit.models

    return lambda: getattr(gaekit.models, cls_name).load_from_folder(path)


def _setitem(key, value):
    def change(data):
        data[key] = value

    return change


def _delitem(key):
    def change(data):
        del data[key]

    return change


# ----------------------------------------------------------------------------- model folders
def _model_case(id, description, corrupt, mention, expected=CheckpointError, loader="AutoModel"):
    """A case: copy the saved model folder to tmp/model, ``corrupt(folder)``, then load it."""

    def make(tmp, fx):
        folder = fx.copy("model", tmp / "model")
        corrupt(folder)
        return _load_model(folder, loader)

    CASES.add(f"model-folder-{id}", "model-folder", description, expected, mention)(make)


def _meta(change):
    return lambda folder: edit_json(folder / "gaekit.json", change)


def _config(change):
    return lambda folder: edit_json(folder / "config.json", change)


def _weights(change):
    return lambda folder: rewrite_tensors(folder, "model.safetensors", "gaekit.json", change)


def _first_key(tensors):
    return sorted(tensors)[0]


def _pickle_file(path):
    write(path, pickle.dumps({"weights": [1, 2, 3]}, protocol=4))


def _torch_zip(path):
    torch.save({"w": torch.zeros(2)}, str(path))


def _text_pickle(path):
    write(path, pickle.dumps({"a": 1}, protocol=0))


MODEL_FOLDERS = [
    ("missing-weights", "model.safetensors deleted", lambda f: (f / "model.safetensors").unlink(),
     "model.safetensors"),
    ("missing-config", "config.json deleted", lambda f: (f / "config.json").unlink(), "config.json"),
    ("missing-metadata", "gaekit.json deleted", lambda f: (f / "gaekit.json").unlink(), "gaekit.json"),
    ("truncated-weights", "model.safetensors cut to half its size", lambda f: truncate(f / "model.safetensors"),
     "model.safetensors"),
    ("flipped-byte", "one byte of model.safetensors inverted", lambda f: flip_byte(f / "model.safetensors"),
     "model.safetensors"),
    ("empty-weights", "model.safetensors of 0 bytes", lambda f: write(f / "model.safetensors", b""),
     "model.safetensors"),
    ("weights-are-folder", "model.safetensors is a folder",
     lambda f: ((f / "model.safetensors").unlink(), (f / "model.safetensors").mkdir()), "model.safetensors"),
    ("pickle-weights", "model.safetensors holds a pickle (protocol 4)", lambda f: _pickle_file(f / "model.safetensors"),
     "model.safetensors"),
    ("protocol0-pickle-weights", "model.safetensors holds a text pickle (protocol 0)",
     lambda f: _text_pickle(f / "model.safetensors"), "model.safetensors"),
    ("torch-zip-weights", "model.safetensors is a torch.save zip archive",
     lambda f: _torch_zip(f / "model.safetensors"), "model.safetensors"),
    ("protocol0-pickle-extra", "an extra notes.pkl text pickle (protocol 0)", lambda f: _text_pickle(f / "notes.pkl"),
     "notes.pkl", UnsafeLoadError),
    ("unknown-binary", "an extra blob.dat of random bytes", lambda f: write(f / "blob.dat", bytes(range(256))),
     "blob.dat", UnsafeLoadError),
    ("extra-pickle-file", "an extra optimizer.pkl beside the weights", lambda f: _pickle_file(f / "optimizer.pkl"),
     "optimizer.pkl", UnsafeLoadError),
    ("extra-pt-file", "an extra encoder.pt (torch.save) in the folder", lambda f: _torch_zip(f / "encoder.pt"),
     "encoder.pt", UnsafeLoadError),
    ("config-invalid-json", "config.json is not JSON", lambda f: write(f / "config.json", "{oops"), "config.json"),
    ("config-list", "config.json is a JSON list", lambda f: write(f / "config.json", "[1, 2]"), "config.json"),
    ("config-unknown-key", "config.json has an unknown key", _config(_setitem("latnt_dim", 3)), "latnt_dim"),
    ("config-bad-value", "config.json has latent_dim=-1", _config(_setitem("latent_dim", -1)), "latent_dim"),
    ("config-latent-mismatch", "config.json latent_dim 4 for weights of latent 3", _config(_setitem("latent_dim", 4)),
     "model"),
    ("config-input-mismatch", "config.json input_dim (1, 9, 9) for 8x8 weights",
     _config(_setitem("input_dim", [1, 9, 9])), "model"),
    ("config-latent-huge", "config.json latent_dim 2**40 (would allocate petabytes)",
     _config(_setitem("latent_dim", 2**40)), "latent_dim"),
    ("config-name-other-model", "config.json named 'AE' in a VAE folder", _config(_setitem("name", "AE")), "AE"),
    ("config-int-5000-digits", "config.json latent_dim an int of 5000 digits (beyond Python's int parsing limit)",
     lambda f: write(f / "config.json", '{"name": "VAE", "latent_dim": ' + "9" * 5000 + "}"), "config.json"),
    ("meta-nested-too-deep", "gaekit.json nests 100000 lists (deeper than the JSON parser's recursion limit)",
     lambda f: write(f / "gaekit.json", "[" * 100000 + "]" * 100000), "gaekit.json"),
    ("meta-invalid-json", "gaekit.json is not JSON", lambda f: write(f / "gaekit.json", "{"), "gaekit.json"),
    ("meta-list", "gaekit.json is a JSON list", lambda f: write(f / "gaekit.json", "[]"), "gaekit.json"),
    ("meta-no-model-name", "gaekit.json without model_name", _meta(_delitem("model_name")), "model_name"),
    ("meta-unknown-model", "gaekit.json model_name 'NoSuchModel'", _meta(_setitem("model_name", "NoSuchModel")),
     "NoSuchModel"),
    ("meta-model-name-int", "gaekit.json model_name is a number", _meta(_setitem("model_name", 7)), "model_name"),
    ("meta-model-name-mismatch", "gaekit.json says 'AE', config.json says VAE", _meta(_setitem("model_name", "AE")),
     "AE"),
    ("meta-newer-format", "gaekit.json format_version 99", _meta(_setitem("format_version", 99)), "format"),
    ("meta-format-string", "gaekit.json format_version is a string", _meta(_setitem("format_version", "1")),
     "format_version"),
    ("meta-sha-string", "gaekit.json sha256 is a string, not a dict", _meta(_setitem("sha256", "abc")), "sha256"),
    ("meta-sha-short", "gaekit.json sha256 of the weights is 'abc'", _meta(_setitem("sha256", {"model.safetensors":
                                                                                               "abc"})), "sha256"),
    ("meta-sha-number", "gaekit.json sha256 of the weights is a number",
     _meta(_setitem("sha256", {"model.safetensors": 5})), "sha256"),
    ("meta-network-not-dict", "gaekit.json encoder_network is a string", _meta(_setitem("encoder_network", "mlp")),
     "encoder_network"),
    ("meta-network-unknown", "gaekit.json encoder_network names an unknown network",
     _meta(_setitem("encoder_network", {"name": "evil", "role": "encoder"})), "evil"),
    ("meta-network-huge", "gaekit.json encoder_network asks for a 2**42-wide layer",
     _meta(_setitem("encoder_network", {"name": "mlp", "dataset": [1, 8, 8], "role": "encoder", "latent_dim": 3,
                                        "kind": "variational", "hidden_dims": [2**42]})), "encoder"),
    ("meta-custom-encoder", "gaekit.json records a custom encoder that is not passed again",
     _meta(_setitem("custom_encoder", "mypackage.MyEncoder")), "encoder"),
    ("weights-missing-tensor", "model.safetensors lacks one tensor (checksum updated)",
     _weights(lambda t: t.__delitem__(_first_key(t))), "missing"),
    ("weights-extra-tensor", "model.safetensors has an extra tensor (checksum updated)",
     _weights(_setitem("intruder.weight", torch.zeros(2))), "intruder"),
    ("weights-wrong-shape", "a tensor of model.safetensors has another shape (checksum updated)",
     _weights(lambda t: t.__setitem__(_first_key(t), torch.zeros(2, 2))), "shape"),
    ("weights-nan", "model.safetensors holds NaN weights (checksum updated)",
     _weights(lambda t: t[_first_key(t)].fill_(float("nan"))), "non-finite"),
    ("wrong-class", "AE.load_from_folder of a VAE folder", lambda f: None, "VAE", CheckpointError, "AE"),
    ("config-input-huge", "config.json input_dim (3, 100000, 100000) (a 30-billion-wide first layer)",
     _config(_setitem("input_dim", [3, 100000, 100000])), "input_dim|model.safetensors"),
    ("nested-pickle", "a pickle in a subfolder (extras/state.pkl)", lambda f: _pickle_file(f / "extras" / "state.pkl"),
     "state.pkl", UnsafeLoadError),
    ("weights-header-lies", "model.safetensors whose header claims a 2**40-element tensor in a tiny file",
     lambda f: _lying_safetensors(f / "model.safetensors"), "model.safetensors"),
]


def _lying_safetensors(path):
    header = json.dumps({"encoder.weight": {"dtype": "F32", "shape": [2**20, 2**20],
                                            "data_offsets": [0, 2**42]}}).encode()
    write(path, len(header).to_bytes(8, "little") + header + bytes(16))
for _args in MODEL_FOLDERS:
    _model_case(*_args)


def _pickle_headed_modified(folder):
    """Weights re-written with a header starting 0x80 0x03, then one data byte changed after the checksum."""
    from safetensors.torch import load_file

    from gaekit.serialization import sha256_file

    path = folder / "model.safetensors"
    pickle_headed_safetensors(path, load_file(str(path)))
    edit_json(folder / "gaekit.json", lambda m: m["sha256"].__setitem__("model.safetensors", sha256_file(path)))
    flip_byte(path)


_model_case("pickle-like-header-modified", "valid safetensors whose header starts 0x80 0x03, modified after saving",
            _pickle_headed_modified, "checksum")


@CASES.add("model-folder-encoder-string", "model-folder", "AutoModel.load_from_folder(path, encoder='mlp')",
           ConfigError, "encoder")
def _(tmp, fx):
    from gaekit.models import AutoModel

    folder = fx.copy("model", tmp / "model")
    return lambda: AutoModel.load_from_folder(folder, encoder="mlp")


@CASES.add("model-folder-unfitting-encoder", "model-folder", "load_from_folder with an encoder of other shapes",
           CheckpointError, "encoder")
def _(tmp, fx):
    from gaekit.models import VAE, AutoModel
    from gaekit.nn import create_network

    folder = fx.copy("model", tmp / "model")
    encoder = create_network("mlp", dataset=(1, 8, 8), role="encoder", latent_dim=3, model=VAE, hidden_dims=[7])
    return lambda: AutoModel.load_from_folder(folder, encoder=encoder)


@CASES.add("model-folder-none", "model-folder", "AutoModel.load_from_folder(None)", (CheckpointError, ConfigError),
           "None")
def _(tmp, fx):
    return _load_model(None)


@CASES.add("model-folder-missing", "model-folder", "AutoModel.load_from_folder of a path that does not exist",
           CheckpointError, "nomodel")
def _(tmp, fx):
    return _load_model(tmp / "nomodel")


@CASES.add("model-folder-is-file", "model-folder", "AutoModel.load_from_folder of a regular file",
           CheckpointError, "model.txt")
def _(tmp, fx):
    return _load_model(write(tmp / "model.txt", "not a folder"))


@CASES.add("model-folder-empty", "model-folder", "AutoModel.load_from_folder of an empty folder", CheckpointError,
           "gaekit.json")
def _(tmp, fx):
    (tmp / "empty").mkdir()
    return _load_model(tmp / "empty")


@CASES.add("model-folder-run-folder", "model-folder", "the run folder instead of its final_model/", CheckpointError,
           "final_model")
def _(tmp, fx):
    return _load_model(fx.copy("run", tmp / "run"))


@CASES.add("model-folder-checkpoint", "model-folder", "a training checkpoint folder instead of a model folder",
           CheckpointError, "checkpoint")
def _(tmp, fx):
    return _load_model(fx.copy("checkpoint", tmp / "ckpt"))


@CASES.add("model-folder-sampler", "model-folder", "a sampler folder instead of a model folder", CheckpointError,
           "sampler")
def _(tmp, fx):
    return _load_model(fx.copy("sampler", tmp / "sampler"))


# --------------------------------------------------------------------------- sampler folders
def _sampler_case(id, description, corrupt, mention, expected=CheckpointError, loader="BaseSampler", model=None):
    def make(tmp, fx):
        import gaekit.samplers

        folder = fx.copy("sampler", tmp / "sampler")
        corrupt(folder)
        target = model(fx) if model is not None else fx.model()
        return lambda: getattr(gaekit.samplers, loader).load_from_folder(folder, target)

    CASES.add(f"sampler-folder-{id}", "sampler-folder", description, expected, mention)(make)


def _sampler_meta(change):
    return lambda folder: edit_json(folder / "gaekit.json", change)


def _sampler_weights(change):
    return lambda folder: rewrite_tensors(folder, "sampler.safetensors", "gaekit.json", change)


def _other_latent(fx):
    from conftest import tiny_model

    return tiny_model("VAE", latent_dim=4)


SAMPLER_FOLDERS = [
    ("missing-weights", "sampler.safetensors deleted", lambda f: (f / "sampler.safetensors").unlink(),
     "sampler.safetensors"),
    ("missing-config", "sampler_config.json deleted", lambda f: (f / "sampler_config.json").unlink(),
     "sampler_config.json"),
    ("missing-metadata", "gaekit.json deleted", lambda f: (f / "gaekit.json").unlink(), "gaekit.json"),
    ("truncated-weights", "sampler.safetensors cut in half", lambda f: truncate(f / "sampler.safetensors"),
     "sampler.safetensors"),
    ("flipped-byte", "one byte of sampler.safetensors inverted", lambda f: flip_byte(f / "sampler.safetensors"),
     "sampler.safetensors"),
    ("pickle-weights", "sampler.safetensors holds a pickle", lambda f: _pickle_file(f / "sampler.safetensors"),
     "sampler.safetensors"),
    ("extra-joblib", "a gmm.joblib pickle beside the sampler files", lambda f: _pickle_file(f / "gmm.joblib"),
     "gmm.joblib", UnsafeLoadError),
    ("config-list", "sampler_config.json is a JSON list", lambda f: write(f / "sampler_config.json", "[3]"),
     "sampler_config.json"),
    ("config-unknown-key", "sampler_config.json has an unknown key",
     lambda f: edit_json(f / "sampler_config.json", _setitem("components", 3)), "components"),
    ("config-zero-components", "sampler_config.json num_components 0",
     lambda f: edit_json(f / "sampler_config.json", _setitem("num_components", 0)), "num_components"),
    ("meta-unknown-sampler", "gaekit.json sampler_name 'MagicSampler'",
     _sampler_meta(_setitem("sampler_name", "MagicSampler")), "MagicSampler"),
    ("meta-sampler-name-list", "gaekit.json sampler_name is a list", _sampler_meta(_setitem("sampler_name", ["x"])),
     "sampler_name"),
    ("meta-sha-string", "gaekit.json sha256 is a string", _sampler_meta(_setitem("sha256", "abc")), "sha256"),
    ("meta-sha-short", "gaekit.json sha256 of the weights is 'abc'",
     _sampler_meta(_setitem("sha256", {"sampler.safetensors": "abc"})), "sha256"),
    ("meta-format-string", "gaekit.json format_version is a string", _sampler_meta(_setitem("format_version", "x")),
     "format_version"),
    ("meta-input-dim-string", "gaekit.json input_dim is a string", _sampler_meta(_setitem("input_dim", "1,8,8")),
     "input_dim"),
    ("meta-list", "gaekit.json is a JSON list", lambda f: write(f / "gaekit.json", "[]"), "gaekit.json"),
    ("weights-missing-tensor", "sampler.safetensors lacks a tensor (checksum updated)",
     _sampler_weights(lambda t: t.__delitem__(_first_key(t))), "missing"),
    ("weights-nan", "sampler.safetensors holds NaN (checksum updated)",
     _sampler_weights(lambda t: t[_first_key(t)].fill_(float("nan"))), "non-finite"),
    ("other-model", "a sampler saved for latent_dim 3 loaded for a latent_dim 4 model", lambda f: None,
     "latent_dim", CheckpointError, "BaseSampler", _other_latent),
    ("wrong-class", "NormalSampler.load_from_folder of a GMM sampler folder", lambda f: None,
     "GaussianMixtureSampler", CheckpointError, "NormalSampler"),
    ("config-other-sampler", "sampler_config.json named 'MAFSampler' in a GMM folder",
     lambda f: edit_json(f / "sampler_config.json", _setitem("name", "MAFSampler")), "MAFSampler"),
    ("weights-wrong-shape", "sampler.safetensors means of another width (checksum updated)",
     _sampler_weights(lambda t: t.__setitem__("means", torch.zeros(2, 5))), "means"),
    ("weights-negative", "sampler.safetensors mixture weights (-1, 2) (checksum updated)",
     _sampler_weights(lambda t: t.__setitem__("weights", torch.tensor([-1.0, 2.0]))), "weights"),
    ("other-model-class", "a GMM fitted for a VAE loaded for an AE of the same sizes", lambda f: None, "VAE",
     CheckpointError, "BaseSampler", lambda fx: __import__("conftest").tiny_model("AE")),
    ("model-is-string", "load_from_folder(folder, model='VAE')", lambda f: None, "str", ConfigError,
     "BaseSampler", lambda fx: "VAE"),
]
for _args in SAMPLER_FOLDERS:
    _sampler_case(*_args)


@CASES.add("sampler-folder-model-folder", "sampler-folder", "a model folder passed as a sampler folder",
           CheckpointError, "sampler")
def _(tmp, fx):
    from gaekit.samplers import BaseSampler

    folder = fx.copy("model", tmp / "model")
    return lambda model=fx.model(): BaseSampler.load_from_folder(folder, model)


# ----------------------------------------------------------------------------- checkpoints
def _resume(tmp, fx, folder, how="from_checkpoint", **config):
    """A thunk resuming ``folder``: ``Trainer.from_checkpoint`` or ``Trainer(...).resume``."""
    from gaekit.trainers import Trainer

    if how == "from_checkpoint":
        return lambda: Trainer.from_checkpoint(folder, fx.train, fx.val).train()
    config = {"output_dir": str(tmp / "out"), "num_epochs": 2, **config}
    return lambda: Trainer(fx.model(), fx.trainer_config(tmp, **config), fx.train, fx.val).resume(folder)


def _checkpoint_case(id, description, corrupt, mention, expected=CheckpointError, how="from_checkpoint", **config):
    def make(tmp, fx):
        folder = fx.copy("checkpoint", tmp / "run" / "checkpoint_epoch_1")
        corrupt(folder)
        return _resume(tmp, fx, folder, how, **config)

    CASES.add(f"checkpoint-{id}", "checkpoint", description, expected, mention)(make)


def _state(change, sign=True):
    return lambda folder: edit_state(folder, change, sign)


def _trainer_field(key, value):
    return _state(lambda s: s["state"]["trainer"].__setitem__(key, value))


CHECKPOINTS = [
    ("missing-state", "trainer_state.json deleted", lambda f: (f / "trainer_state.json").unlink(),
     "trainer_state.json"),
    ("state-invalid-json", "trainer_state.json is not JSON", lambda f: write(f / "trainer_state.json", "{"),
     "trainer_state.json"),
    ("state-list", "trainer_state.json is a JSON list", lambda f: write(f / "trainer_state.json", "[]"),
     "trainer_state.json"),
    ("state-unknown-key", "trainer_state.json trainer state has an unknown key", _trainer_field("epochz", 1),
     "epochz"),
    ("state-negative-epoch", "trainer_state.json epoch -5", _trainer_field("epoch", -5), "epoch"),
    ("state-epoch-string", "trainer_state.json epoch is a string", _trainer_field("epoch", "one"), "epoch"),
    ("state-step-beyond-epoch", "trainer_state.json step_in_epoch 999 (an epoch has 2 steps)",
     _trainer_field("step_in_epoch", 999), "step_in_epoch"),
    ("state-history-not-list", "trainer_state.json history is a string", _trainer_field("history", "x"), "history"),
    ("state-best-epoch-future", "trainer_state.json best_epoch 99 after 1 epoch", _trainer_field("best_epoch", 99),
     "best_epoch"),
    ("state-missing-trainer", "trainer_state.json without the trainer counters",
     _state(lambda s: s["state"].__delitem__("trainer")), "trainer"),
    ("state-edited-unsigned", "trainer_state.json edited by hand (epoch 0 -> 1) without updating anything else",
     _state(lambda s: s["state"]["trainer"].__setitem__("epoch", 0), sign=False), "trainer_state.json"),
    ("state-sha-string", "trainer_state.json sha256 is a string", _state(_setitem("sha256", "abc")), "sha256"),
    ("state-newer-format", "trainer_state.json format_version 99", _state(_setitem("format_version", 99)), "format"),
    ("state-missing-tensor-ref", "trainer_state.json refers to a tensor that is not stored",
     _state(lambda s: s["state"].__setitem__("epoch_start_data_state", {"__tensor__": "state#999"})), "state#999"),
    ("state-rng-garbage", "trainer_state.json python RNG state is a string",
     _state(lambda s: s["state"]["rng"].__setitem__("python", "garbage")), "rng"),
    ("state-model-name", "trainer_state.json says the checkpoint is of an AE", _state(
        lambda s: s["state"].__setitem__("model_name", "AE")), "AE", CheckpointError, "resume"),
    ("state-optimizer-groups", "trainer_state.json optimizer groups renamed",
     _state(lambda s: s["state"].__setitem__("optimizers", {"other": s["state"]["optimizers"]["model"]})),
     "optimizer", CheckpointError, "resume"),
    ("truncated-weights", "model.safetensors cut in half", lambda f: truncate(f / "model.safetensors"),
     "model.safetensors"),
    ("missing-optimizer-state", "state.safetensors deleted", lambda f: (f / "state.safetensors").unlink(),
     "state.safetensors"),
    ("flipped-best", "one byte of best_model.safetensors inverted", lambda f: flip_byte(f / "best_model.safetensors"),
     "best_model.safetensors"),
    ("state-optimizer-lr-string", "trainer_state.json optimizer param group lr 'fast'",
     _state(lambda s: s["state"]["optimizers"]["model"]["param_groups"][0].__setitem__("lr", "fast")), "lr"),
    ("state-optimizer-betas-string", "trainer_state.json optimizer param group betas 'x' (Adam needs 2 numbers)",
     _state(lambda s: s["state"]["optimizers"]["model"]["param_groups"][0].__setitem__("betas", "x")), "betas"),
    ("state-optimizer-entry-missing-moment", "trainer_state.json: one parameter's Adam state lacks exp_avg",
     _state(lambda s: s["state"]["optimizers"]["model"]["state"]["__items__"][0][1].pop("exp_avg")), "exp_avg"),
    ("state-optimizer-param-ids-lists", "trainer_state.json optimizer param group params [[0], [1], ...]",
     _state(lambda s: s["state"]["optimizers"]["model"]["param_groups"][0].__setitem__(
         "params", [[i] for i in s["state"]["optimizers"]["model"]["param_groups"][0]["params"]])), "params"),
    ("best-model-missing-tensor", "best_model.safetensors lacks one tensor (checksum updated)",
     lambda f: rewrite_tensors(f, "best_model.safetensors", "trainer_state.json", lambda t: t.pop(sorted(t)[0])),
     "best_model.safetensors"),
    ("pickle-file", "an optimizer.pt pickle in the checkpoint", lambda f: _torch_zip(f / "optimizer.pt"),
     "optimizer.pt", UnsafeLoadError),
    ("missing-config", "config.json deleted", lambda f: (f / "config.json").unlink(), "config.json"),
    ("config-list", "config.json is a JSON list", lambda f: write(f / "config.json", "[1]"), "config.json"),
    ("config-unknown-model", "config.json names an unknown model",
     lambda f: edit_json(f / "config.json", _setitem("name", "NoSuchModel")), "NoSuchModel"),
    ("training-config-invalid", "training_config.json has num_epochs 0",
     lambda f: edit_json(f / "training_config.json", _setitem("num_epochs", 0)), "num_epochs"),
    ("training-config-missing", "training_config.json deleted", lambda f: (f / "training_config.json").unlink(),
     "training_config.json"),
    ("adam-with-sgd", "an Adam checkpoint resumed with an SGD trainer", lambda f: None, "optimizer",
     CheckpointError, "resume", {"optimizer": "SGD"}),
]
for _id, _desc, _corrupt, _word, *_rest in CHECKPOINTS:
    _checkpoint_case(_id, _desc, _corrupt, _word, *_rest[:2], **(_rest[2] if len(_rest) > 2 else {}))


def _state_tensor(folder, path):
    """The safetensors key of the tensor at ``path`` (keys into the state tree) of a checkpoint."""
    node = json.loads((folder / "trainer_state.json").read_text())["state"]
    for key in path:
        node = node[key] if isinstance(node, dict) else node[int(key)]
    return node["__tensor__"]


def _replace_state_tensor(path, value):
    def corrupt(folder):
        key = _state_tensor(folder, path)
        rewrite_tensors(folder, "state.safetensors", "trainer_state.json", lambda t: t.__setitem__(key, value))

    return corrupt


for _id, _desc, _path, _value, _word in [
    ("adam-moment-wrong-shape", "an Adam moment (exp_avg) of shape (1,) in state.safetensors (checksum updated)",
     ("optimizers", "model", "state", "__items__", "0", "1", "exp_avg"), torch.zeros(1), "exp_avg|optimizer"),
    ("torch-rng-wrong-size", "the torch RNG state cut to 10 bytes in state.safetensors (checksum updated)",
     ("rng", "torch"), torch.zeros(10, dtype=torch.uint8), "rng"),
    ("data-order-state-float", "the data-order generator state stored as floats (checksum updated)",
     ("epoch_start_data_state",), torch.zeros(5056), "epoch_start_data_state|data"),
]:
    _checkpoint_case(_id, _desc, _replace_state_tensor(_path, _value), _word)


@CASES.add("checkpoint-other-latent", "checkpoint", "a latent_dim 3 checkpoint resumed into a latent_dim 4 model",
           CheckpointError, "shape")
def _(tmp, fx):
    from conftest import tiny_model

    from gaekit.trainers import Trainer

    folder = fx.copy("checkpoint", tmp / "run" / "ckpt")
    return lambda: Trainer(tiny_model("VAE", latent_dim=4, reconstruction_loss="bce"),
                           fx.trainer_config(tmp, num_epochs=2), fx.train).resume(folder)


@CASES.add("checkpoint-missing", "checkpoint", "resume from a folder that does not exist", CheckpointError, "nockpt")
def _(tmp, fx):
    return _resume(tmp, fx, tmp / "nockpt", "resume")


@CASES.add("checkpoint-missing-from-checkpoint", "checkpoint", "Trainer.from_checkpoint of a missing folder",
           CheckpointError, "nockpt")
def _(tmp, fx):
    return _resume(tmp, fx, tmp / "nockpt")


@CASES.add("checkpoint-is-model-folder", "checkpoint", "Trainer.from_checkpoint of a model folder", CheckpointError,
           "trainer_state.json")
def _(tmp, fx):
    return _resume(tmp, fx, fx.copy("model", tmp / "model"))


@CASES.add("checkpoint-pipeline-missing", "checkpoint", "TrainingPipeline(resume_from=) a missing folder",
           CheckpointError, "nockpt")
def _(tmp, fx):
    from gaekit.pipelines import TrainingPipeline

    return lambda: TrainingPipeline(fx.trainer_config(tmp, num_epochs=2), fx.model(), resume_from=tmp / "nockpt")(
        fx.train, fx.val)


# ---------------------------------------------------------------------------- output folders
def _under_file(tmp):
    write(tmp / "afile", "a regular file")
    return tmp / "afile" / "sub"


OUTPUTS = [
    ("model-save-under-file", "model.save into a path under a regular file",
     lambda tmp, fx: (lambda m=fx.model(): m.save(_under_file(tmp))), "afile"),
    ("model-save-onto-file", "model.save onto an existing regular file",
     lambda tmp, fx: (lambda m=fx.model(), p=write(tmp / "target", "mine"): m.save(p)), "target"),
    ("model-save-foreign-folder", "model.save into a folder of the user's own files",
     lambda tmp, fx: (lambda m=fx.model(), p=write(tmp / "mydata" / "thesis.txt", "years of work").parent: m.save(p)),
     "mydata"),
    ("model-save-over-sampler", "model.save into a saved sampler folder",
     lambda tmp, fx: (lambda m=fx.model(), p=fx.copy("sampler", tmp / "sampler"): m.save(p)), "sampler"),
    ("model-save-over-checkpoint", "model.save into a training checkpoint folder",
     lambda tmp, fx: (lambda m=fx.model(), p=fx.copy("checkpoint", tmp / "ckpt"): m.save(p)), "ckpt"),
    ("model-save-over-run", "model.save into a run folder (history, checkpoints, final_model)",
     lambda tmp, fx: (lambda m=fx.model(), p=fx.copy("run", tmp / "run"): m.save(p)), "run"),
    ("sampler-save-over-run", "sampler.save into a run folder",
     lambda tmp, fx: (lambda r=fx.copy("run", tmp / "run"): __import__("gaekit.samplers", fromlist=["x"])
                      .BaseSampler.load_from_folder(fx.sampler_dir, fx.model()).save(r)), "run"),
    ("sampler-save-foreign-folder", "sampler.save into a folder of the user's own files",
     lambda tmp, fx: (lambda p=write(tmp / "mine" / "notes.txt", "mine").parent: __import__(
         "gaekit.samplers", fromlist=["x"]).BaseSampler.load_from_folder(fx.sampler_dir, fx.model()).save(p)),
     "mine"),
    ("sampler-save-over-model", "sampler.save into the model's folder",
     lambda tmp, fx: (lambda m=fx.copy("model", tmp / "model"): __import__("gaekit.samplers", fromlist=["x"])
                      .BaseSampler.load_from_folder(fx.sampler_dir, fx.model()).save(m)), "model"),
    ("pipeline-sampler-over-model", "GenerationPipeline(save_sampler_dir=) the model's own folder",
     lambda tmp, fx: (lambda m=fx.copy("model", tmp / "model"): __import__("gaekit.pipelines", fromlist=["x"])
                      .GenerationPipeline(fx.model())(num_samples=2, save_sampler_dir=m)), "model"),
    ("pipeline-output-under-file", "GenerationPipeline(output_dir=) under a regular file",
     lambda tmp, fx: (lambda: __import__("gaekit.pipelines", fromlist=["x"]).GenerationPipeline(fx.model())(
         num_samples=2, output_dir=_under_file(tmp))), "afile"),
    ("pipeline-output-is-file", "GenerationPipeline(output_dir=) an existing regular file",
     lambda tmp, fx: (lambda p=write(tmp / "samples", "mine"): __import__("gaekit.pipelines", fromlist=["x"])
                      .GenerationPipeline(fx.model())(num_samples=2, output_dir=p)), "samples"),
    ("trainer-output-under-file", "TrainerConfig.output_dir under a regular file",
     lambda tmp, fx: (lambda: __import__("gaekit.trainers", fromlist=["x"]).Trainer(
         fx.model(), fx.trainer_config(tmp, output_dir=str(_under_file(tmp))), fx.train).train()), "afile"),
    ("trainer-output-is-file", "TrainerConfig.output_dir is a regular file",
     lambda tmp, fx: (lambda p=write(tmp / "runs.txt", "x"): __import__("gaekit.trainers", fromlist=["x"]).Trainer(
         fx.model(), fx.trainer_config(tmp, output_dir=str(p)), fx.train).train()), "runs.txt"),
    ("checkpoint-name-escapes", "trainer.save_checkpoint('../../escaped') writes outside the run folder",
     lambda tmp, fx: (lambda: _checkpoint_named(tmp, fx, "../../escaped")), "escaped"),
    ("checkpoint-name-empty", "trainer.save_checkpoint('') (the run folder itself)",
     lambda tmp, fx: (lambda: _checkpoint_named(tmp, fx, "")), "checkpoint"),
    ("checkpoint-over-final-model", "trainer.save_checkpoint('final_model') over the saved model",
     lambda tmp, fx: (lambda: _checkpoint_named(tmp, fx, "final_model")), "final_model"),
    ("evaluate-output-under-file", "evaluate(output_dir=) under a regular file",
     lambda tmp, fx: (lambda: __import__("gaekit.metrics", fromlist=["x"]).evaluate(
         fx.model(), (fx.train, fx.val, fx.val), tasks="reconstruction", extractor="none",
         output_dir=_under_file(tmp))), "afile"),
    ("model-save-training-config-dict", "model.save(folder, training_config={'num_epochs': 1})",
     lambda tmp, fx: (lambda m=fx.model(): m.save(tmp / "saved", training_config={"num_epochs": 1})),
     "training_config"),
    ("model-save-int-path", "model.save(123)", lambda tmp, fx: (lambda m=fx.model(): m.save(123)), "123"),
    ("model-save-empty-path", "model.save('') (the current folder)",
     lambda tmp, fx: (lambda m=fx.model(): m.save("")), ""),
]


def _checkpoint_named(tmp, fx, name):
    """Train one epoch into ``tmp/nest/out``, then save a checkpoint called ``name``."""
    from gaekit.trainers import Trainer

    trainer = Trainer(fx.model(), fx.trainer_config(tmp, output_dir=str(tmp / "nest" / "out")), fx.train)
    trainer.train()
    trainer.save_checkpoint(name)


for _id, _desc, _make, _word in OUTPUTS:
    CASES.add(f"output-{_id}", "output-folder", _desc, FOLDER_REFUSED, _word)(_make)
