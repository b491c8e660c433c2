"""Cells and titles of the benchmark report: numbers with their spread, differences to the paper, configuration
labels, learning-rate attempts, setting and sampler titles."""

from __future__ import annotations

import json
import re
from typing import Any

from gaekit.bench import paper
from gaekit.bench.select import Choice, Stat

Setting = tuple[str, str, int]  # dataset, network, latent_dim


def stat_cell(stat: Stat | None, scale: float = 1.0, digits: int = 2) -> str | None:
    if stat is None:
        return None
    text = f"{stat.mean * scale:.{digits}f}"
    return text if stat.std is None else f"{text} ({stat.std * scale:.{digits}f})"


def diff_cell(stat: Stat | None, published: float | None, scale: float = 1.0) -> str | None:
    return None if stat is None or published is None else f"{stat.mean * scale - published:+.2f}"


def num_cell(value: float | None, digits: int = 2) -> str | None:
    return None if value is None else f"{value:.{digits}f}"


def config_cell(choice: Choice | None) -> str | None:
    if choice is None:
        return None
    seeds = len(choice.runs)
    return f"c{choice.config_index:02d}" + (f" ({seeds} seeds)" if seeds > 1 else "")


def setting_title(setting: Setting) -> str:
    dataset, network, latent_dim = setting
    return f"{network} / {dataset} / latent {latent_dim}"


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def sampler_title(sampler: str) -> str:
    return paper.SAMPLER_TITLES.get(sampler, sampler)


def sampler_order(samplers: list[str]) -> list[str]:
    known = list(paper.SAMPLER_TITLES)
    return sorted(set(samplers), key=lambda s: (known.index(s), "") if s in known else (len(known), s))


def lr_cell(record: dict[str, Any]) -> str | None:
    value = record.get("learning_rate")
    return f"{value:g}" if isinstance(value, (int, float)) else None


def scaled(value: float | None, scale: float) -> float | None:
    return None if value is None else value * scale


def fields_cell(config: Any) -> str:
    if not config:
        return "defaults"
    if isinstance(config, dict):
        return ", ".join(f"{k}={json.dumps(v)}" for k, v in config.items())
    return json.dumps(config)


def attempts_cell(record: dict[str, Any]) -> str | None:
    """The learning-rate attempts of the instability protocol, e.g. "lr 0.001: non_finite at epoch 3; ..."."""
    parts = []
    for attempt in record.get("attempts") or []:
        text = f"lr {lr_cell(attempt) or '?'}: {attempt.get('outcome', '?')}"
        if attempt.get("outcome") != "finished" and attempt.get("epoch") is not None:
            text += f" at epoch {attempt['epoch']}"
        parts.append(text)
    return "; ".join(parts) or None
