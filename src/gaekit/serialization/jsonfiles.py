"""JSON files and checksums: atomic JSON writes, checked JSON reads, the sha256 of a file."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from gaekit.config import loads_json
from gaekit.errors import CheckpointError


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters, for error messages naming a bad value."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def temp_path(path: Path) -> Path:
    """The temporary file next to ``path`` that an atomic write renames onto it."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (temp file + rename)."""
    path = Path(path)
    tmp = temp_path(path)
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def read_json(path: Path, what: str) -> Any:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{what}: {path} is missing")
    try:
        return loads_json(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{what}: {path} is not valid JSON ({err})") from None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path: Path, expected_sha256: str) -> None:
    """Raise ``CheckpointError`` unless ``path`` exists and has the sha256 recorded when it was saved."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file {path} is missing")
    if sha256_file(path) != expected_sha256:
        raise CheckpointError(
            f"{path} does not match the checksum recorded when it was saved: the file was modified, "
            "truncated or corrupted"
        )
