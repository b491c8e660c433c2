"""Safe files: safetensors weights, JSON metadata, atomic folder writes, and refusal of anything else.

No pickle is ever written or read by gaekit. Every file of a folder that gaekit loads is judged by
what it is (``check_file``): a ``.safetensors`` file must parse as safetensors, a ``.json`` file as
JSON, a ``.png`` file must start with the PNG signature and text files (``.md``, ``.txt``, ``.csv``,
``LICENSE``, ``.gitattributes``, locks) must be UTF-8 text that is not a pickle. A malformed weights
file gives ``CheckpointError``; any other file (a pickle of any protocol, a torch zip archive, an
unknown binary or suffix) is refused with ``UnsafeLoadError``.

Folders are written with ``atomic_folder``, which only ever replaces gaekit's own files: it refuses
an existing folder that is not empty and not a gaekit folder of the same kind (``folder_kind``),
keeps the files of the user in a folder it replaces, and recovers from a process killed between
its two renames.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import pickletools
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from gaekit.config import loads_json
from gaekit.errors import CheckpointError, ConfigError, UnsafeLoadError
from gaekit.locks import pid_alive

FORMAT_VERSION = 1
PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".bin", ".joblib", ".dill"}
TEXT_SUFFIXES = {".md", ".txt", ".csv"}
# text files without one of those suffixes: Hub repositories' files and lock files
TEXT_NAMES = {"LICENSE", ".gitattributes", ".gitignore", ".lock"}
# tool folders inside a folder that gaekit never reads (a git clone, a ``hf download --local-dir`` cache)
IGNORED_DIRS = {(".git",), (".cache", "huggingface")}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_HEADER_BYTES = 100_000_000  # the safetensors format's own limit
SAFETENSORS_DTYPE_BYTES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E4M3FNUZ": 1, "F8_E5M2": 1, "F8_E5M2FNUZ": 1,
    "U16": 2, "I16": 2, "F16": 2, "BF16": 2, "U32": 4, "I32": 4, "F32": 4,
    "U64": 8, "I64": 8, "F64": 8, "C64": 8,
}

# kind: (metadata file, key it must hold, weights file, files gaekit writes into such a folder)
FOLDER_KINDS: dict[str, tuple[str, str, str, frozenset[str]]] = {
    "sampler": ("gaekit.json", "sampler_name", "sampler.safetensors",
                frozenset({"gaekit.json", "sampler_config.json", "sampler.safetensors"})),
    "model": ("gaekit.json", "model_name", "model.safetensors",
              frozenset({"gaekit.json", "config.json", "model.safetensors", "training_config.json"})),
    "checkpoint": ("trainer_state.json", "state", "model.safetensors",
                   frozenset({"trainer_state.json", "config.json", "training_config.json", "model.safetensors",
                              "best_model.safetensors", "state.safetensors"})),
    "classifier": ("classifier.json", "config", "model.safetensors",
                   frozenset({"classifier.json", "model.safetensors"})),
}
_HOW_TO_LOAD = {
    "model": "AutoModel.load_from_folder(path)",
    "sampler": "BaseSampler.load_from_folder(path, model)",
    "checkpoint": "Trainer.from_checkpoint(path, train_data) or `gaekit train --resume PATH`",
    "classifier": "gaekit.metrics.domain_classifier",
}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- judging files ---------------------------------------------------------------------------------
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
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    spans = []
    for name, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise bad(f"entry {_short(name)} is not {{dtype, shape, data_offsets}}")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in SAFETENSORS_DTYPE_BYTES:
            raise bad(f"tensor {_short(name)} has unknown dtype {_short(dtype)}")
        if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
            raise bad(f"tensor {_short(name)} has shape {_short(shape)}, not a list of non-negative ints")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise bad(f"tensor {_short(name)} has data_offsets {_short(offsets)}, not [begin, end]")
        if offsets[1] - offsets[0] != math.prod(shape) * SAFETENSORS_DTYPE_BYTES[dtype]:
            raise bad(f"tensor {_short(name)}: {dtype} {shape} does not take {offsets[1] - offsets[0]} bytes")
        tensors[name] = (dtype, tuple(shape))
        spans.append((offsets[0], offsets[1], name))
    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            raise bad(f"tensor {_short(name)} starts at byte {begin} of the data, expected {end} (gap or overlap)")
        end = stop
    if end != size - 8 - n:
        raise bad(f"the tensors take {end} bytes but the data area has {size - 8 - n} (truncated or padded)")
    return tensors


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
        return loads_json(path.read_text())
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


# -- folder kinds, metadata ------------------------------------------------------------------------
def folder_kind(folder: Path) -> str | None:
    """``"model"``, ``"sampler"``, ``"checkpoint"`` or ``"classifier"`` by the folder's metadata file, else None."""
    folder = Path(folder)
    for kind, (meta_file, key, _, _) in FOLDER_KINDS.items():
        path = folder / meta_file
        if path.is_file():
            with contextlib.suppress(OSError, ValueError):
                meta = loads_json(path.read_text())
                if isinstance(meta, dict) and key in meta:
                    return kind
    return None


