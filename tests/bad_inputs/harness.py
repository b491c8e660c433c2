"""The bad-input suite's machinery: the case record, shared fixtures, folder snapshots and the checks.

A case is data (``Case``): an id, an area, a one-line description of the bad input, the error class
it must end in, substrings its message must contain, and a ``make(tmp, fx)`` function that builds the
bad input inside ``tmp`` (copying the shared fixtures there first) and returns what to run: a
callable for a Python case, or the argument list of a ``gaekit`` command for a CLI case. The harness
snapshots every file under ``tmp`` after ``make`` and checks they are byte-identical after the call.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from gaekit.errors import CheckpointError, ConfigError, GaekitError

AREAS = ("data", "config", "model-folder", "sampler-folder", "checkpoint", "output-folder", "sampler",
         "evaluation", "cli")
KINDS = ("python", "cli", "subprocess")
# where saving somewhere it must not is refused: the fixes may choose either class
FOLDER_REFUSED = (CheckpointError, ConfigError)


@dataclass(frozen=True)
class Case:
    """One bad input and what gaekit must do with it."""

    id: str
    area: str
    description: str
    expected: type[GaekitError] | tuple[type[GaekitError], ...]
    make: Callable[[Path, Fixtures], Any]
    mentions: tuple[str, ...] = ()  # each must be in the message; "a|b": either
    kind: str = "python"

    def expected_names(self) -> str:
        classes = self.expected if isinstance(self.expected, tuple) else (self.expected,)
        return " or ".join(c.__name__ for c in classes)


class CaseList(list):
    """A list of cases with a decorator that adds one: ``@cases.add(id, area, description, expected, ...)``."""

    def add(self, id: str, area: str, description: str, expected: Any, *mentions: str,
            kind: str = "python") -> Callable:
        def register(make: Callable) -> Callable:
            self.append(Case(id, area, description, expected, make, tuple(mentions), kind))
            return make

        return register


# ---------------------------------------------------------------------------------- fixtures
@dataclass
class Fixtures:
    """Pristine inputs built once (a trained run with a checkpoint, a model folder, a sampler folder, data)."""

    root: Path
    train: Any  # ArrayDataset, 64 digits
    val: Any  # ArrayDataset, 32 digits
    run_dir: Path
    checkpoint_dir: Path
    model_dir: Path
    sampler_dir: Path
    npz: Path  # train/validation/test arrays of digits, for the CLI
    extra: dict[str, Path] = field(default_factory=dict)

    def copy(self, what: str, dest: Path) -> Path:
        """Copy the fixture folder ``what`` (run, checkpoint, model, sampler) to ``dest``; return ``dest``."""
        src = {"run": self.run_dir, "checkpoint": self.checkpoint_dir, "model": self.model_dir,
               "sampler": self.sampler_dir}[what]
        shutil.copytree(src, dest)
        return dest

    def x(self, n: int = 16) -> np.ndarray:
        """A fresh float32 copy of ``n`` training images, (n, 1, 8, 8) in [0, 1]."""
        return self.train.as_float()[:n].numpy().copy()

    def model(self):
        """A fresh copy of the trained VAE (BCE loss, latent_dim 3, input (1, 8, 8))."""
        from gaekit.models import AutoModel

        return AutoModel.load_from_folder(self.model_dir)

    def trainer_config(self, tmp: Path, **changes: Any):
        """A small valid TrainerConfig writing under ``tmp/out``, with ``changes``."""
        from gaekit.trainers import TrainerConfig

        base = {"output_dir": str(tmp / "out"), "num_epochs": 1, "batch_size": 32, "learning_rate": 1e-3,
                "show_progress": False, "device": "cpu"}
        return TrainerConfig(**{**base, **changes})


def build_fixtures(root: Path) -> Fixtures:
    """Train a tiny VAE for 2 epochs of 2 steps (a checkpoint after each), fit and save a GMM sampler, and
    write a small digits .npz for the CLI."""
    from conftest import tiny_model

    from gaekit.data import load_digits
    from gaekit.samplers import GaussianMixtureSampler, GaussianMixtureSamplerConfig
    from gaekit.trainers import Trainer, TrainerConfig

    train, val = load_digits("train").subset(slice(0, 64)), load_digits("validation").subset(slice(0, 32))
    model = tiny_model("VAE", reconstruction_loss="bce")
    config = TrainerConfig(output_dir=str(root / "runs"), num_epochs=2, batch_size=32, learning_rate=1e-3,
                           checkpoint_every_n_epochs=1, show_progress=False, device="cpu")
    trainer = Trainer(model, config, train, val)
    trainer.train()
    sampler = GaussianMixtureSampler(model, GaussianMixtureSamplerConfig(num_components=2, num_init=1, max_iter=20))
    sampler.fit(train)
    sampler.save(root / "gmm_sampler")
    test = load_digits("test").subset(slice(0, 32))
    npz = root / "digits_small.npz"
    np.savez(npz, train=(train.as_float().numpy() * 255).astype(np.uint8),
             validation=(val.as_float().numpy() * 255).astype(np.uint8),
             test=(test.as_float().numpy() * 255).astype(np.uint8),
             train_labels=train.labels.numpy(), validation_labels=val.labels.numpy(),
             test_labels=test.labels.numpy())
    return Fixtures(root=root, train=train, val=val, run_dir=trainer.run_dir,
                    checkpoint_dir=trainer.run_dir / "checkpoint_epoch_1", model_dir=trainer.final_model_dir,
                    sampler_dir=root / "gmm_sampler", npz=npz)


# ---------------------------------------------------------------------------- editing helpers
def edit_json(path: Path, change: Callable[[Any], Any]) -> None:
    """Rewrite the JSON file ``path`` after ``change(data)`` edited the data in place."""
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


def edit_state(folder: Path, change: Callable[[dict], Any], sign: bool = True) -> None:
    """Edit a checkpoint's ``trainer_state.json`` in place; with ``sign``, record the new state's checksum
    as the trainer does (when it records one), so that the edit reaches the field checks."""
    from gaekit.trainers import checkpoint

    def edit(meta: dict) -> None:
        change(meta)
        checksum = getattr(checkpoint, "state_checksum", None)
        if sign and checksum is not None and isinstance(meta.get("sha256"), dict) and "state" in meta:
            meta["sha256"][getattr(checkpoint, "STATE_KEY", "state")] = checksum(meta["state"])

    edit_json(folder / checkpoint.STATE_FILE, edit)


def flip_byte(path: Path, offset: int = -1) -> None:
    """Invert one byte of ``path`` (default: the last)."""
    buf = bytearray(path.read_bytes())
    buf[offset] ^= 0xFF
    path.write_bytes(bytes(buf))


def truncate(path: Path, keep: float = 0.5) -> None:
    """Cut ``path`` to ``keep`` of its size."""
    buf = path.read_bytes()
    path.write_bytes(buf[: int(len(buf) * keep)])


def rewrite_tensors(folder: Path, weights: str, meta_file: str, change: Callable[[dict], Any],
                    sha_path: Sequence[str] = ("sha256",)) -> None:
    """Load ``folder/weights``, let ``change`` edit the tensor dict in place, save it and record its sha256."""
    from safetensors.torch import load_file, save_file

    from gaekit.serialization import sha256_file

    tensors = load_file(str(folder / weights))
    change(tensors)
    save_file(tensors, str(folder / weights))

    def record(meta: dict) -> None:
        node = meta
        for key in sha_path:
            node = node[key]
        node[weights] = sha256_file(folder / weights)

    edit_json(folder / meta_file, record)


def pickle_headed_safetensors(path: Path, tensors: dict) -> None:
    """Write ``tensors`` as a valid safetensors file whose first two bytes are 0x80 0x03 (like a pickle)."""
    from safetensors.torch import save_file

    for pad in range(0, 1200):
        save_file(tensors, str(path), metadata={"pad": "x" * pad})
        if path.read_bytes()[:2] == b"\x80\x03":
            return
    raise AssertionError("could not pad the safetensors header to 0x0380 bytes")


def write(path: Path, text: str | bytes) -> Path:
    """Write ``text`` (str or bytes) to ``path``, creating its folder; return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def write_json_file(path: Path, data: Any) -> Path:
    return write(path, json.dumps(data))


