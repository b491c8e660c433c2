"""The report's matplotlib figures: metrics against the latent dimension (Fig. 2 style) and training
time per model (Fig. 14 style), after Chadebec et al. 2022 (arXiv:2206.08309); the disentanglement
study's score distributions per model and rank-correlation matrix, after Locatello et al. 2019 (ICML,
Figs. 2 and 3).

matplotlib is optional (``pip install 'gaekit[report]'``) and imported inside the functions; figures
are drawn on a bare ``matplotlib.figure.Figure`` (Agg canvas), so no global pyplot state or backend
is touched.
"""

from __future__ import annotations

from pathlib import Path

Series = dict[str, list[tuple[float, float]]]  # model label -> [(x, y), ...]

MISSING = "figures need matplotlib: pip install 'gaekit[report]'"


def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


def latent_figure(path: Path, title: str, panels: list[tuple[str, Series]]) -> Path:
    """One panel per task (metric against latent dimension, log2 axis), one line per model.

    Parameters
    ----------
    panels : list of (y label, series)
        Panels without any point are left out; ``panels`` must have at least one point.
    """
    from matplotlib.figure import Figure

    panels = [(label, series) for label, series in panels if any(series.values())]
    models = list(dict.fromkeys(m for _, series in panels for m in series))
    colors = dict(zip(models, _colors(len(models))))
    fig = Figure(figsize=(7.5, 2.6 * len(panels) + 0.6), layout="constrained")
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (label, series) in zip(axes, panels):
        for model, points in series.items():
            if points:
                xs, ys = zip(*sorted(points))
                ax.plot(xs, ys, marker="o", label=model, color=colors[model])
        ax.set_xscale("log", base=2)
        dims = sorted({x for points in series.values() for x, _ in points})
        ax.set_xticks(dims, [str(int(d)) for d in dims])
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("latent dimension")
    axes[0].set_title(title)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize="small")
    fig.savefig(path, dpi=90)
    return path


def bar_figure(path: Path, title: str, ylabel: str, bars: list[tuple[str, float, float | None]]) -> Path:
    """A bar per ``(label, value, error or None)``."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(4.0, 0.45 * len(bars) + 1.5), 3.8), layout="constrained")
    ax = fig.subplots()
    labels = [b[0] for b in bars]
    errors = [b[2] or 0.0 for b in bars]
    ax.bar(range(len(bars)), [b[1] for b in bars], yerr=errors if any(errors) else None,
           color=_colors(len(bars)), capsize=3)
    ax.set_xticks(range(len(bars)), labels, rotation=60, ha="right", fontsize="small")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.savefig(path, dpi=90)
    return path


def distribution_figure(path: Path, title: str, panels: list[tuple[str, dict[str, list[float]]]]) -> Path:
    """One panel per metric: per model, the distribution of its scores over configurations and seeds (a violin
    where a model has three or more scores, else its points), as Locatello et al. 2019, Fig. 3."""
    from matplotlib.figure import Figure

    models = list(dict.fromkeys(m for _, series in panels for m in series))
    colors = _colors(len(models))
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    fig = Figure(figsize=(3.4 * columns, 2.9 * rows + 0.5), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, (label, series) in zip(axes, panels):
        for i, model in enumerate(models):
            values = series.get(model, [])
            if len(values) >= 3 and len(set(values)) > 1:
                parts = ax.violinplot([values], positions=[i], showmedians=True, widths=0.8)
                for body in parts["bodies"]:
                    body.set_facecolor(colors[i])
            ax.scatter([i] * len(values), values, s=9, color=colors[i], zorder=3)
        ax.set_xticks(range(len(models)), models, rotation=50, ha="right", fontsize="small")
        ax.set_title(label, fontsize="medium")
        ax.grid(axis="y", alpha=0.3)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    return path


def matrix_figure(path: Path, title: str, labels: list[str], matrix: list[list[float | None]]) -> Path:
    """A labelled heat map of a square matrix in [-1, 1] with its values written in (Locatello et al. 2019,
    Fig. 2: rank correlations between metrics)."""
    import numpy as np
    from matplotlib.figure import Figure

    values = np.array([[np.nan if v is None else v for v in row] for row in matrix], dtype=float)
    size = 0.62 * len(labels) + 2.2
    fig = Figure(figsize=(size + 0.8, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(values, vmin=-1, vmax=1, cmap="RdBu_r")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, "n/a" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize="x-small")
    ax.set_xticks(range(len(labels)), labels, rotation=50, ha="right", fontsize="small")
    ax.set_yticks(range(len(labels)), labels, fontsize="small")
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title)
    fig.savefig(path, dpi=90)
    return path