def _missing_metadata(folder: Path, kind: str) -> CheckpointError:
    """The error for a folder without ``kind``'s metadata file, saying what the folder is instead."""
    meta_path = folder / FOLDER_KINDS[kind][0]
    message = f"not a gaekit {kind} folder: {meta_path} is missing"
    found = folder_kind(folder)
    children = {p: folder_kind(p) for p in sorted(folder.iterdir()) if p.is_dir()}
    inside = [p for p, k in children.items() if k == kind]
    if found == "checkpoint":
        message += (f". {folder} is a training checkpoint: resume it with {_HOW_TO_LOAD['checkpoint']}; its best "
                    "weights (best_model.safetensors) are saved as a model in the run folder's final_model/ "
                    "when training finishes")
    elif found is not None:
        message += f". {folder} is a gaekit {found} folder: load it with {_HOW_TO_LOAD[found]}"
    elif (folder / "final_model") in inside:
        message += (f". {folder} is a training run folder: the trained {kind} is in its final_model/ folder; "
                    f"pass {folder / 'final_model'}")
    elif inside:
        message += f". {folder} holds the gaekit {kind} folder(s) {', '.join(p.name for p in inside)}: pass {inside[0]}"
    elif any(k == "checkpoint" for k in children.values()):
        names = ", ".join(p.name for p, k in children.items() if k == "checkpoint")
        message += (f". {folder} holds training checkpoints ({names}) but no finished {kind}: resume one with "
                    f"{_HOW_TO_LOAD['checkpoint']}")
    return CheckpointError(message)


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
        raise CheckpointError(f"{path}: field {key!r} = {_short(value)} is invalid; expected {allowed}")
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


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


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
        raise _missing_metadata(folder, kind)
    meta = read_json(path, f"not a gaekit {kind} folder")
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path} holds a {type(meta).__name__}, not a JSON object: not a gaekit {kind} folder")
    found = folder_kind(folder)
    if found != kind and found is not None:
        raise CheckpointError(f"{folder} is a gaekit {found} folder, not a {kind} folder: load it with "
                              f"{_HOW_TO_LOAD[found]}")
    if name_key not in meta:
        raise CheckpointError(f"{path} has no {name_key}: not a gaekit {kind} folder")
    require_version(meta, "format_version", FORMAT_VERSION, path)
    require_field(meta, name_key, path, lambda v: isinstance(v, str) and v, "a non-empty string")
    for key in ("gaekit_version", "torch_version"):
        require_field(meta, key, path, lambda v: isinstance(v, str), "a version string", optional=True)
    sha = require_field(meta, "sha256", path, lambda v: isinstance(v, dict) and weights_file in v,
                        f"a map from file names (including {weights_file!r}) to sha256 hex digests")
    for name, digest in sha.items():
        if not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
            raise CheckpointError(f"{path}: field 'sha256' entry {_short(name)} = {_short(digest)} is invalid; "
                                  "expected 64 lowercase hex characters (a sha256 digest)")
    verify_checksum(folder / weights_file, sha[weights_file])  # a modified weights file is reported as such
    check_folder_files(folder)
    return meta


def library_metadata() -> dict[str, Any]:
    from gaekit import __version__

    return {"format_version": FORMAT_VERSION, "gaekit_version": __version__, "torch_version": torch.__version__}


# -- output folders --------------------------------------------------------------------------------
def as_folder_path(value: Any, what: str, error: type[Exception] = ConfigError, named: bool = True) -> Path:
    """``value`` as a ``Path``; ``error`` unless it is a non-empty str or path-like, and (``named``: a folder
    that is saved or loaded as a whole) one whose last part is a name, not ``.`` or ``..``."""
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise error(f"{what}={value!r} is invalid: expected a path (a str or os.PathLike), got "
                    f"{type(value).__name__}")
    path = Path(value)
    if not os.fspath(value).strip() or (named and path.name in ("", ".", "..")):
        allowed = "not empty, '.' or '..'" if named else "not empty"
        raise error(f"{what}={os.fspath(value)!r} is invalid: expected a path naming a folder ({allowed})")
    return path


def folder_path_problem(path: Path) -> str | None:
    """Why no folder can be created at ``path`` (it, or a folder above it, is a file; the first existing
    folder is not writable), or None."""
    path = Path(path)
    for p in (path, *path.parents):
        if p.is_dir():
            return None if os.access(p, os.W_OK | os.X_OK) else f"{p} is not writable by this user"
        if p.exists() or p.is_symlink():
            return "it is a file, not a folder" if p == path else f"{p} above it is a file, not a folder"
    return None


def check_output_folder(path: Any, what: str, error: type[Exception] = ConfigError) -> Path:
    """``path`` as a ``Path`` if a folder can be created there (nothing is created); else ``error`` naming
    ``what``, the path and the reason (not a path; it, or a folder above it, is a file)."""
    path = as_folder_path(path, what, error, named=False)
    problem = folder_path_problem(path)
    if problem is not None:
        raise error(f"{what} {path} is not usable as an output folder: {problem}; nothing was changed")
    return path


