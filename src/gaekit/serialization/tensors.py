"""Safetensors weights files: header checks without loading, atomic writes with their checksum, checked
loads, and the match of saved shapes against a model's."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path

from torch import Tensor

from gaekit.config import loads_json
from gaekit.errors import CheckpointError
from gaekit.serialization.jsonfiles import sha256_file, short_repr, temp_path, verify_checksum

MAX_HEADER_BYTES = 100_000_000  # the safetensors format's own limit
SAFETENSORS_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E4M3FNUZ": 1, "F8_E5M2": 1, "F8_E5M2FNUZ": 1,
    "U16": 2, "I16": 2, "F16": 2, "BF16": 2, "U32": 4, "I32": 4, "F32": 4,
    "U64": 8, "I64": 8, "F64": 8, "C64": 8,
}


def read_safetensors_header(path: Path) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``{name: (dtype, shape)}`` of a ``.safetensors`` file, read from its header without loading tensors.

    The header is checked as the format requires: its 8-byte little-endian length fits in the file,
    it is a JSON object whose entries have a known dtype, a shape of non-negative ints and
    ``data_offsets`` of ``dtype size x shape`` bytes that tile the data area exactly. Raises
    ``CheckpointError`` naming the file and the first problem found.
    """
    path = Path(path)

    def bad(reason: str) -> CheckpointError:
        return CheckpointError(f"{path} is not a readable safetensors file ({reason})")

    if not path.is_file():
        raise CheckpointError(f"weights file {path} is missing")
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise bad(f"{size} bytes, shorter than the 8-byte header length")
        n = int.from_bytes(head, "little")
        if n < 2 or n > MAX_HEADER_BYTES or 8 + n > size:
            raise bad(f"header length {n} does not fit a file of {size} bytes")
        raw = fh.read(n)
    try:
        header = loads_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise bad(f"header is not JSON: {err}") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise bad("__metadata__ is not a map of strings")
    return _header_tensors(header, size - 8 - n, bad)


def _header_tensors(header: dict, data_bytes: int,
                    bad: Callable[[str], CheckpointError]) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The checked entries of a safetensors header, whose spans must tile the ``data_bytes`` of the data area."""
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    spans = []
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise bad(f"entry {short_repr(name)} is not {{dtype, shape, data_offsets}}")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in SAFETENSORS_DTYPE_BYTES:
            raise bad(f"tensor {short_repr(name)} has unknown dtype {short_repr(dtype)}")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise bad(f"tensor {short_repr(name)} has shape {short_repr(shape)}, not a list of non-negative ints")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise bad(f"tensor {short_repr(name)} has data_offsets {short_repr(offsets)}, not [begin, end]")
        if offsets[1] - offsets[0] != math.prod(shape) * SAFETENSORS_DTYPE_BYTES[dtype]:
            raise bad(f"tensor {short_repr(name)}: {dtype} {shape} does not take {offsets[1] - offsets[0]} bytes")
        tensors[name] = (dtype, tuple(shape))
        spans.append((offsets[0], offsets[1], name))
    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            raise bad(f"tensor {short_repr(name)} starts at byte {begin} of the data, expected {end} "
                      "(gap or overlap)")
        end = stop
    if end != data_bytes:
        raise bad(f"the tensors take {end} bytes but the data area has {data_bytes} (truncated or padded)")
    return tensors


def save_tensors(path: Path, tensors: dict[str, Tensor]) -> str:
    """Write ``tensors`` to a ``.safetensors`` file atomically; return its sha256."""
    from safetensors.torch import save_file

    path = Path(path)
    tmp = temp_path(path)
    save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(tmp))
    digest = sha256_file(tmp)
    os.replace(tmp, path)
    return digest


def load_tensors(path: Path, expected_sha256: str | None = None) -> dict[str, Tensor]:
    """Read a ``.safetensors`` file (header checked first), checking its checksum when one is given."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    read_safetensors_header(path)
    if expected_sha256 is not None:
        verify_checksum(path, expected_sha256)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file ({err})") from None


def check_shapes(expected: dict[str, tuple[int, ...]], saved: dict[str, tuple[int, ...]], source: str,
                 what: str) -> None:
    """Raise ``CheckpointError`` unless ``saved`` has exactly the keys and shapes of ``expected``.

    A size 0 in ``expected`` matches any saved size: an empty buffer of a freshly built model is one
    that the data sizes and that loading resizes (e.g. RHVAE's centroids); its saved size is bounded
    by the weights file anyway.
    """
    def fits(want: tuple[int, ...], got: tuple[int, ...]) -> bool:
        return len(want) == len(got) and all(w in (0, g) for w, g in zip(want, got))

    missing = sorted(set(expected) - set(saved))
    unexpected = sorted(set(saved) - set(expected))
    wrong = [f"{k} {saved[k]} (expected {expected[k]})" for k in expected
             if k in saved and not fits(expected[k], saved[k])]
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"weights in {source} do not fit {what}: missing {missing[:5]}, unexpected {unexpected[:5]}, "
            f"wrong shape {wrong[:5]} (was it saved with other networks or another config?)"
        )
