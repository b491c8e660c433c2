"""The trainer's per-epoch progress bar (tqdm), or a no-op stand-in when progress is not shown."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def progress(enabled: bool, total: int, initial: int, desc: str) -> Iterator[Any]:
    """A tqdm bar of ``total`` steps starting at ``initial`` (closed on exit), or a bar that shows nothing."""
    if not enabled:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=initial, desc=desc, leave=False, dynamic_ncols=True)
    try:
        yield bar
    finally:
        bar.close()


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass
