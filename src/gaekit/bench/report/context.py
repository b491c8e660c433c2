"""What every section of the benchmark report reads: the study, its selections per setting, and the figures
folder that images are copied and plots drawn into."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gaekit.bench import figures, layout
from gaekit.bench.render import Block, Figure, Image, Text, is_png
from gaekit.bench.report.cells import Setting, safe_name
from gaekit.bench.select import Choice, Selection, Study, fid_key, select_study


def first_run(choice: Choice):
    return min(choice.runs, key=lambda r: (int(r.record.get("seed") or 0), r.run_id))


def spec_of(raw: dict[str, Any]) -> dict[str, Any]:
    """The StudySpec dict inside ``study.json`` (stored whole or under ``"spec"``)."""
    return raw["spec"] if isinstance(raw.get("spec"), dict) else raw


def resolve_image(run_dir: Path, raw: str, split: str) -> Path | None:
    """An image path from a result: relative to the run folder, absolute, or moved with the run folder."""
    path = Path(raw)
    candidates = [path] if path.is_absolute() else [run_dir / path]
    candidates += [run_dir / layout.IMAGES_DIR / split / path.name]
    candidates += sorted(run_dir.rglob(path.name))
    return next((c for c in candidates if c.is_file()), None)


class ReportContext:
    """A loaded study's selections and the report's blocks so far; images are copied into ``figures_dir``."""

    def __init__(self, study: Study, figures_dir: Path):
        self.study, self.figures_dir = study, figures_dir
        self.spec = spec_of(study.spec)
        self.selections = select_study(study)
        self.settings: dict[Setting, list[Selection]] = {}
        for selection in self.selections:
            self.settings.setdefault(selection.group.setting, []).append(selection)
        self.blocks: list[Block] = []
        self._copied: dict[Path, Image] = {}

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def fid_keys(self, setting: Setting) -> set[str]:
        return {k for s in self.settings[setting] for runs in s.group.configs.values() for r in runs
                if (k := fid_key(r.results.get("test"))) is not None}

    def inception(self, setting: Setting) -> bool:
        """Whether every FID of the setting uses Inception-v3 features (comparable with the paper)."""
        return self.fid_keys(setting) == {"fid"}

    def fid_header(self, setting: Setting, what: str = "FID") -> str:
        keys = self.fid_keys(setting)
        if keys == {"fid"} or not keys:
            return what
        return f"{what} ({', '.join(sorted(k.removeprefix('fid_') + ' features' for k in keys))})"

    def image(self, source: Path, name: str, alt: str) -> Image | None:
        """Copy a PNG into the report's figures folder (once); None when it is not a PNG."""
        if source in self._copied:
            return self._copied[source]
        if not is_png(source):
            return None
        target = self.figures_dir / safe_name(name)
        shutil.copyfile(source, target)
        self._copied[source] = Image(target, alt)
        return self._copied[source]

    def run_image(self, choice: Choice | None, pick: Callable[[dict[str, Any]], str | None], alt: str) -> Image | None:
        """An image file named in the chosen configuration's (first seed's) test, else validation, result."""
        if choice is None:
            return None
        run = first_run(choice)
        for split in ("test", "validation"):
            raw = pick(run.results.get(split) or {})
            if raw:
                source = resolve_image(run.path, raw, split)
                if source is not None:
                    return self.image(source, f"{run.run_id}-{split}-{Path(raw).name}", alt)
        return None

    def plot(self, name: str, draw: Callable[[Path], Path], caption: str) -> Block:
        """A figure drawn into the figures folder, or a note when matplotlib is missing."""
        if not figures.available():
            return Text(f"({caption}: not drawn, {figures.MISSING})")
        path = draw(self.figures_dir / safe_name(name))
        return Figure(Image(path, caption), caption)
