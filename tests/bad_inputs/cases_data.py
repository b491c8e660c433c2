"""Bad data: to the Trainer, the model helpers and the dataset loaders."""
# ruff: noqa: B008 -- a case binds its inputs as lambda defaults so that they exist before the snapshot

from __future__ import annotations

import numpy as np
import torch
from bad_inputs.harness import CaseList, write

from gaekit.errors import ConfigError, DataError

CASES = CaseList()


def _trainer(tmp, fx, train, eval_data=None, **config):
    """A thunk building a Trainer on ``train`` and training it (one epoch)."""
    from gaekit.trainers import Trainer

    def run():
        Trainer(fx.model(), fx.trainer_config(tmp, **config), train, eval_data).train()

    return run


def _with(fx, change, n=16):
    x = fx.x(n)
    out = change(x)
    return x if out is None else out


# (id, description, build the bad training data from fx, words the message must contain)
TRAIN_DATA = [
    ("nan-pixel", "train data with one NaN pixel", lambda fx: _with(fx, lambda x: x.__setitem__((3, 0, 2, 2), np.nan)),
     "NaN"),
    ("inf-pixel", "train data with one +inf pixel", lambda fx: _with(fx, lambda x: x.__setitem__((5, 0, 1, 1), np.inf)),
     "inf"),
    ("wrong-image-size", "7x7 images for an 8x8 model", lambda fx: np.random.rand(16, 1, 7, 7).astype("float32"),
     "train_data"),
    ("flat-vectors", "(N, 64) vectors for a (1, 8, 8) model", lambda fx: fx.x().reshape(16, 64), "train_data"),
    ("no-channel-axis", "(N, 8, 8) images for a (1, 8, 8) model", lambda fx: fx.x()[:, 0], "train_data"),
    ("three-channels", "(N, 3, 8, 8) images for a (1, 8, 8) model", lambda fx: np.repeat(fx.x(), 3, axis=1),
     "train_data"),
    ("empty", "an empty (0, 1, 8, 8) array", lambda fx: np.zeros((0, 1, 8, 8), "float32"), "empty"),
    ("scalar", "a 0-d array instead of samples", lambda fx: np.float32(0.5), "float32"),
    ("single-image", "one (1, 8, 8) image without the batch axis", lambda fx: fx.x()[0], "train_data"),
    ("strings", "an array of strings", lambda fx: np.array([["a"] * 64] * 4).reshape(4, 1, 8, 8), "dtype"),
    ("objects", "an object array", lambda fx: np.empty((4, 1, 8, 8), dtype=object), "dtype"),
    ("complex", "complex64 pixels", lambda fx: fx.x().astype(np.complex64), "complex"),
    ("bool", "boolean pixels", lambda fx: fx.x() > 0.5, "bool"),
    ("int64-pixels", "int64 pixels in 0..255", lambda fx: (fx.x() * 255).astype(np.int64), "int64"),
    ("float64-0-255-sigmoid", "float64 images in 0..255 for a sigmoid model",
     lambda fx: fx.x().astype(np.float64) * 255, "255"),
    ("negative-values", "float pixels in [-1, 0] for a sigmoid/BCE model", lambda fx: -fx.x(), "[0, 1]"),
    ("python-list", "a nested Python list instead of an array", lambda fx: fx.x().tolist(), "list"),
    ("dict", "a dict of arrays", lambda fx: {"x": fx.x()}, "dict"),
    ("string-path", "a file name instead of data", lambda fx: "digits.npz", "str"),
]

for _id, _desc, _build, _word in TRAIN_DATA:
    CASES.add(f"data-train-{_id}", "data", f"Trainer: {_desc}", DataError, _word)(
        lambda tmp, fx, build=_build: _trainer(tmp, fx, build(fx)))


@CASES.add("data-train-float64-0-255-mse-sigmoid", "data",
           "Trainer: float64 images in 0..255 for an MSE model with a sigmoid output", DataError, "255")
def _(tmp, fx):
    from conftest import tiny_model

    from gaekit.trainers import Trainer

    model = tiny_model("AE", reconstruction_loss="mse", output_activation="sigmoid")
    return lambda: Trainer(model, fx.trainer_config(tmp), fx.x().astype(np.float64) * 255).train()


@CASES.add("data-train-none", "data", "Trainer: train_data=None", ConfigError, "train_data")
def _(tmp, fx):
    return _trainer(tmp, fx, None)


