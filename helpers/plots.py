"""Figures the lessons share: image grids and learning curves (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np


def _displayable(image) -> np.ndarray:
    """uint8 [0, 255] or float [0, 1] (or [-1, 1] if it has negatives), any of HW/HW1/HW3 -> for imshow."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.dtype != np.uint8:
        array = array.astype(np.float32)
        if array.min() < 0:
            array = (array + 1) / 2
        array = np.clip(array, 0, 1)
    return array


def show_grid(images: Sequence, titles: Sequence[str] | None = None, *, ncols: int = 5, size: float = 2.0,
              suptitle: str | None = None, save_to: Path | None = None):
    """Show images in a grid, ``ncols`` wide; grayscale in grey. Returns the figure."""
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(_displayable(images[i]), cmap="gray", vmin=0, vmax=None if np.asarray(images[i]).dtype == np.uint8 else 1)
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    if save_to is not None:
        fig.savefig(save_to, dpi=100)
    return fig


def show_draws(transforms: dict[str, Callable], image, *, draws: int = 4, size: float = 1.7):
    """One row per transform: the original, then ``draws`` results with seeds 0, 1, ...

    Each transform is ``fn(image, seed) -> image``.
    """
    images, titles = [], []
    for name, fn in transforms.items():
        images.append(image)
        titles.append(f"{name}\n(original)")
        for seed in range(draws):
            images.append(np.asarray(fn(image, seed)))
            titles.append(f"seed {seed}")
    return show_grid(images, titles, ncols=draws + 1, size=size)


def learning_curves(histories: dict[str, dict], *, metrics=("loss", "accuracy"), save_to: Path | None = None):
    """Train (solid) and validation (dashed) curves per run, one panel per metric. Returns the figure."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for i, (name, history) in enumerate(histories.items()):
            colour = f"C{i}"
            ax.plot(np.arange(1, len(history[metric]) + 1), history[metric], color=colour, label=f"{name} train")
            if f"val_{metric}" in history:
                ax.plot(np.arange(1, len(history[metric]) + 1), history[f"val_{metric}"], "--", color=colour,
                        label=f"{name} validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    if save_to is not None:
        fig.savefig(save_to, dpi=100)
    return fig
