"""Safe files: safetensors weights, JSON metadata, atomic folder writes, and refusal of anything else.

No pickle is ever written or read by gaekit. The parts, from the bottom up:

- ``jsonfiles``: atomic JSON writes, checked JSON reads, sha256 checksums;
- ``tensors``: safetensors files (header checked without loading, atomic writes, checked loads, shapes);
- ``files``: every file of a loaded folder judged by what it is; pickles and unknown binaries refused;
- ``kinds``: the kinds of gaekit folders (model, sampler, checkpoint, classifier) and how to tell them apart;
- ``outputs``: output folder paths, checked before anything is written;
- ``atomic``: atomic folder saves that only replace gaekit's own folders, and their recovery after a kill;
- ``metadata``: the metadata fields of saved folders and the checked read of a model or sampler folder.

Import the names from ``gaekit.serialization`` itself.
"""

from gaekit.serialization.atomic import atomic_folder, check_replaceable, recover_folder
from gaekit.serialization.files import (
    IGNORED_DIRS,
    PICKLE_SUFFIXES,
    PNG_SIGNATURE,
    TEXT_NAMES,
    TEXT_SUFFIXES,
    check_file,
    check_folder_files,
    refuse_pickles,
)
from gaekit.serialization.jsonfiles import read_json, sha256_file, verify_checksum, write_json
from gaekit.serialization.kinds import FOLDER_KINDS, folder_kind
from gaekit.serialization.metadata import (
    FORMAT_VERSION,
    is_int,
    library_metadata,
    read_folder_metadata,
    require_field,
    require_version,
)
from gaekit.serialization.outputs import (
    as_folder_path,
    check_output_folder,
    ensure_output_folder,
    folder_path_problem,
)
from gaekit.serialization.tensors import (
    MAX_HEADER_BYTES,
    SAFETENSORS_DTYPE_BYTES,
    check_shapes,
    load_tensors,
    read_safetensors_header,
    save_tensors,
)

__all__ = [
    "FOLDER_KINDS",
    "FORMAT_VERSION",
    "IGNORED_DIRS",
    "MAX_HEADER_BYTES",
    "PICKLE_SUFFIXES",
    "PNG_SIGNATURE",
    "SAFETENSORS_DTYPE_BYTES",
    "TEXT_NAMES",
    "TEXT_SUFFIXES",
    "as_folder_path",
    "atomic_folder",
    "check_file",
    "check_folder_files",
    "check_output_folder",
    "check_replaceable",
    "check_shapes",
    "ensure_output_folder",
    "folder_kind",
    "folder_path_problem",
    "is_int",
    "library_metadata",
    "load_tensors",
    "read_folder_metadata",
    "read_json",
    "read_safetensors_header",
    "recover_folder",
    "refuse_pickles",
    "require_field",
    "require_version",
    "save_tensors",
    "sha256_file",
    "verify_checksum",
    "write_json",
]
