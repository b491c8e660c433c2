"""The FID Inception-v3: architecture, and its weights fetched, verified and converted to safetensors.

FID (Heusel et al. 2017, arXiv:1706.08500) is defined on the 2048-d pool features of the
Inception-v3 network (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer
Vision", arXiv:1512.00567) as frozen in TensorFlow's ``inception-2015-12-05`` graph, which the
Pythae benchmark uses through the TTUR code (arXiv:2206.08309, Section 4.2, footnote 7); its IS
(footnote 8) uses the softmax over the same graph's 1008 outputs.

:class:`FIDInceptionV3` is that graph's layer structure written in PyTorch, as in the common
PyTorch FID port: a stem of five 3x3/1x1 convolutions with two max-pools, three 35x35 blocks
(``Mixed_5b``-``5d``), a grid reduction (``Mixed_6a``), four 17x17 blocks with factorised 7x7
convolutions (``Mixed_6b``-``6e``), a second reduction (``Mixed_7a``), two 8x8 blocks with split
3x3 convolutions (``Mixed_7b``, ``7c``), global average pooling to 2048 features and a
``Linear(2048, 1008)``. Every convolution has no bias and is followed by BatchNorm (eps 1e-3) and
ReLU. The TF graph differs from torchvision's ImageNet Inception-v3 in three places, kept here:
average pools in the 35x35, 17x17 and first 8x8 blocks exclude padding from the mean
(``count_include_pad=False``), the last block (``Mixed_7c``) pools with a max instead of an
average, and there are 1008 outputs. Inputs in [0, 1] are repeated to 3 channels when grey,
resized to 299x299 (bilinear, ``align_corners=False``) and scaled to [-1, 1].

The weights are the file ``pt_inception-2015-12-05-6726825d.pth`` (95,628,359 bytes, sha256
``6726825d0af5f729...``; the "6726825d" in its name is, by torch.hub's naming convention, the
first 8 hex digits of the file's sha256). It is a torch pickle, so it is read only after its full
sha256 matched, and only with ``torch.load(path, weights_only=True, map_location="cpu")``; it is then
converted once into ``pt_inception-2015-12-05-6726825d.safetensors`` (next to it, or in the cache
folder) with a JSON record of both checksums, and later runs read only the safetensors file.

Its state dict holds, for each of the 94 convolutions ``<block>.<branch>`` (e.g.
``Conv2d_1a_3x3``, ``Mixed_5b.branch5x5_2``, ``Mixed_7c.branch3x3dbl_3b``), the keys
``conv.weight`` (``(out, in, kh, kw)``), ``bn.weight``, ``bn.bias``, ``bn.running_mean``,
``bn.running_var`` (``(out,)``; ``bn.num_batches_tracked`` scalars are accepted and ignored), plus
``fc.weight`` ``(1008, 2048)`` and ``fc.bias`` ``(1008,)``: 472 tensors, 23.9 million numbers.
:func:`expected_state_shapes` lists them all.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gaekit.errors import CheckpointError
from gaekit.metrics.extractors import EXTRACTORS, ExtractorUnavailableError, FeatureExtractor, cache_dir
from gaekit.serialization import ensure_output_folder, load_tensors, read_json, save_tensors, sha256_file, write_json

__all__ = [
    "FID_WEIGHTS_FILE",
    "FID_WEIGHTS_SHA256",
    "FID_WEIGHTS_URL",
    "FIDInceptionV3",
    "ensure_inception_weights",
    "expected_state_shapes",
    "find_inception_weights",
    "inception_v3_extractor",
    "load_fid_inception",
]

FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
)
FID_WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
FID_WEIGHTS_SIZE = 95_628_359
SAFETENSORS_FILE = "pt_inception-2015-12-05-6726825d.safetensors"
RECORD_FILE = "pt_inception-2015-12-05-6726825d.json"
NUM_FEATURES = 2048
NUM_LOGITS = 1008


# ---------------------------------------------------------------------- architecture
class _ConvBN(nn.Module):
    """Convolution without bias, BatchNorm (eps 1e-3), ReLU; state keys ``conv.*`` and ``bn.*``."""

    def __init__(self, cin: int, cout: int, kernel_size: int | tuple[int, int], stride: int = 1,
                 padding: int | tuple[int, int] = 0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-3)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class _Block35(nn.Module):
    """35x35 block (``Mixed_5b``-``5d``): 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avg-pool-1x1."""

    def __init__(self, cin: int, pool_features: int):
        super().__init__()
        self.branch1x1 = _ConvBN(cin, 64, 1)
        self.branch5x5_1 = _ConvBN(cin, 48, 1)
        self.branch5x5_2 = _ConvBN(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = _ConvBN(cin, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, padding=1)
        self.branch_pool = _ConvBN(cin, pool_features, 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(_avg_pool(x)),
        ], 1)


class _Reduction35(nn.Module):
    """35x35 -> 17x17 (``Mixed_6a``): 3x3/2 | 1x1-3x3-3x3/2 | max-pool/2."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3 = _ConvBN(cin, 384, 3, stride=2)
        self.branch3x3dbl_1 = _ConvBN(cin, 64, 1)
        self.branch3x3dbl_2 = _ConvBN(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _ConvBN(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            F.max_pool2d(x, 3, stride=2),
        ], 1)


