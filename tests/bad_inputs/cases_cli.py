"""Bad command lines: ``gaekit demo/train/generate/evaluate/bench`` (in-process, and a few real processes)."""
# ruff: noqa: B008 -- a case binds its inputs as lambda defaults so that they exist before the snapshot

from __future__ import annotations

import json

import numpy as np
from bad_inputs.harness import FOLDER_REFUSED, CaseList, write, write_json_file

from gaekit.errors import CheckpointError, ConfigError, DataError

CASES = CaseList()

QUICK_TRAIN = ["--epochs", "1", "--no-progress", "--no-eval"]
QUICK_DEMO = ["--epochs", "1", "--quiet", "--num-samples", "4"]
# a folder that is not a study: bench's own choice of class, any of these is clear
STUDY_REFUSED = (CheckpointError, ConfigError, DataError)
QUICK_EVAL = ["--tasks", "reconstruction", "--extractor", "none", "--no-progress"]


def _data(fx):
    return ["--dataset", f"npz:{fx.npz}"]


def _train(*args):
    return lambda tmp, fx: ["train", *_data(fx), "--output-dir", tmp / "runs", *QUICK_TRAIN, *args]


def _file(tmp, name, text):
    return write(tmp / name, text)


def _folder(tmp, name):
    (tmp / name).mkdir()
    return tmp / name


def _under_file(tmp):
    write(tmp / "afile", "a regular file")
    return tmp / "afile" / "sub"


def _wrong_shape_npz(tmp):
    path = tmp / "flat.npz"
    rng = np.random.default_rng(0)
    np.savez(path, **{s: rng.integers(0, 255, (16, 64), dtype=np.uint8) for s in ("train", "validation", "test")})
    return f"npz:{path}"


