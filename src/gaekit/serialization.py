"""Safe files: safetensors weights, JSON metadata, atomic writes, and refusal of pickles.

No pickle is ever written or read by gaekit. A folder that holds a file which could run code
when unpickled (by its name or by its first bytes) is refused with ``UnsafeLoadError``; a
weights file that is truncated, corrupted or does not match the checksum recorded beside it
gives ``CheckpointError``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gaekit.errors import CheckpointError, UnsafeLoadError

FORMAT_VERSION = 1
PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".bin", ".joblib", ".dill"}


def _looks_like_pickle(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(4)
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle protocol 2-5 header
        return True
    if head == b"PK\x03\x04":  # torch.save zip archive with a pickled payload
        with contextlib.suppress(zipfile.BadZipFile):
            with zipfile.ZipFile(path) as archive:
                return any(n.endswith(".pkl") for n in archive.namelist())
    return False


def refuse_pickles(folder: Path) -> None:
    """Raise ``UnsafeLoadError`` if ``folder`` holds a pickle (by suffix or by content)."""
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        if path.suffix.lower() in PICKLE_SUFFIXES or _looks_like_pickle(path):
            raise UnsafeLoadError(
                f"refusing to load {folder}: {path.name} is (or may be) a pickle, which can execute "
                "arbitrary code when read. gaekit folders hold only JSON and .safetensors files; remove "
                "the file if you trust the rest of the folder."
            )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temp file + rename)."""
    path = Path(path)
    tmp = _tmp_path(path)
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def read_json(path: Path, what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what}: {path} is missing")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{what}: {path} is not valid JSON ({err})") from None


def save_tensors(path: Path, tensors: dict[str, Tensor]) -> str:
    """Write ``tensors`` to a ``.safetensors`` file atomically; return its sha256."""
    from safetensors.torch import save_file

    path = Path(path)
    tmp = _tmp_path(path)
    save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(tmp))
    digest = sha256_file(tmp)
    os.replace(tmp, path)
    return digest


def load_tensors(path: Path, expected_sha256: str | None = None) -> dict[str, Tensor]:
    """Read a ``.safetensors`` file, checking its checksum when one is given."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file {path} is missing")
    if expected_sha256 is not None and sha256_file(path) != expected_sha256:
        raise CheckpointError(
            f"{path} does not match the checksum recorded when it was saved: the file was modified, "
            "truncated or corrupted"
        )
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file ({err})") from None


@contextlib.contextmanager
def atomic_folder(final: Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``final`` in one rename.

    A crash inside the block leaves ``final`` as it was (or absent) and removes the
    temporary folder, so no half-written folder is ever seen at ``final``.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def read_folder_metadata(folder: Path, metadata_file: str, kind: str, name_key: str) -> dict[str, Any]:
    """Check a saved gaekit folder exists, holds no pickle and was written by a known format.

    Returns the metadata JSON (which must have ``name_key``); ``kind`` names the folder in errors.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{kind} folder {folder} does not exist")
    refuse_pickles(folder)
    meta = read_json(folder / metadata_file, f"not a gaekit {kind} folder")
    if not isinstance(meta, dict) or name_key not in meta:
        raise CheckpointError(f"{folder / metadata_file} has no {name_key}: not a gaekit {kind} folder")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{folder} was written by a newer gaekit (format {meta['format_version']}); upgrade gaekit"
        )
    return meta


def library_metadata() -> dict[str, Any]:
    from gaekit import __version__

    return {"format_version": FORMAT_VERSION, "gaekit_version": __version__, "torch_version": torch.__version__}