for _id, _desc, _build, _word in [
    ("wrong-shape", "7x7 images", lambda fx: np.random.rand(8, 1, 7, 7).astype("float32"), "eval_data"),
    ("nan", "a NaN pixel", lambda fx: _with(fx, lambda x: x.__setitem__((0, 0, 0, 0), np.nan), 8), "eval_data"),
    ("empty", "no samples", lambda fx: np.zeros((0, 1, 8, 8), "float32"), "eval_data"),
    ("out-of-range", "values in [0, 3] for a BCE model", lambda fx: fx.x(8) * 3, "eval_data"),
]:
    CASES.add(f"data-eval-{_id}", "data", f"Trainer: eval_data with {_desc}", DataError, _word)(
        lambda tmp, fx, build=_build: _trainer(tmp, fx, fx.x(), build(fx)))


class _ShapeShifting(torch.utils.data.Dataset):
    """Items 0..31 are (1, 8, 8) images; later items have ``late_shape`` or ``late_value``."""

    def __init__(self, late_shape=(1, 8, 8), late_value=0.5, n=64):
        self.late_shape, self.late_value, self.n = late_shape, late_value, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i < 32:
            return torch.full((1, 8, 8), 0.5)
        return torch.full(self.late_shape, self.late_value)


def _loader(**kwargs):
    return torch.utils.data.DataLoader(_ShapeShifting(**kwargs), batch_size=32, shuffle=False)


@CASES.add("data-loader-later-batch-shape", "data", "a DataLoader whose second batch holds 9x9 images",
           DataError, "9")
def _(tmp, fx):
    return _trainer(tmp, fx, _loader(late_shape=(1, 9, 9)))


@CASES.add("data-loader-later-batch-flat", "data", "a DataLoader whose second batch holds (B, 64) vectors",
           DataError, "64")
def _(tmp, fx):
    return _trainer(tmp, fx, _loader(late_shape=(64,)))


@CASES.add("data-loader-later-batch-out-of-range", "data",
           "a DataLoader whose second batch has values 2.0 for a BCE model", DataError, "[0, 1]")
def _(tmp, fx):
    return _trainer(tmp, fx, _loader(late_value=2.0))


@CASES.add("data-loader-empty", "data", "a DataLoader over an empty dataset", DataError, "empty")
def _(tmp, fx):
    return _trainer(tmp, fx, torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(0, 1, 8, 8)),
                                                         batch_size=4))


@CASES.add("data-torch-dataset-wrong-shape", "data", "a torch Dataset of 7x7 images", DataError, "train_data")
def _(tmp, fx):
    return _trainer(tmp, fx, torch.utils.data.TensorDataset(torch.rand(16, 1, 7, 7)))