# (id, description, make(tmp, fx) -> argv, expected, words the stderr line must contain)
CLI = [
    # train: config files and model fields
    ("train-model-config-list", "train --model-config FILE holding a JSON list",
     lambda tmp, fx: _train("--model-config", _file(tmp, "model.json", "[1, 2]"))(tmp, fx), ConfigError, "model.json"),
    ("train-model-config-number", "train --model-config FILE holding a number",
     lambda tmp, fx: _train("--model-config", _file(tmp, "model.json", "3"))(tmp, fx), ConfigError, "model.json"),
    ("train-model-config-missing", "train --model-config of a file that does not exist",
     lambda tmp, fx: _train("--model-config", tmp / "nothere.json")(tmp, fx), ConfigError, "nothere.json"),
    ("train-model-config-invalid", "train --model-config FILE that is not JSON",
     lambda tmp, fx: _train("--model-config", _file(tmp, "model.json", "{latent: 3"))(tmp, fx), ConfigError,
     "model.json"),
    ("train-model-config-folder", "train --model-config FOLDER",
     lambda tmp, fx: _train("--model-config", _folder(tmp, "confs"))(tmp, fx), ConfigError, "confs"),
    ("train-model-config-binary", "train --model-config FILE of binary bytes",
     lambda tmp, fx: _train("--model-config", write(tmp / "model.json", b"\xff\xfe\x00"))(tmp, fx), ConfigError,
     "model.json"),
    ("train-broken-image-folder", "train --dataset images:FOLDER holding a broken .png",
     lambda tmp, fx: ["train", "--dataset", f"images:{write(tmp / 'pics' / 'a.png', b'junk').parent}", *QUICK_TRAIN],
     DataError, "a.png"),
    ("train-model-config-unknown-key", "train --model-config with an unknown key",
     lambda tmp, fx: _train("--model-config", _file(tmp, "model.json", '{"latnt_dim": 3}'))(tmp, fx), ConfigError,
     "latnt_dim"),
    ("train-model-config-other-name", "train VAE --model-config FILE of an AE config ({'name': 'AE'})",
     lambda tmp, fx: _train("--model-config", _file(tmp, "model.json", '{"name": "AE", "latent_dim": 3}'))(tmp, fx),
     ConfigError, "AE"),
    ("train-training-config-other-name", "train --training-config FILE of another config ({'name': 'Evaluation'})",
     lambda tmp, fx: _train("--training-config", _file(tmp, "train.json", '{"name": "Evaluation"}'))(tmp, fx),
     ConfigError, "Evaluation"),
    ("train-conv-on-vectors", "train --net conv on (64,) vectors",
     lambda tmp, fx: ["train", "--dataset", _wrong_shape_npz(tmp), "--net", "conv", "--output-dir", tmp / "runs",
                      *QUICK_TRAIN], ConfigError, "conv"),
    ("train-resume-wrong-shape-data", "train --resume CKPT --dataset of (64,) vectors",
     lambda tmp, fx: ["train", "--dataset", _wrong_shape_npz(tmp), "--resume",
                      fx.copy("run", tmp / "run") / "checkpoint_epoch_1"], (ConfigError, DataError), "(1, 8, 8)"),
    ("train-conflicting-loss", "train --reconstruction-loss mse --set reconstruction_loss=bce",
     lambda tmp, fx: _train("--reconstruction-loss", "mse", "--set", "reconstruction_loss=bce")(tmp, fx),
     ConfigError, "reconstruction"),
    ("train-training-config-list", "train --training-config FILE holding a JSON list",
     lambda tmp, fx: _train("--training-config", _file(tmp, "train.json", '["x"]'))(tmp, fx), ConfigError,
     "train.json"),
    ("train-training-config-unknown-key", "train --training-config with an unknown key",
     lambda tmp, fx: _train("--training-config", _file(tmp, "train.json", '{"epochz": 1}'))(tmp, fx), ConfigError,
     "epochz"),
    ("train-set-without-equals", "train --set latent_dim (no =VALUE)",
     lambda tmp, fx: _train("--set", "latent_dim")(tmp, fx), ConfigError, "latent_dim"),
    ("train-set-unknown-key", "train --set latnt_dim=3", lambda tmp, fx: _train("--set", "latnt_dim=3")(tmp, fx),
     ConfigError, "latnt_dim"),
    ("train-set-bad-value", "train --set latent_dim=0", lambda tmp, fx: _train("--set", "latent_dim=0")(tmp, fx),
     ConfigError, "latent_dim"),
    ("train-latent-dim-negative", "train --latent-dim -2", lambda tmp, fx: _train("--latent-dim", "-2")(tmp, fx),
     ConfigError, "latent_dim|--latent-dim"),
    ("train-unknown-model", "train NoSuchModel", lambda tmp, fx: [*_train()(tmp, fx), "NoSuchModel"], ConfigError,
     "NoSuchModel"),
    ("train-two-models", "train VAE --model AE", lambda tmp, fx: [*_train("--model", "AE")(tmp, fx), "VAE"],
     ConfigError, "AE"),
    ("train-net-wrong-shape", "train --net convnet on 8x8 images (the ConvNet needs MNIST/CIFAR/CelebA shapes)",
     lambda tmp, fx: _train("--net", "convnet")(tmp, fx), ConfigError, "convnet"),
    # train: numbers
    ("train-epochs-zero", "train --epochs 0", lambda tmp, fx: _train("--epochs", "0")(tmp, fx), ConfigError,
     "num_epochs|--epochs"),
    ("train-epochs-negative", "train --epochs -3", lambda tmp, fx: _train("--epochs", "-3")(tmp, fx), ConfigError,
     "num_epochs|--epochs"),
    ("train-batch-size-zero", "train --batch-size 0", lambda tmp, fx: _train("--batch-size", "0")(tmp, fx),
     ConfigError, "batch_size|--batch-size"),
    ("train-lr-nan", "train --lr nan", lambda tmp, fx: _train("--lr", "nan")(tmp, fx), ConfigError,
     "learning_rate|--lr"),
    ("train-lr-negative", "train --lr -0.1", lambda tmp, fx: _train("--lr", "-0.1")(tmp, fx), ConfigError,
     "learning_rate|--lr"),
    ("train-seed-huge", "train --seed 2**70", lambda tmp, fx: _train("--seed", str(2**70))(tmp, fx), ConfigError,
     "seed"),
    ("train-epochs-not-int", "train --epochs many (argparse)", lambda tmp, fx: _train("--epochs", "many")(tmp, fx),
     ConfigError, "epochs"),
    # train: data and folders
    ("train-data-dir-missing", "train --dataset mnist --data-dir /does/not/exist",
     lambda tmp, fx: ["train", "--dataset", "mnist", "--data-dir", "/does/not/exist", "--output-dir", tmp / "runs",
                      *QUICK_TRAIN], DataError, "/does/not/exist"),
    ("train-data-dir-digits", "train --data-dir /does/not/exist with the built-in digits",
     lambda tmp, fx: ["train", "--data-dir", "/does/not/exist", "--output-dir", tmp / "runs", *QUICK_TRAIN],
     (ConfigError, DataError), "/does/not/exist"),
    ("train-unknown-dataset", "train --dataset imagenet",
     lambda tmp, fx: ["train", "--dataset", "imagenet", "--output-dir", tmp / "runs", *QUICK_TRAIN], ConfigError,
     "imagenet"),
    ("train-npz-missing", "train --dataset npz:missing.npz",
     lambda tmp, fx: ["train", "--dataset", f"npz:{tmp / 'missing.npz'}", *QUICK_TRAIN], DataError, "missing.npz"),
    ("train-images-folder-missing", "train --dataset images:FOLDER that does not exist",
     lambda tmp, fx: ["train", "--dataset", f"images:{tmp / 'nopics'}", *QUICK_TRAIN], DataError, "nopics"),
    ("train-output-dir-under-file", "train --output-dir under a regular file",
     lambda tmp, fx: ["train", *_data(fx), "--output-dir", _under_file(tmp), *QUICK_TRAIN], FOLDER_REFUSED, "afile"),
    # train --resume
    ("train-resume-missing", "train --resume a folder that does not exist",
     lambda tmp, fx: ["train", *_data(fx), "--resume", tmp / "nockpt"], CheckpointError, "nockpt"),
    ("train-resume-model-folder", "train --resume a model folder (not a checkpoint)",
     lambda tmp, fx: ["train", *_data(fx), "--resume", fx.copy("model", tmp / "model")], CheckpointError,
     "checkpoint"),
    ("train-resume-with-lr", "train --resume CKPT --lr 0.1 (a flag that cannot apply)",
     lambda tmp, fx: ["train", *_data(fx), "--resume", fx.copy("run", tmp / "run") / "checkpoint_epoch_1",
                      "--lr", "0.1"], ConfigError, "--lr"),
    ("train-resume-with-batch-size", "train --resume CKPT --batch-size 8",
     lambda tmp, fx: ["train", *_data(fx), "--resume", fx.copy("run", tmp / "run") / "checkpoint_epoch_1",
                      "--batch-size", "8"], ConfigError, "--batch-size"),
    ("train-resume-with-set", "train --resume CKPT --set latent_dim=5",
     lambda tmp, fx: ["train", *_data(fx), "--resume", fx.copy("run", tmp / "run") / "checkpoint_epoch_1",
                      "--set", "latent_dim=5"], ConfigError, "--set"),
    ("train-resume-corrupt", "train --resume CKPT whose trainer_state.json is a list",
     lambda tmp, fx: ["train", *_data(fx), "--resume", _corrupt_checkpoint(tmp, fx)], CheckpointError,
     "trainer_state.json"),
    ("train-resume-empty-path", "train --resume '' (an empty path is not 'no resume')",
     lambda tmp, fx: ["train", *_data(fx), "--resume", ""], ConfigError, "--resume"),
    ("train-model-config-empty-path", "train --model-config '' (not silently ignored)",
     lambda tmp, fx: _train("--model-config", "")(tmp, fx), ConfigError, "--model-config"),
    ("train-training-config-empty-path", "train --training-config '' (not silently ignored)",
     lambda tmp, fx: _train("--training-config", "")(tmp, fx), ConfigError, "--training-config"),
    ("train-model-config-int-5000-digits", "train --model-config FILE with an int of 5000 digits",
     lambda tmp, fx: _train("--model-config", _file(tmp, "model.json", '{"latent_dim": ' + "9" * 5000 + "}"))(
         tmp, fx), ConfigError, "model.json"),
    ("generate-sampler-config-empty-path", "generate --sampler-config '' (not silently ignored)",
     lambda tmp, fx: ["generate", fx.model_dir, "--sampler-config", "", "--output-dir", tmp / "samples"],
     ConfigError, "--sampler-config"),
    ("generate-too-many-samples", "generate --num-samples 10**13 (more than memory holds)",
     lambda tmp, fx: ["generate", fx.model_dir, "--num-samples", str(10**13), "--output-dir", tmp / "samples"],
     ConfigError, "num_samples"),
    ("bench-spec-nested-too-deep", "bench plan SPEC nesting 100000 lists",
     lambda tmp, fx: ["bench", "plan", _file(tmp, "spec.json", "[" * 100000 + "]" * 100000), "--no-calibrate"],
     ConfigError, "spec"),
    # generate
    ("generate-missing-model", "generate a model folder that does not exist",
     lambda tmp, fx: ["generate", tmp / "nomodel", "--output-dir", tmp / "samples"], CheckpointError, "nomodel"),
    ("generate-run-folder", "generate RUN_DIR instead of RUN_DIR/final_model",
     lambda tmp, fx: ["generate", fx.copy("run", tmp / "run"), "--output-dir", tmp / "samples"], CheckpointError,
     "final_model"),
    ("generate-unknown-sampler", "generate --sampler magic",
     lambda tmp, fx: ["generate", fx.model_dir, "--sampler", "magic"], ConfigError, "magic"),
    ("generate-sampler-config-list", "generate --sampler-config FILE holding a list",
     lambda tmp, fx: ["generate", fx.model_dir, "--sampler", "gmm", *_data(fx), "--sampler-config",
                      _file(tmp, "gmm.json", "[2]")], ConfigError, "gmm.json"),
    ("generate-sampler-config-unknown-key", "generate --sampler-config with an unknown key",
     lambda tmp, fx: ["generate", fx.model_dir, "--sampler", "gmm", *_data(fx), "--sampler-config",
                      _file(tmp, "gmm.json", '{"components": 2}')], ConfigError, "components"),
    ("generate-zero-components", "generate --sampler gmm --n-components 0",
     lambda tmp, fx: ["generate", fx.model_dir, "--sampler", "gmm", *_data(fx), "--n-components", "0"],
     ConfigError, "num_components|--n-components"),
    ("generate-n-components-for-normal", "generate --sampler normal --n-components 3 (a flag that cannot apply)",
     lambda tmp, fx: ["generate", fx.model_dir, "--n-components", "3", "--output-dir", tmp / "s"], ConfigError,
     "--n-components"),
    ("generate-zero-samples", "generate --num-samples 0", lambda tmp, fx: ["generate", fx.model_dir,
                                                                           "--num-samples", "0"], ConfigError,
     "num_samples|--num-samples"),
    ("generate-negative-samples", "generate --num-samples -5",
     lambda tmp, fx: ["generate", fx.model_dir, "--num-samples", "-5"], ConfigError,
     "num_samples|--num-samples"),
    ("generate-batch-size-zero", "generate --batch-size 0",
     lambda tmp, fx: ["generate", fx.model_dir, "--batch-size", "0"], ConfigError,
     "batch_size|--batch-size"),
    ("generate-seed-huge", "generate --seed 2**70", lambda tmp, fx: ["generate", fx.model_dir, "--seed", str(2**70)],
     ConfigError, "seed"),
    ("generate-output-under-file", "generate --output-dir under a regular file",
     lambda tmp, fx: ["generate", fx.model_dir, "--num-samples", "2", "--output-dir", _under_file(tmp)],
     FOLDER_REFUSED, "afile"),
    ("generate-vamp-for-vae", "generate --sampler vamp for a VAE",
     lambda tmp, fx: ["generate", fx.model_dir, "--sampler", "vamp"], ConfigError, "VAMP"),
    ("generate-gmm-wrong-shape-data", "generate --sampler gmm with a dataset of (64,) vectors for an 8x8 model",
     lambda tmp, fx: ["generate", fx.model_dir, "--sampler", "gmm", "--dataset", _wrong_shape_npz(tmp)],
     DataError, "(1, 8, 8)"),
    # evaluate
    ("evaluate-missing-model", "evaluate a model folder that does not exist",
     lambda tmp, fx: ["evaluate", tmp / "nomodel", *_data(fx), *QUICK_EVAL], CheckpointError, "nomodel"),
    ("evaluate-unknown-task", "evaluate --tasks dreaming",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), *QUICK_EVAL, "--tasks", "dreaming"], ConfigError,
     "dreaming"),
    ("evaluate-config-list", "evaluate --config FILE holding a list",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), *QUICK_EVAL, "--config", _file(tmp, "ev.json", "[]")],
     ConfigError, "ev.json"),
    ("evaluate-config-unknown-key", "evaluate --config with an unknown key",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), *QUICK_EVAL, "--config",
                      _file(tmp, "ev.json", '{"runs": 2}')], ConfigError, "runs"),
    ("evaluate-unknown-extractor", "evaluate --extractor telepathy",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), "--tasks", "reconstruction", "--extractor", "telepathy"],
     ConfigError, "telepathy"),
    ("evaluate-unknown-sampler", "evaluate --sampler magic",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), "--tasks", "generation", "--sampler", "magic"],
     ConfigError, "magic"),
    ("evaluate-zero-classification-runs", "evaluate --classification-runs 0",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), *QUICK_EVAL, "--classification-runs", "0"],
     ConfigError, "classification_runs|--classification-runs"),
    ("evaluate-zero-nll-samples", "evaluate --nll-samples 0",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), *QUICK_EVAL, "--nll-samples", "0"], ConfigError,
     "nll|--nll-samples"),
    ("evaluate-nll-num-test-one", "evaluate --nll-num-test 1",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), *QUICK_EVAL, "--nll-num-test", "1"], ConfigError,
     "nll_num_test|--nll-num-test"),
    ("evaluate-negative-seed", "evaluate --seed -1",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), *QUICK_EVAL, "--seed", "-1"], ConfigError, "seed"),
    ("evaluate-inception-weights-missing", "evaluate --extractor inception-v3 --inception-weights MISSING",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), "--tasks", "reconstruction", "--no-progress",
                      "--extractor", "inception-v3", "--no-download", "--inception-weights", tmp / "missing.pth"],
     (CheckpointError, ConfigError, DataError), "missing.pth"),
    ("evaluate-gmm-too-many-components", "evaluate --sampler gmm --n-components 999 (64 training images)",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), "--tasks", "generation", "--sampler", "gmm",
                      "--n-components", "999", "--extractor", "digits-classifier", "--no-progress"],
     (ConfigError, DataError), "num_components"),
    ("evaluate-n-components-unused", "evaluate --tasks reconstruction --n-components 3 (no generation task)",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), *QUICK_EVAL, "--n-components", "3"], ConfigError,
     "--n-components"),
    ("evaluate-out-under-file", "evaluate --out under a regular file",
     lambda tmp, fx: ["evaluate", fx.model_dir, *_data(fx), *QUICK_EVAL, "--out", _under_file(tmp)],
     FOLDER_REFUSED, "afile"),
    ("evaluate-wrong-shape-data", "evaluate an 8x8 model on a dataset of (64,) vectors",
     lambda tmp, fx: ["evaluate", fx.model_dir, "--dataset", _wrong_shape_npz(tmp), *QUICK_EVAL], DataError,
     "(1, 8, 8)"),
    ("evaluate-data-dir-missing", "evaluate --dataset mnist --data-dir /does/not/exist",
     lambda tmp, fx: ["evaluate", fx.model_dir, "--dataset", "mnist", "--data-dir", "/does/not/exist", *QUICK_EVAL],
     DataError, "/does/not/exist"),
    # demo
    ("demo-epochs-zero", "demo --epochs 0", lambda tmp, fx: ["demo", "--output-dir", tmp / "demo", "--quiet",
                                                             "--epochs", "0"], ConfigError,
     "num_epochs|--epochs"),
    ("demo-batch-size-zero", "demo --batch-size 0",
     lambda tmp, fx: ["demo", "--output-dir", tmp / "demo", *QUICK_DEMO, "--batch-size", "0"], ConfigError,
     "batch_size|--batch-size"),
    ("demo-latent-dim-negative", "demo --latent-dim -1",
     lambda tmp, fx: ["demo", "--output-dir", tmp / "demo", *QUICK_DEMO, "--latent-dim", "-1"], ConfigError,
     "latent_dim|--latent-dim"),
    ("demo-zero-samples", "demo --num-samples 0",
     lambda tmp, fx: ["demo", "--output-dir", tmp / "demo", "--epochs", "1", "--quiet", "--num-samples", "0"],
     ConfigError, "num_samples|--num-samples"),
    ("demo-unknown-dataset", "demo --dataset imagenet",
     lambda tmp, fx: ["demo", "--output-dir", tmp / "demo", *QUICK_DEMO, "--dataset", "imagenet"], ConfigError,
     "imagenet"),
    ("demo-output-under-file", "demo --output-dir under a regular file",
     lambda tmp, fx: ["demo", "--output-dir", _under_file(tmp), *QUICK_DEMO], FOLDER_REFUSED, "afile"),
    ("demo-data-dir-missing", "demo --data-dir /does/not/exist",
     lambda tmp, fx: ["demo", "--output-dir", tmp / "demo", *QUICK_DEMO, "--data-dir", "/does/not/exist"],
     (ConfigError, DataError), "/does/not/exist"),
    # bench
    ("bench-spec-missing", "bench run SPEC that does not exist",
     lambda tmp, fx: ["bench", "run", tmp / "nospec.json", "--out", tmp / "study"], ConfigError, "nospec.json"),
    ("bench-spec-list", "bench plan SPEC holding a JSON list",
     lambda tmp, fx: ["bench", "plan", _file(tmp, "spec.json", "[]"), "--no-calibrate"], ConfigError, "spec.json"),
    ("bench-spec-unknown-model", "bench plan SPEC naming an unknown model",
     lambda tmp, fx: ["bench", "plan", _spec(tmp, models=[{"label": "X", "model": "NoSuchModel"}]),
                      "--no-calibrate"], ConfigError, "NoSuchModel"),
    ("bench-no-spec", "bench run with neither SPEC nor --preset", lambda tmp, fx: ["bench", "run"], ConfigError,
     "SPEC"),
    ("bench-bad-shard", "bench run SPEC --shard 3/2",
     lambda tmp, fx: ["bench", "run", _spec(tmp), "--shard", "3/2", "--out", tmp / "study", "--no-progress"],
     ConfigError, "shard"),
    ("bench-workers-beyond-c-int", "bench run SPEC --workers 10**20 (no OverflowError from multiprocessing)",
     lambda tmp, fx: ["bench", "run", _spec(tmp), "--workers", str(10**20), "--out", tmp / "study", "--no-progress"],
     ConfigError, "workers"),
    ("bench-ray-address-without-ray", "bench run SPEC --ray-address ADDR with the local executor (not ignored)",
     lambda tmp, fx: ["bench", "run", _spec(tmp), "--ray-address", "ray://head:10001", "--out", tmp / "study",
                      "--no-progress"], ConfigError, "ray"),
    ("bench-zero-workers", "bench run SPEC --workers 0",
     lambda tmp, fx: ["bench", "run", _spec(tmp), "--workers", "0", "--out", tmp / "study", "--no-progress"],
     ConfigError, "workers"),
    ("bench-out-under-file", "bench run SPEC --out under a regular file",
     lambda tmp, fx: ["bench", "run", _spec(tmp), "--out", _under_file(tmp), "--no-progress"], FOLDER_REFUSED,
     "afile"),
    ("bench-report-missing", "bench report a folder that does not exist",
     lambda tmp, fx: ["bench", "report", tmp / "nostudy"], STUDY_REFUSED, "nostudy"),
    ("bench-report-not-study", "bench report a model folder (not a study)",
     lambda tmp, fx: ["bench", "report", fx.copy("model", tmp / "model")], STUDY_REFUSED, "model"),
    # reproduce
    ("reproduce-unknown-recipe", "reproduce a recipe that does not exist",
     lambda tmp, fx: ["reproduce", "vae-imagenet", "--out", tmp / "run"], ConfigError, "vae-imagenet"),
    ("reproduce-zero-repeats", "reproduce RECIPE --repeats 0",
     lambda tmp, fx: ["reproduce", "pvae-mnist", "--smoke", "--repeats", "0", "--out", tmp / "run"], ConfigError,
     "repeats"),
    ("reproduce-out-under-file", "reproduce RECIPE --out under a regular file",
     lambda tmp, fx: ["reproduce", "pvae-mnist", "--smoke", "--out", _under_file(tmp)], FOLDER_REFUSED, "afile"),
    ("reproduce-inception-weights-missing", "reproduce RECIPE --inception-weights of a file that does not exist",
     lambda tmp, fx: ["reproduce", "rae-l2-mnist", "--smoke", "--inception-weights", tmp / "noweights.pth",
                      "--out", tmp / "run"], ConfigError, "noweights.pth"),
    ("reproduce-report-missing", "reproduce report a folder that does not exist",
     lambda tmp, fx: ["reproduce", "report", tmp / "noruns"], (ConfigError, DataError), "noruns"),
]