class _Block17(nn.Module):
    """17x17 block (``Mixed_6b``-``6e``) with factorised 7x7 convolutions (1x7 then 7x1)."""

    def __init__(self, cin: int, c7: int):
        super().__init__()
        row, col = ((1, 7), (0, 3)), ((7, 1), (3, 0))
        self.branch1x1 = _ConvBN(cin, 192, 1)
        self.branch7x7_1 = _ConvBN(cin, c7, 1)
        self.branch7x7_2 = _ConvBN(c7, c7, row[0], padding=row[1])
        self.branch7x7_3 = _ConvBN(c7, 192, col[0], padding=col[1])
        self.branch7x7dbl_1 = _ConvBN(cin, c7, 1)
        self.branch7x7dbl_2 = _ConvBN(c7, c7, col[0], padding=col[1])
        self.branch7x7dbl_3 = _ConvBN(c7, c7, row[0], padding=row[1])
        self.branch7x7dbl_4 = _ConvBN(c7, c7, col[0], padding=col[1])
        self.branch7x7dbl_5 = _ConvBN(c7, 192, row[0], padding=row[1])
        self.branch_pool = _ConvBN(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        dbl = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            dbl = layer(dbl)
        return torch.cat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            dbl,
            self.branch_pool(_avg_pool(x)),
        ], 1)