@CASES.add("data-torch-dataset-strings", "data", "a torch Dataset whose items are strings", DataError, "str")
def _(tmp, fx):
    class Strings(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return "image"

    return _trainer(tmp, fx, Strings())


@CASES.add("data-loader-dict-without-data", "data", "a DataLoader yielding dicts without a 'data' key",
           DataError, "'data'")
def _(tmp, fx):
    class Dicts(torch.utils.data.Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return {"pixels": torch.rand(1, 8, 8)}

    return _trainer(tmp, fx, torch.utils.data.DataLoader(Dicts(), batch_size=4))


@CASES.add("data-labels-wrong-count", "data", "an ArrayDataset with 3 labels for 16 samples", DataError, "labels")
def _(tmp, fx):
    from gaekit.data import ArrayDataset

    return lambda: ArrayDataset(fx.x(), np.arange(3))


@CASES.add("data-labels-float", "data", "an ArrayDataset with float labels", DataError, "labels")
def _(tmp, fx):
    from gaekit.data import ArrayDataset

    return lambda: ArrayDataset(fx.x(), np.linspace(0, 1, 16))


# ----------------------------------------------------------------- model helpers on bad data
HELPER_DATA = [
    ("flat", "(N, 64) vectors", lambda fx: torch.as_tensor(fx.x().reshape(16, 64)), "(1, 8, 8)"),
    ("wrong-size", "7x7 images", lambda fx: torch.rand(4, 1, 7, 7), "(1, 8, 8)"),
    ("no-batch-axis", "one image without the batch axis", lambda fx: torch.as_tensor(fx.x()[0]), "(1, 8, 8)"),
    ("nan", "a NaN pixel", lambda fx: torch.as_tensor(_with(fx, lambda x: x.__setitem__((0, 0, 0, 0), np.nan), 4)),
     "NaN"),
    ("int64", "int64 pixels", lambda fx: torch.as_tensor((fx.x(4) * 255).astype(np.int64)), "int64"),
]
for _id, _desc, _build, _word in HELPER_DATA:
    for _method in ("reconstruct", "embed"):
        CASES.add(f"data-{_method}-{_id}", "data", f"model.{_method} on {_desc}", DataError, _word)(
            lambda tmp, fx, build=_build, method=_method: (
                lambda model=fx.model(), x=build(fx): getattr(model, method)(x)))

CASES.add("data-interpolate-wrong-shape", "data", "model.interpolate between 7x7 images", DataError, "(1, 8, 8)")(
    lambda tmp, fx: (lambda model=fx.model(): model.interpolate(torch.rand(2, 1, 7, 7), torch.rand(2, 1, 7, 7))))
CASES.add("data-log-likelihood-wrong-shape", "data", "model.log_likelihood on (N, 64) vectors", DataError,
          "(1, 8, 8)")(lambda tmp, fx: (lambda model=fx.model(): model.log_likelihood(torch.rand(4, 64), 3)))
CASES.add("data-trainer-evaluate-wrong-shape", "data", "trainer.evaluate(data) on 7x7 images", DataError,
          "(1, 8, 8)")(
    lambda tmp, fx: (lambda: __import__("gaekit.trainers", fromlist=["Trainer"]).Trainer(
        fx.model(), fx.trainer_config(tmp, output_dir=None), fx.x()).evaluate(torch.rand(4, 1, 7, 7))))


@CASES.add("data-resume-wrong-shape", "data", "resuming a checkpoint with 7x7 training images", DataError,
           "train_data")
def _(tmp, fx):
    from gaekit.trainers import Trainer

    ckpt = fx.copy("checkpoint", tmp / "ckpt")
    return lambda: Trainer.from_checkpoint(ckpt, torch.rand(16, 1, 7, 7))


# ---------------------------------------------------------------------------- loaders
@CASES.add("data-load-npz-missing", "data", "load_npz of a file that does not exist", DataError, "nothere.npz")
def _(tmp, fx):
    from gaekit.data import load_npz

    return lambda: load_npz(tmp / "nothere.npz")


@CASES.add("data-load-npz-garbage", "data", "load_npz of random bytes named .npz", DataError, "junk.npz")
def _(tmp, fx):
    from gaekit.data import load_npz

    path = write(tmp / "junk.npz", bytes(range(256)) * 4)
    return lambda: load_npz(path)


@CASES.add("data-load-npz-object-array", "data", "an .npz holding an object (pickled) array", DataError, "pickle")
def _(tmp, fx):
    from gaekit.data import load_npz

    path = tmp / "objects.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object))
    return lambda: load_npz(path)


@CASES.add("data-load-npz-missing-key", "data", "load_npz with a key the file does not hold", DataError, "nokey")
def _(tmp, fx):
    from gaekit.data import load_npz

    path = tmp / "small.npz"
    np.savez(path, x=fx.x())
    return lambda: load_npz(path, key="nokey")


@CASES.add("data-load-npz-truncated", "data", "load_npz of an .npz cut after 300 bytes (a broken zip)", DataError,
           "cut.npz")
def _(tmp, fx):
    from gaekit.data import load_npz

    whole = tmp / "whole.npz"
    np.savez(whole, x=fx.x())
    path = write(tmp / "cut.npz", whole.read_bytes()[:300])
    return lambda: load_npz(path)


@CASES.add("data-load-npz-bytes-path", "data", "load_npz(b'/path/to/file.npz'): a bytes path", DataError, "bytes")
def _(tmp, fx):
    from gaekit.data import load_npz

    path = tmp / "small.npz"
    np.savez(path, x=fx.x())
    return lambda: load_npz(str(path).encode())


@CASES.add("data-load-mnist-root-int", "data", "load_mnist(root=5): a number as the data folder", DataError, "root")
def _(tmp, fx):
    from gaekit.data import load_mnist

    return lambda: load_mnist("train", root=5)


@CASES.add("data-load-dataset-name-none", "data", "load_dataset(None): no dataset name", ConfigError, "None")
def _(tmp, fx):
    from gaekit.data import load_dataset

    return lambda: load_dataset(None)


@CASES.add("data-load-npz-text-file", "data", "load_dataset('npz:...') of a text file", DataError, "notes.npz")
def _(tmp, fx):
    from gaekit.data import load_dataset

    path = write(tmp / "notes.npz", "just some text\n")
    return lambda: load_dataset(f"npz:{path}")


@CASES.add("data-load-dataset-unknown", "data", "load_dataset of an unknown dataset name", ConfigError,
           "nosuchset")
def _(tmp, fx):
    from gaekit.data import load_dataset

    return lambda: load_dataset("nosuchset")


@CASES.add("data-load-digits-bad-split", "data", "load_digits('training'): an unknown split", ConfigError,
           "training")
def _(tmp, fx):
    from gaekit.data import load_digits

    return lambda: load_digits("training")


@CASES.add("data-load-mnist-root-missing", "data", "load_mnist(root=) a folder that does not exist", DataError,
           "nowhere")
def _(tmp, fx):
    from gaekit.data import load_mnist

    return lambda: load_mnist("train", root=tmp / "nowhere")


@CASES.add("data-load-dataset-root-missing", "data", "load_dataset('fashion-mnist', root=) a missing folder",
           DataError, "nowhere")
def _(tmp, fx):
    from gaekit.data import load_dataset

    return lambda: load_dataset("fashion-mnist", "train", root=tmp / "nowhere")


@CASES.add("data-load-mnist-root-without-files", "data", "load_mnist(root=) an existing folder without MNIST files",
           DataError, "emptyroot")
def _(tmp, fx):
    from gaekit.data import load_mnist

    (tmp / "emptyroot").mkdir()
    return lambda: load_mnist("train", root=tmp / "emptyroot")


@CASES.add("data-read-idx-truncated", "data", "read_idx of a 2-byte file", DataError, "short.idx")
def _(tmp, fx):
    from gaekit.data import read_idx

    path = write(tmp / "short.idx", b"\x00\x00")
    return lambda: read_idx(path)


@CASES.add("data-read-idx-bad-magic", "data", "read_idx of a file with a wrong magic number", DataError,
           "magic.idx")
def _(tmp, fx):
    from gaekit.data import read_idx

    path = write(tmp / "magic.idx", b"\x12\x34\x56\x78" + bytes(64))
    return lambda: read_idx(path)


@CASES.add("data-image-folder-empty", "data", "load_image_folder of an empty folder", DataError, "pics")
def _(tmp, fx):
    from gaekit.data import load_image_folder

    (tmp / "pics").mkdir()
    return lambda: load_image_folder(tmp / "pics", split="all")


@CASES.add("data-image-folder-corrupt-png", "data", "an image folder holding a .png of random bytes", DataError,
           "broken.png")
def _(tmp, fx):
    from gaekit.data import load_image_folder

    write(tmp / "pics" / "broken.png", bytes(range(200)))
    return lambda: load_image_folder(tmp / "pics", split="all")


@CASES.add("data-image-folder-is-file", "data", "load_image_folder of a regular file", DataError, "file.txt")
def _(tmp, fx):
    from gaekit.data import load_image_folder

    path = write(tmp / "file.txt", "x")
    return lambda: load_image_folder(path, split="all")


@CASES.add("data-iterate-batch-size-zero", "data", "iterate_batches with batch_size=0", ConfigError, "batch_size")
def _(tmp, fx):
    from gaekit.data import iterate_batches

    return lambda: list(iterate_batches(fx.train, 0, shuffle=False, generator=None))


@CASES.add("data-drop-last-no-batch", "data", "drop_last=True with fewer samples than one batch (no step at all)",
           (ConfigError, DataError), "drop_last|batch_size")
def _(tmp, fx):
    return _trainer(tmp, fx, fx.x(16), drop_last=True, batch_size=32)


@CASES.add("data-meta-tensor", "data", "a tensor on the 'meta' device (no values)", DataError, "meta")
def _(tmp, fx):
    return _trainer(tmp, fx, torch.empty(16, 1, 8, 8, device="meta"))


@CASES.add("data-loader-unbatched", "data", "a DataLoader with batch_size=None (yields single images)", DataError,
           "train_data")
def _(tmp, fx):
    return _trainer(tmp, fx, torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.rand(8, 1, 8, 8)),
                                                         batch_size=None))