def _corrupt_checkpoint(tmp, fx):
    folder = fx.copy("run", tmp / "run") / "checkpoint_epoch_1"
    (folder / "trainer_state.json").write_text("[]")
    return folder


def _spec(tmp, **change):
    from bad_inputs.cases_config import SPEC

    tiny = {"training": {"num_epochs": 1, "batch_size": 32, "device": "cpu"}, "data": {"max_train": 32,
            "max_validation": 16, "max_test": 16}, "tasks": ["reconstruction"], "extractor": "none"}
    return write_json_file(tmp / "spec.json", {**SPEC, **tiny, **change})


for _id, _desc, _make, _expected, _word in CLI:
    CASES.add(f"cli-{_id}", "cli", f"gaekit {_desc}", _expected, _word, kind="cli")(_make)

# the same checks on the real command: exit code 2, one line on stderr, no traceback
SUBPROCESS = [
    ("train-model-config-list", "train --model-config FILE holding a JSON list (real process)",
     lambda tmp, fx: ["train", *_data(fx), "--model-config", _file(tmp, "model.json", json.dumps([1])),
                      *QUICK_TRAIN], ConfigError, "model.json"),
    ("generate-missing-model", "generate a missing model folder (real process)",
     lambda tmp, fx: ["generate", tmp / "nomodel"], CheckpointError, "nomodel"),
    ("evaluate-run-folder", "evaluate RUN_DIR instead of its final_model (real process)",
     lambda tmp, fx: ["evaluate", fx.copy("run", tmp / "run"), *_data(fx), *QUICK_EVAL], CheckpointError,
     "final_model"),
    ("bench-spec-list", "bench plan SPEC holding a JSON list (real process)",
     lambda tmp, fx: ["bench", "plan", _file(tmp, "spec.json", "[]"), "--no-calibrate"], ConfigError, "spec"),
]
for _id, _desc, _make, _expected, _word in SUBPROCESS:
    CASES.add(f"cli-process-{_id}", "cli", f"gaekit {_desc}", _expected, _word, kind="subprocess")(_make)
