"""How the trainer survives interruptions: a rollback part and a commit per step and per end of epoch.

Interruptions (Ctrl-C, an exception anywhere) never leave a half-done step in a checkpoint. Each
step and each end of epoch has a rollback part and a commit: until the commit begins, an
interruption rolls back to the state saved when the step began (weights untouched, buffers and RNG
restored), so the step is redone on resume; the commit (every optimizer step of the step, the
gradient scaler, then the counters -- or the schedulers then the epoch record) runs as one unit:
Ctrl-C is held until it ends, and an exception raised between its parts is handled by finishing the
remaining parts (the gradients are already computed) before ``checkpoint_interrupted`` is written.
Only an exception raised *inside* an optimizer's own update leaves an unknown state: then no
``checkpoint_interrupted`` is written (resume from the last periodic checkpoint).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import torch

from gaekit.trainers.checkpoint import rng_state, set_rng_state


class Interruptible:
    """Trainer mixin: named interruption points, snapshots and rollback, commits, recovery and held Ctrl-C.

    Uses the trainer's ``model``, ``device`` and ``optimizers``; its state is ``_snapshot`` (what to roll
    back to), ``_pending`` (what is left to commit), ``_in_commit``, ``_held_interrupt`` and ``_broken``
    (an update itself failed: the state is unknown).
    """

    def _reset_interruptions(self) -> None:
        self._snapshot: dict[str, Any] | None = None
        self._pending: list[tuple[str, Callable[[], Any]]] = []
        self._in_commit = False
        self._held_interrupt = False
        self._broken = False

    def _at(self, point: str) -> None:
        """A named point of a step or an end of epoch: a no-op, that tests patch to interrupt training there."""

    def _take_snapshot(self, parameters: bool) -> None:
        """Remember the RNG and buffers (and the parameters) to roll an unfinished phase back to."""
        tensors = {name: t.detach().clone() for name, t in self.model.named_buffers()}
        if parameters:
            tensors.update({name: p.detach().clone() for name, p in self.model.named_parameters()})
        self._snapshot = {"rng": rng_state(self.device), "tensors": tensors}

    def _roll_back(self) -> None:
        snapshot, self._snapshot = self._snapshot, None
        own = {**dict(self.model.named_buffers()), **dict(self.model.named_parameters())}
        with torch.no_grad():
            for name, value in snapshot["tensors"].items():
                if name in own and own[name].shape == value.shape:
                    own[name].copy_(value)
                else:  # a buffer the phase replaced by one of another shape
                    owner, _, leaf = name.rpartition(".")
                    setattr(self.model.get_submodule(owner), leaf, value)
        set_rng_state(snapshot["rng"], self.device)
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        self.model.train()  # an interrupted evaluation left it in eval mode

    def _commit(self, actions: list[tuple[str, Callable[[], Any]]]) -> None:
        """Run ``(point, action)`` pairs as one unit: once begun it is finished, never rolled back."""
        self._in_commit = True  # first: an interruption before the next line still rolls back
        self._pending = list(actions)
        self._snapshot = None
        try:
            while self._pending:
                point, action = self._pending[0]
                try:
                    action()
                except BaseException:
                    self._broken = True
                    raise
                self._pending.pop(0)
                self._at(point)
        finally:
            self._in_commit = False
        if self._held_interrupt:
            self._held_interrupt = False
            raise KeyboardInterrupt("interrupted (Ctrl-C held until the step's update was complete)")

    def _recover(self) -> bool:
        """After an interruption: finish a begun commit or roll back the unfinished phase; False if impossible."""
        self._held_interrupt = False
        if self._broken:
            return False
        try:
            while self._pending:
                self._pending[0][1]()
                self._pending.pop(0)
        except Exception:
            self._broken = True
            return False
        if self._snapshot is not None:
            self._roll_back()
        return True

    @contextlib.contextmanager
    def _holding_interrupts_in_commits(self) -> Iterator[None]:
        """Ctrl-C inside a commit is raised when the commit ends (main thread, default SIGINT handler only)."""
        if (threading.current_thread() is not threading.main_thread()
                or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            if self._in_commit:
                self._held_interrupt = True
            else:
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