@CASES.add("data-sampler-fit-loader-later-batch-shape", "data",
           "GMM fitted on a DataLoader whose second batch holds 9x9 images", DataError, "9")
def _(tmp, fx):
    from gaekit.samplers import GaussianMixtureSampler, GaussianMixtureSamplerConfig

    sampler = GaussianMixtureSampler(fx.model(), GaussianMixtureSamplerConfig(num_components=2, num_init=1))
    return lambda: sampler.fit(_loader(late_shape=(1, 9, 9)))


@CASES.add("data-evaluate-loader-later-batch-shape", "data",
           "evaluate on a test DataLoader whose second batch holds 9x9 images", DataError, "9")
def _(tmp, fx):
    from gaekit.metrics import evaluate

    model = fx.model()
    return lambda: evaluate(model, (fx.train, fx.val, _loader(late_shape=(1, 9, 9))), tasks="reconstruction",
                            extractor="none")


@CASES.add("data-resume-eval-wrong-shape", "data", "resuming a checkpoint with 7x7 eval images", DataError,
           "eval_data")
def _(tmp, fx):
    from gaekit.trainers import Trainer

    ckpt = fx.copy("checkpoint", tmp / "ckpt")
    return lambda: Trainer.from_checkpoint(ckpt, fx.train, torch.rand(8, 1, 7, 7))