class _Reduction17(nn.Module):
    """17x17 -> 8x8 (``Mixed_7a``): 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | max-pool/2."""

    def __init__(self, cin: int):
        super().__init__()
        self.branch3x3_1 = _ConvBN(cin, 192, 1)
        self.branch3x3_2 = _ConvBN(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _ConvBN(cin, 192, 1)
        self.branch7x7x3_2 = _ConvBN(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _ConvBN(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _ConvBN(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b7 = self.branch7x7x3_1(x)
        for layer in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = layer(b7)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, F.max_pool2d(x, 3, stride=2)], 1)


class _Block8(nn.Module):
    """8x8 block (``Mixed_7b``, ``7c``): 1x1 | 1x1-(1x3, 3x1) | 1x1-3x3-(1x3, 3x1) | pool-1x1.

    ``max_pool`` selects the TF graph's max pool of its last block (``Mixed_7c``)."""

    def __init__(self, cin: int, max_pool: bool):
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = _ConvBN(cin, 320, 1)
        self.branch3x3_1 = _ConvBN(cin, 384, 1)
        self.branch3x3_2a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = _ConvBN(cin, 448, 1)
        self.branch3x3dbl_2 = _ConvBN(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _ConvBN(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _ConvBN(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _ConvBN(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3_1(x)
        dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg_pool(x)
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(b3), self.branch3x3_2b(b3),
            self.branch3x3dbl_3a(dbl), self.branch3x3dbl_3b(dbl),
            self.branch_pool(pooled),
        ], 1)


class FIDInceptionV3(nn.Module):
    """Inception-v3 as in TF's ``inception-2015-12-05`` graph (the FID network); see the module docstring.

    ``forward(x)`` takes ``(N, 1 or 3, H, W)`` images with values in [0, 1] and returns
    ``(pool, logits)``: ``(N, 2048)`` pool features and ``(N, 1008)`` logits. Built with random
    weights; :func:`load_fid_inception` loads the FID weights.
    """

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _ConvBN(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _ConvBN(32, 32, 3)
        self.Conv2d_2b_3x3 = _ConvBN(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _ConvBN(64, 80, 1)
        self.Conv2d_4a_3x3 = _ConvBN(80, 192, 3)
        self.Mixed_5b = _Block35(192, 32)
        self.Mixed_5c = _Block35(256, 64)
        self.Mixed_5d = _Block35(288, 64)
        self.Mixed_6a = _Reduction35(288)
        self.Mixed_6b = _Block17(768, 128)
        self.Mixed_6c = _Block17(768, 160)
        self.Mixed_6d = _Block17(768, 160)
        self.Mixed_6e = _Block17(768, 192)
        self.Mixed_7a = _Reduction17(768)
        self.Mixed_7b = _Block8(1280, max_pool=False)
        self.Mixed_7c = _Block8(2048, max_pool=True)
        self.fc = nn.Linear(NUM_FEATURES, NUM_LOGITS)

    @staticmethod
    def preprocess(x: Tensor) -> Tensor:
        """[0, 1] images -> 3-channel 299x299 images in [-1, 1]."""
        if x.ndim != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"FIDInceptionV3 takes (N, 1 or 3, H, W) images; got shape {tuple(x.shape)}")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[2:] != (299, 299):
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return 2 * x - 1

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = self.preprocess(x)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            x = block(x)
        pool = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return pool, self.fc(pool)


@functools.lru_cache(maxsize=1)
def _state_shapes() -> tuple[tuple[str, tuple[int, ...]], ...]:
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        state = FIDInceptionV3().state_dict()
    return tuple((k, tuple(v.shape)) for k, v in state.items() if not k.endswith("num_batches_tracked"))


def expected_state_shapes() -> dict[str, tuple[int, ...]]:
    """Every key of the FID weights file and its shape (``num_batches_tracked`` counters excluded)."""
    return dict(_state_shapes())


# ---------------------------------------------------------------------- weights
CACHE_WHAT = "the FID Inception-v3 weights folder (the cache= argument, else under $GAEKIT_CACHE_DIR)"


def _inception_cache(cache: str | os.PathLike | None) -> Path:
    return (Path(cache).expanduser() if cache is not None else cache_dir()) / "metrics" / "inception"


def _verify_pth(path: Path) -> None:
    size = path.stat().st_size
    if size != FID_WEIGHTS_SIZE or sha256_file(path) != FID_WEIGHTS_SHA256:
        raise CheckpointError(
            f"{path} is not the FID Inception weights file {FID_WEIGHTS_FILE} ({size} bytes; expected "
            f"{FID_WEIGHTS_SIZE} bytes with sha256 {FID_WEIGHTS_SHA256}); it is refused unread (it is a pickle)"
        )


def _check_state(state: dict[str, Any], source: str) -> dict[str, Tensor]:
    """The float tensors of ``state`` after checking they are exactly the FID Inception's keys and shapes."""
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise CheckpointError(f"{source} does not hold a state dict of tensors")
    tensors = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    expected = expected_state_shapes()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [k for k in expected if k in tensors and tuple(tensors[k].shape) != expected[k]]
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"{source} does not fit the FID Inception-v3: missing {missing[:5]}, unexpected {unexpected[:5]}, "
            f"wrong shape {wrong[:5]}"
        )
    return {k: v.to(torch.float32) for k, v in tensors.items()}


def _convert(pth: Path, folder: Path) -> Path:
    """Verify ``pth`` (full sha256), read it with ``weights_only=True`` and write the safetensors cache."""
    _verify_pth(pth)
    state = torch.load(pth, weights_only=True, map_location="cpu")
    tensors = _check_state(state, str(pth))
    ensure_output_folder(folder, CACHE_WHAT)
    out = folder / SAFETENSORS_FILE
    digest = save_tensors(out, tensors)
    write_json(folder / RECORD_FILE, {"source": FID_WEIGHTS_FILE, "source_sha256": FID_WEIGHTS_SHA256,
                                      "sha256": {SAFETENSORS_FILE: digest}})
    return out


def _converted_in(folder: Path) -> Path | None:
    """The safetensors file in ``folder`` when it is there with its checksum record."""
    out, record = folder / SAFETENSORS_FILE, folder / RECORD_FILE
    return out if out.is_file() and record.is_file() else None


def _convert_writable(pth: Path, cache: str | os.PathLike | None) -> Path:
    """Convert ``pth`` once, next to it; where that folder is not writable, into the cache folder."""
    done = _converted_in(pth.parent)
    if done is not None:
        return done
    try:
        return _convert(pth, pth.parent)
    except PermissionError:
        folder = _inception_cache(cache)
        done = _converted_in(folder)
        if done is None:
            return _convert(pth, folder)
        _verify_pth(pth)
        return done


def find_inception_weights(weights: str | os.PathLike | None = None,
                           cache: str | os.PathLike | None = None) -> Path | None:
    """The FID Inception safetensors file available on this machine, or None; never downloads.

    Looks at ``weights`` (a ``.safetensors`` file, or the ``.pth`` file, verified and converted once
    next to it), then in the cache folder (``<cache>/metrics/inception``, default
    :func:`~gaekit.metrics.extractors.cache_dir`), converting a ``.pth`` found there.

    Raises
    ------
    CheckpointError
        When ``weights`` is given but missing, or a ``.pth`` found does not have the known sha256.
    """
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise CheckpointError(f"Inception weights file {path} does not exist")
        if path.suffix == ".safetensors":
            return path
        return _convert_writable(path, cache)
    folder = _inception_cache(cache)
    done = _converted_in(folder)
    if done is not None:
        return done
    if (folder / FID_WEIGHTS_FILE).is_file():
        return _convert(folder / FID_WEIGHTS_FILE, folder)
    return None


def _open_url(url: str, timeout: float = 60.0) -> Any:
    """``urllib.request.urlopen`` (one place, so that tests can replace the network)."""
    return urllib.request.urlopen(url, timeout=timeout)


def _download(folder: Path) -> Path:
    ensure_output_folder(folder, CACHE_WHAT)
    target = folder / FID_WEIGHTS_FILE
    fd, tmp_name = tempfile.mkstemp(prefix=f".{FID_WEIGHTS_FILE}.", suffix=".part", dir=folder)
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, _open_url(FID_WEIGHTS_URL) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != FID_WEIGHTS_SHA256:
            raise ExtractorUnavailableError(
                f"the file downloaded from {FID_WEIGHTS_URL} has sha256 {digest.hexdigest()}, expected "
                f"{FID_WEIGHTS_SHA256}; it was discarded"
            )
        os.replace(tmp, target)
    except (OSError, http.client.HTTPException, urllib.error.URLError, ValueError) as err:
        raise ExtractorUnavailableError(
            f"could not download the FID Inception weights from {FID_WEIGHTS_URL} "
            f"({getattr(err, 'reason', None) or err}; offline?). Download {FID_WEIGHTS_FILE} (sha256 "
            f"{FID_WEIGHTS_SHA256}) elsewhere and put it in {folder}, or pass its path (weights=... / "
            "--inception-weights PATH); or use a domain classifier (extractor='mnist-classifier') or "
            "your own nn.Module as the feature extractor"
        ) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def ensure_inception_weights(weights: str | os.PathLike | None = None, cache: str | os.PathLike | None = None,
                             download: bool = True) -> Path:
    """Like :func:`find_inception_weights`, downloading the ``.pth`` (sha256-checked) when absent.

    Raises
    ------
    ExtractorUnavailableError
        When the weights are not here and cannot be downloaded (or ``download`` is False).
    """
    found = find_inception_weights(weights, cache)
    if found is not None:
        return found
    folder = _inception_cache(cache)
    if not download:
        raise ExtractorUnavailableError(
            f"the FID Inception weights are not in {folder} and download=False; put {FID_WEIGHTS_FILE} "
            f"(sha256 {FID_WEIGHTS_SHA256}, from {FID_WEIGHTS_URL}) there or pass its path"
        )
    return _convert(_download(folder), folder)


def load_fid_inception(weights: str | os.PathLike | None = None, cache: str | os.PathLike | None = None,
                       download: bool = True) -> FIDInceptionV3:
    """The FID Inception-v3 with its weights (see :func:`ensure_inception_weights`), in eval mode."""
    path = ensure_inception_weights(weights, cache, download)
    record = path.with_name(RECORD_FILE)
    expected = None
    if record.is_file():
        expected = read_json(record, "Inception weights record").get("sha256", {}).get(path.name)
    state = _check_state(load_tensors(path, expected), str(path))
    net = FIDInceptionV3()
    net.load_state_dict(state, strict=False)  # the num_batches_tracked counters keep their defaults
    return net.eval()


@EXTRACTORS.register("inception-v3")
def inception_v3_extractor(weights: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                           download: bool = True, **_: Any) -> FeatureExtractor:
    """Registered as ``"inception-v3"``: the FID Inception-v3; its metrics are ``fid`` and ``is``."""
    return FeatureExtractor(load_fid_inception(weights, cache_dir, download), name="inception",
                            description=f"FID Inception-v3 ({FID_WEIGHTS_FILE})")
