"""Judging a file by what it is: safetensors, JSON, PNG and text files pass; pickles and anything else are refused.

Every file of a folder that gaekit loads is judged (``check_file``): a ``.safetensors`` file must
parse as safetensors, a ``.json`` file as JSON, a ``.png`` file must start with the PNG signature and
text files (``.md``, ``.txt``, ``.csv``, ``LICENSE``, ``.gitattributes``, locks) must be UTF-8 text
that is not a pickle. A malformed weights file gives ``CheckpointError``; any other file (a pickle of
any protocol, a torch zip archive, an unknown binary or suffix) is refused with ``UnsafeLoadError``.
"""

from __future__ import annotations

import json
import pickletools
from pathlib import Path

from gaekit.config import loads_json
from gaekit.errors import UnsafeLoadError
from gaekit.serialization.tensors import read_safetensors_header

PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".bin", ".joblib", ".dill"}
TEXT_SUFFIXES = {".md", ".txt", ".csv"}
# text files without one of those suffixes: Hub repositories' files and lock files
TEXT_NAMES = {"LICENSE", ".gitattributes", ".gitignore", ".lock"}
# tool folders inside a folder that gaekit never reads (a git clone, a ``hf download --local-dir`` cache)
IGNORED_DIRS = {(".git",), (".cache", "huggingface")}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _is_pickle(data: bytes) -> bool:
    """Whether ``data`` starts with a complete pickle stream (parsed opcode by opcode, never executed)."""
    try:
        for opcode, _, _ in pickletools.genops(data):
            if opcode.name == "STOP":
                return True
    except Exception:  # any parse failure means "not a pickle"
        return False
    return False


def _unsafe(path: Path, why: str) -> UnsafeLoadError:
    return UnsafeLoadError(
        f"refusing to load {path}: the file {why}. gaekit folders hold only .safetensors, JSON, PNG "
        "and text files, and nothing that could be a pickle (which can execute arbitrary code when read); "
        "remove the file if you trust the rest of the folder."
    )


def check_file(path: Path) -> None:
    """Check that ``path`` is what its name says (see the module docstring); raise otherwise."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        raise _unsafe(path, f"has the suffix {suffix} of a pickle or torch file")
    if suffix == ".safetensors":
        read_safetensors_header(path)
        return
    if suffix == ".png":
        with open(path, "rb") as fh:
            if fh.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
                raise _unsafe(path, "is named .png but does not start with the PNG signature")
        return
    if suffix != ".json" and suffix not in TEXT_SUFFIXES and path.name not in TEXT_NAMES:
        raise _unsafe(path, "is not a kind of file gaekit writes or reads (it may be a pickle)")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _unsafe(path, "is not UTF-8 text (it may be a pickle)") from None
    if suffix == ".json":
        try:
            loads_json(text)
        except json.JSONDecodeError as err:
            raise _unsafe(path, f"is named .json but is not JSON ({err})") from None
    elif _is_pickle(data):
        raise _unsafe(path, "is a pickle (its bytes parse as a complete pickle stream)")


def _ignored(rel: Path) -> bool:
    return any(rel.parts[: len(parts)] == parts for parts in IGNORED_DIRS)


def check_folder_files(folder: Path) -> None:
    """Judge every file under ``folder`` with ``check_file`` (tool folders such as ``.git`` are skipped)."""
    folder = Path(folder)
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not _ignored(path.relative_to(folder)):
            check_file(path)


refuse_pickles = check_folder_files  # the former name, used by training checkpoints