@CASES.add("data-subset-out-of-range", "data", "ArrayDataset.subset with index 1000 of 64 samples", DataError, "1000")
def _(tmp, fx):
    return lambda: fx.train.subset([1000])


def _one_png_folder(tmp):
    from PIL import Image

    (tmp / "pics").mkdir()
    Image.new("RGB", (10, 10), color=(200, 10, 10)).save(tmp / "pics" / "red.png")
    return tmp / "pics"


for _id, _kwargs, _word in [("image-size-zero", {"image_size": 0}, "image_size"),
                            ("channels-two", {"channels": 2}, "channels"),
                            ("split-unknown", {"split": "training"}, "training")]:
    CASES.add(f"data-image-folder-{_id}", "data", f"load_image_folder(**{_kwargs})", ConfigError, _word)(
        lambda tmp, fx, kwargs=_kwargs: (lambda folder=_one_png_folder(tmp): __import__(
            "gaekit.data", fromlist=["x"]).load_image_folder(folder, **kwargs)))


@CASES.add("data-decode-image-garbage", "data", "decode_image of a .jpg holding text", DataError, "fake.jpg")
def _(tmp, fx):
    from gaekit.data import decode_image

    path = write(tmp / "fake.jpg", "not an image")
    return lambda: decode_image(path)


@CASES.add("data-cifar-batch-garbage", "data", "read_cifar_batch of random bytes", DataError, "data_batch_1")
def _(tmp, fx):
    from gaekit.data import read_cifar_batch

    path = write(tmp / "data_batch_1", bytes(range(256)) * 8)
    return lambda: read_cifar_batch(path)


@CASES.add("data-cifar-root-missing", "data", "load_cifar10(root=) a folder that does not exist", DataError,
           "nowhere")
def _(tmp, fx):
    from gaekit.data import load_cifar10

    return lambda: load_cifar10("train", root=tmp / "nowhere")


@CASES.add("data-celeba-root-missing", "data", "load_celeba(root=) a folder that does not exist", DataError,
           "nowhere")
def _(tmp, fx):
    from gaekit.data import load_celeba

    return lambda: load_celeba("train", root=tmp / "nowhere")


@CASES.add("data-labels-strings", "data", "an ArrayDataset with string labels", DataError, "labels")
def _(tmp, fx):
    from gaekit.data import ArrayDataset

    return lambda: ArrayDataset(fx.x(4), np.array(["a", "b", "c", "d"]))


@CASES.add("data-load-npz-scalar", "data", "load_npz of an .npz whose array is a 0-d scalar", DataError, "scalar.npz")
def _(tmp, fx):
    from gaekit.data import load_npz

    path = tmp / "scalar.npz"
    np.savez(path, x=np.float32(3.0))
    return lambda: load_npz(path)


@CASES.add("data-encode-wrong-shape", "data", "model.encode on (N, 64) vectors", DataError, "(1, 8, 8)")
def _(tmp, fx):
    return lambda model=fx.model(): model.encode(torch.rand(4, 64))


@CASES.add("data-decode-wrong-width", "data", "model.decode on codes of width 5 for latent_dim 3", DataError,
           "latent")
def _(tmp, fx):
    return lambda model=fx.model(): model.decode(torch.rand(4, 5))