# ------------------------------------------------------------------------------- snapshots
def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative path -> digest)."""
    out = {}
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() and not path.is_symlink():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def changed_files(before: dict[str, str], root: Path) -> list[str]:
    """Files of ``before`` that are now missing or have other bytes."""
    after = snapshot(root)
    return sorted(p for p, digest in before.items() if after.get(p) != digest)


# ------------------------------------------------------------------------------------ checks
def _expected(case: Case) -> tuple[type[GaekitError], ...]:
    return case.expected if isinstance(case.expected, tuple) else (case.expected,)


def _check_message(case: Case, message: str) -> None:
    assert message.strip(), f"{case.id}: the error message is empty"
    text = message.lower()
    missing = [m for m in case.mentions if not any(alt.lower() in text for alt in m.split("|"))]
    assert not missing, f"{case.id}: the message does not mention {missing}: {message[:300]!r}"


def _describe(err: BaseException | None) -> str:
    return "no error" if err is None else f"{type(err).__name__}: {str(err)[:300]}"


def run_python(case: Case, thunk: Callable[[], Any]) -> None:
    """Call ``thunk`` and check it raised one of the case's expected classes with a fitting message."""
    try:
        thunk()
    except BaseException as err:  # noqa: B036 - a KeyboardInterrupt or SystemExit is a finding too
        if not isinstance(err, _expected(case)):
            raise AssertionError(f"{case.id}: expected {case.expected_names()}, got {_describe(err)}") from err
        _check_message(case, str(err))
        return
    raise AssertionError(f"{case.id}: expected {case.expected_names()}, got no error")