def ensure_output_folder(path: Any, what: str, error: type[Exception] = ConfigError) -> Path:
    """``check_output_folder``, then create the folder (and its parents); return it.

    Every output folder of gaekit (pipelines, evaluation, caches, the parent of a saved folder) is made
    here, so that a bad path is one ``ConfigError`` (or ``error``) naming ``what``, never an ``OSError``.
    """
    path = check_output_folder(path, what, error)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise error(f"{what} {path} is not usable as an output folder: it cannot be created "
                    f"({err.strerror or err})") from None
    return path


# -- atomic folder replace -------------------------------------------------------------------------
def _siblings(final: Path, tag: str) -> Iterator[tuple[Path, int]]:
    """``(path, pid)`` of the ``.<name>.<tag>-<pid>`` folders next to ``final``."""
    prefix = f".{final.name}.{tag}-"
    if final.parent.is_dir():
        for path in final.parent.iterdir():
            if path.name.startswith(prefix) and path.name[len(prefix):].isdigit():
                yield path, int(path.name[len(prefix):])


def recover_folder(final: Path) -> None:
    """Restore ``final`` when a process was killed between the two renames of ``atomic_folder``.

    Roll back: when ``final`` is missing and a ``.<name>.old-<pid>`` folder of a dead process is
    next to it, that previous version is renamed back to ``final`` (the save never completed, so
    the folder is as before it). Processes are judged alive on this host only.
    """
    final = Path(final)
    if final.exists() or final.is_symlink():
        return
    olds = [path for path, pid in _siblings(final, "old") if not pid_alive(pid)]
    if olds:
        old = max(olds, key=lambda p: p.stat().st_mtime)
        try:
            os.replace(old, final)
        except OSError as err:
            raise CheckpointError(f"{final} is missing and its previous version {old} cannot be restored ({err}); "
                                  f"rename {old.name} back to {final.name}") from None


def _remove_stale(final: Path) -> None:
    """Remove temporary and previous-version folders next to ``final`` left by dead processes."""
    for tag in ("tmp", "old"):
        for path, pid in _siblings(final, tag):
            if not pid_alive(pid):
                shutil.rmtree(path, ignore_errors=True)


def check_replaceable(final: Path, kind: str | None) -> None:
    """Raise ``CheckpointError`` unless a ``kind`` folder may be written at ``final``.

    Allowed: a missing path, an empty folder, or a gaekit folder of the same kind. Anything else
    (a file, a folder of the user, a gaekit folder of another kind) is refused and left untouched.
    """
    final = Path(final)
    if not final.exists() and not final.is_symlink():
        return
    if not final.is_dir():
        reason = "is a file, not a folder"
    elif not any(final.iterdir()):
        return
    else:
        found = folder_kind(final)
        if found is not None and found == kind:
            return
        reason = (f"is a gaekit {found} folder" if found is not None
                  else "is a folder that is not empty and holds no gaekit metadata file")
    what = f"gaekit {kind}" if kind else "gaekit"
    raise CheckpointError(f"refusing to save a {what} folder at {final}: it {reason}; nothing was changed. "
                          f"Save to a new or empty folder, or to a {what} folder (which is replaced)")


def _link_or_copy(src: str | Path, dst: str | Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _keep_user_files(final: Path, tmp: Path, kind: str | None) -> None:
    """Hard-link (or copy) into ``tmp`` every entry of ``final`` that gaekit does not write there."""
    if not final.is_dir():
        return
    owned = FOLDER_KINDS[kind][3] if kind in FOLDER_KINDS else frozenset()
    for entry in final.iterdir():
        target = tmp / entry.name
        if entry.name in owned or target.exists():
            continue
        if entry.is_symlink():
            os.symlink(os.readlink(entry), target)
        elif entry.is_dir():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, target)


@contextlib.contextmanager
def atomic_folder(final: Path, kind: str | None = None) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``final`` in one rename.

    Only gaekit's own files are replaced: ``final`` must be missing, empty or a gaekit folder of the
    kind written (``kind``, or else the kind of what the block wrote; see ``check_replaceable``),
    checked before the block when ``kind`` is given and again before the rename. Files of the user
    inside a replaced folder are kept (hard-linked, or copied, into the new folder, so that a crash
    at any point leaves them in place). A crash inside the block leaves ``final`` as it was and
    removes the temporary folder. A kill between ``final -> .final.old-PID`` and ``tmp -> final``
    is rolled back by the next save or load (``recover_folder``); temporary and previous-version
    folders left by dead processes are removed by the next save.
    """
    final = as_folder_path(final, "folder", CheckpointError)
    ensure_output_folder(final.parent, f"cannot save {final}: its parent folder", CheckpointError)
    recover_folder(final)
    if kind is not None:
        check_replaceable(final, kind)
    _remove_stale(final)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        written = kind or folder_kind(tmp)
        check_replaceable(final, written)
        _keep_user_files(final, tmp, written)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    try:
        os.replace(tmp, final)
    except BaseException:
        if old.exists() and not final.exists():
            os.replace(old, final)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
