"""Metadata of saved folders: the format and library versions written, checks of its fields, and the
checked read of a saved model or sampler folder."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from gaekit.errors import CheckpointError
from gaekit.serialization.atomic import recover_folder
from gaekit.serialization.files import check_folder_files
from gaekit.serialization.jsonfiles import read_json, short_repr, verify_checksum
from gaekit.serialization.kinds import FOLDER_KINDS, HOW_TO_LOAD, folder_kind, missing_metadata_error

FORMAT_VERSION = 1
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def require_field(meta: dict[str, Any], key: str, path: Path, ok: Callable[[Any], bool], allowed: str, *,
                  optional: bool = False) -> Any:
    """``meta[key]`` when ``ok`` accepts it, else ``CheckpointError`` naming ``path``, the field and what is allowed.

    A missing key gives None when ``optional``.
    """
    if key not in meta:
        if optional:
            return None
        raise CheckpointError(f"{path}: field {key!r} is missing; expected {allowed}")
    value = meta[key]
    try:
        accepted = bool(ok(value))
    except (TypeError, ValueError):
        accepted = False
    if not accepted:
        raise CheckpointError(f"{path}: field {key!r} = {short_repr(value)} is invalid; expected {allowed}")
    return value


def require_version(meta: dict[str, Any], key: str, newest: int, path: Path, default: int | None = None) -> int:
    """``meta[key]``, an int from 1 to ``newest`` (``default`` when absent, if given); ``CheckpointError``
    otherwise, saying that a larger one was written by a newer gaekit."""
    if key not in meta and default is not None:
        return default
    version = require_field(meta, key, path, lambda v: is_int(v) and v >= 1, f"an int from 1 to {newest}")
    if version > newest:
        raise CheckpointError(f"{path}: {key} {version} was written by a newer gaekit (this one reads up to "
                              f"{newest}); upgrade gaekit")
    return version


def read_folder_metadata(folder: Path, kind: str) -> dict[str, Any]:
    """Check a saved gaekit ``kind`` folder (``"model"`` or ``"sampler"``) and return its checked metadata.

    The folder is recovered first if a save was killed between its renames; then the metadata's
    common fields are type-checked (``format_version``, the name ``model_name``/``sampler_name``, the
    ``sha256`` of the weights), the weights' checksum is verified and every file is judged
    (``check_folder_files``).
    """
    folder = Path(folder)
    meta_file, name_key, weights_file, _ = FOLDER_KINDS[kind]
    recover_folder(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{kind} folder {folder} does not exist" if not folder.exists()
                              else f"{kind} folder {folder} is a file, not a folder")
    path = folder / meta_file
    if not path.is_file():
        raise missing_metadata_error(folder, kind)
    meta = read_json(path, f"not a gaekit {kind} folder")
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path} holds a {type(meta).__name__}, not a JSON object: not a gaekit {kind} folder")
    found = folder_kind(folder)
    if found != kind and found is not None:
        raise CheckpointError(f"{folder} is a gaekit {found} folder, not a {kind} folder: load it with "
                              f"{HOW_TO_LOAD[found]}")
    if name_key not in meta:
        raise CheckpointError(f"{path} has no {name_key}: not a gaekit {kind} folder")
    sha = _check_common_fields(meta, path, name_key, weights_file)
    verify_checksum(folder / weights_file, sha[weights_file])  # a modified weights file is reported as such
    check_folder_files(folder)
    return meta


def _check_common_fields(meta: dict[str, Any], path: Path, name_key: str, weights_file: str) -> dict[str, str]:
    """Type-check the fields every saved folder's metadata has; return its ``sha256`` map."""
    require_version(meta, "format_version", FORMAT_VERSION, path)
    require_field(meta, name_key, path, lambda v: isinstance(v, str) and v, "a non-empty string")
    for key in ("gaekit_version", "torch_version"):
        require_field(meta, key, path, lambda v: isinstance(v, str), "a version string", optional=True)
    sha = require_field(meta, "sha256", path, lambda v: isinstance(v, dict) and weights_file in v,
                        f"a map from file names (including {weights_file!r}) to sha256 hex digests")
    for name, digest in sha.items():
        if not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
            raise CheckpointError(f"{path}: field 'sha256' entry {short_repr(name)} = {short_repr(digest)} is "
                                  "invalid; expected 64 lowercase hex characters (a sha256 digest)")
    return sha


def library_metadata() -> dict[str, Any]:
    from gaekit import __version__

    return {"format_version": FORMAT_VERSION, "gaekit_version": __version__, "torch_version": torch.__version__}