def _stderr_line(case: Case, command: str, stderr: str, stdout: str = "") -> str:
    assert "Traceback" not in stderr + stdout, f"{case.id}: a traceback reached the terminal:\n{stderr[-2000:]}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"{case.id}: expected exactly one line on stderr, got {len(lines)}:\n{stderr[-1500:]}"
    prefix = f"gaekit {command}: error:"
    assert lines[0].startswith(prefix), f"{case.id}: stderr does not start with {prefix!r}: {lines[0][:300]!r}"
    return lines[0][len(prefix):]


def run_cli(case: Case, argv: list[str], capsys, monkeypatch) -> None:
    """Run ``gaekit.cli.main(argv)`` in-process: exit code 2, one ``gaekit <cmd>: error:`` line, expected class."""
    import gaekit.cli

    handled: list[BaseException] = []

    def spy_print(*args: Any, **kwargs: Any) -> None:  # records the exception main() is handling
        if kwargs.get("file") is sys.stderr and sys.exc_info()[1] is not None:
            handled.append(sys.exc_info()[1])
        print(*args, **kwargs)

    monkeypatch.setattr(gaekit.cli, "print", spy_print, raising=False)
    capsys.readouterr()
    try:
        code = gaekit.cli.main(list(argv))
    except SystemExit as exit_:  # argparse refusing an argument
        code = exit_.code
    except BaseException as err:  # noqa: B036
        raise AssertionError(f"{case.id}: gaekit {argv[0]} raised {_describe(err)}") from err
    out = capsys.readouterr()
    assert code == 2, f"{case.id}: exit code {code}, expected 2; stderr: {out.err[-500:]!r}"
    message = _stderr_line(case, argv[0], out.err, out.out)
    if handled and not isinstance(handled[-1], _expected(case)):
        raise AssertionError(f"{case.id}: expected {case.expected_names()}, got {_describe(handled[-1])}")
    _check_message(case, message)


def gaekit_executable() -> Path:
    return Path(sys.executable).with_name("gaekit")


def run_subprocess(case: Case, argv: list[str], cwd: Path) -> None:
    """Run the real ``gaekit`` command: exit code 2, one error line on stderr, no traceback anywhere."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run([str(gaekit_executable()), *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 2, f"{case.id}: exit code {proc.returncode}, expected 2; stderr: {proc.stderr[-1500:]}"
    _check_message(case, _stderr_line(case, argv[0], proc.stderr, proc.stdout))


def check_case(case: Case, tmp: Path, fx: Fixtures, capsys, monkeypatch) -> None:
    """Build the case's input in ``tmp``, run it, check the error and that no existing file changed."""
    monkeypatch.chdir(tmp)
    target = case.make(tmp, fx)
    roots = (tmp, fx.root)  # the case's own folder, and the shared fixtures some cases read in place
    before = [snapshot(root) for root in roots]
    failure = None
    try:
        if case.kind == "python":
            run_python(case, target)
        elif case.kind == "cli":
            run_cli(case, [str(a) for a in target], capsys, monkeypatch)
        else:
            run_subprocess(case, [str(a) for a in target], tmp)
    except AssertionError as err:
        failure = err
    changed = [str(root / p) for root, snap in zip(roots, before) for p in changed_files(snap, root)]
    if changed:  # reported together with a wrong error, if there is one
        raise AssertionError(f"{case.id}: file changed: {', '.join(changed[:10])}" +
                             (f"; and {failure}" if failure else "")) from failure
    if failure is not None:
        raise failure


def all_cases() -> list[Case]:
    """Every case of the suite, checked for unique ids and known areas/kinds."""
    from bad_inputs import cases_cli, cases_config, cases_data, cases_folders, cases_runtime

    cases = [*cases_data.CASES, *cases_config.CASES, *cases_folders.CASES, *cases_runtime.CASES, *cases_cli.CASES]
    ids = [c.id for c in cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate case ids: {dupes}"
    for c in cases:
        assert c.area in AREAS and c.kind in KINDS, f"{c.id}: unknown area {c.area!r} or kind {c.kind!r}"
    return cases