@CASES.add("data-image-grid-flat", "data", "save_image_grid of (N, 5) vectors (not images)", DataError, "shape")
def _(tmp, fx):
    from gaekit.images import save_image_grid

    return lambda: save_image_grid(torch.rand(4, 5), tmp / "grid.png")


@CASES.add("data-image-grid-nan", "data", "save_image_grid of images holding NaN", DataError, "NaN")
def _(tmp, fx):
    from gaekit.images import save_image_grid

    return lambda: save_image_grid(torch.full((4, 1, 8, 8), float("nan")), tmp / "grid.png")


@CASES.add("data-flow-wrong-width", "data", "PlanarFlow(3) applied to codes of width 5", DataError, "(B, 3)")
def _(tmp, fx):
    from gaekit.flows import PlanarFlow

    return lambda: PlanarFlow(3)(torch.rand(4, 5))


@CASES.add("data-image-grid-empty", "data", "save_image_grid of 0 images", DataError, "0 images")
def _(tmp, fx):
    from gaekit.images import save_image_grid

    return lambda: save_image_grid(torch.zeros(0, 1, 8, 8), tmp / "grid.png")


# the reproduce issue's datasets: binarized MNIST and procedural dSprites
def _loader_call(module: str, name: str, *args, **kwargs):
    return lambda tmp, fx: (lambda: getattr(__import__(module, fromlist=[name]), name)(*args, **kwargs))


for _id, _desc, _call, _error, _word in [
    ("binarized-kind", "load_binarized_mnist(kind='stochastic'): an unknown kind",
     _loader_call("gaekit.data", "load_binarized_mnist", "train", "stochastic"), ConfigError, "stochastic"),
    ("binarized-split", "load_binarized_mnist('valid'): an unknown split",
     _loader_call("gaekit.data", "load_binarized_mnist", "valid"), ConfigError, "valid"),
    ("binarized-seed", "load_binarized_mnist(seed=-1)",
     _loader_call("gaekit.data", "load_binarized_mnist", "test", "stand-in", seed=-1), ConfigError, "seed"),
    ("dsprites-split", "load_dsprites('val'): an unknown split",
     _loader_call("gaekit.data", "load_dsprites", "val"), ConfigError, "val"),
    ("dsprites-num-zero", "load_dsprites(num=0)",
     _loader_call("gaekit.data", "load_dsprites", "test", num=0), ConfigError, "num"),
    ("dsprites-indices-out-of-range", "generate_dsprites([737280]): an index past the last image",
     _loader_call("gaekit.data", "generate_dsprites", [737280]), DataError, "737280"),
    ("color-dsprites-split", "load_color_dsprites('val'): an unknown split",
     _loader_call("gaekit.data", "load_color_dsprites", "val"), ConfigError, "val"),
    ("noisy-dsprites-seed", "load_noisy_dsprites(seed=-1)",
     _loader_call("gaekit.data", "load_noisy_dsprites", "test", num=4, seed=-1), ConfigError, "seed"),
    ("noisy-dsprites-num-float", "load_noisy_dsprites(num=2.5)",
     _loader_call("gaekit.data", "load_noisy_dsprites", "test", num=2.5), ConfigError, "num"),
    ("ground-truth-unknown-dataset", "ground_truth_for_dataset('mnist'): a dataset without ground-truth factors",
     _loader_call("gaekit.metrics.disentanglement", "ground_truth_for_dataset", "mnist"), ConfigError,
     "noisy-dsprites"),
]:
    CASES.add(f"data-load-{_id}", "data", _desc, _error, _word)(_call)


@CASES.add("data-load-binarized-static-missing", "data",
           "load_binarized_mnist(kind='static', root=) a folder without Larochelle's .amat files", DataError,
           "binarized_mnist_train.amat")
def _(tmp, fx):
    from gaekit.data import load_binarized_mnist

    (tmp / "empty").mkdir()
    return lambda: load_binarized_mnist("train", "static", root=tmp / "empty")


@CASES.add("data-load-binarized-static-corrupt", "data",
           "static binarized MNIST whose .amat files do not match their published checksums", DataError, "sha256")
def _(tmp, fx):
    from gaekit.data import load_binarized_mnist

    folder = tmp / "binarized-mnist"
    folder.mkdir()
    for split in ("train", "valid", "test"):
        write(folder / f"binarized_mnist_{split}.amat", " ".join(["0"] * 784) + "\n")
    return lambda: load_binarized_mnist("train", "static", root=tmp)
