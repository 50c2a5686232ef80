"""Figures the lessons share: image grids, learning curves, accuracy against data size, benchmark bars (matplotlib)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


def _displayable(image) -> np.ndarray:
    """An image for imshow, as float32 in [0, 1], so every panel is drawn on the same scale: uint8 [0, 255]
    divided by 255, except a uint8 mask with values in {0, 1}, taken as it is; float in [0, 1] as it is;
    float with negatives taken as [-1, 1]; float above 1 taken as [0, 255] (a Keras layer's output).
    Any of HW/HW1/HW3."""
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / (1.0 if array.max() <= 1 else 255.0)
    else:
        array = array.astype(np.float32)
        if array.min() < 0:
            array = (array + 1) / 2
        elif array.max() > 1:
            array = array / 255.0
        array = np.clip(array, 0, 1)
    return array


def _finished(fig, save_to: Path | None, dpi: int = 100):
    """Tighten the layout, save the figure when ``save_to`` is given, and return it."""
    fig.tight_layout()
    if save_to is not None:
        fig.savefig(save_to, dpi=dpi)
    return fig


def show_grid(images: Sequence, titles: Sequence[str] | None = None, *, ncols: int = 5, size: float = 2.0,
              suptitle: str | None = None, save_to: Path | None = None):
    """Show images in a grid, ``ncols`` wide; grayscale in grey, every panel on the same scale (black 0, white
    255 or 1.0: see ``_displayable``), never stretched to its own range. Returns the figure."""
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(_displayable(images[i]), cmap="gray", vmin=0, vmax=1)
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    return _finished(fig, save_to)


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


def usage_bars(counts: Sequence[float], *, ylabel: str = "times used", save_to: Path | None = None):
    """One bar per sample (x: sample index, y: ``counts``); samples at 0 are marked with a red x, so
    a never-used sample is visible rather than a missing bar. Returns the figure."""
    counts = np.asarray(counts, dtype=float)
    fig, ax = plt.subplots(figsize=(6.5, 2.4))
    ax.bar(np.arange(len(counts)), counts, color="tab:blue")
    never = np.flatnonzero(counts == 0)
    if len(never):
        ax.plot(never, np.zeros(len(never)), "x", color="red", markersize=9, markeredgewidth=2,
                label=f"never used ({len(never)})", clip_on=False)
        ax.legend(fontsize=8, loc="upper right")
    ax.set_xlabel("training image")
    ax.set_ylabel(ylabel)
    return _finished(fig, save_to)


def learning_curves(histories: dict[str, dict], *, reference: dict[str, dict] | None = None,
                    reference_label: str = "measured, full mode", metrics=("loss", "accuracy"),
                    save_to: Path | None = None):
    """Train (solid) and validation (dashed) curves per run, one panel per metric. Returns the figure.

    histories: run name -> Keras ``History.history`` (metric -> per-epoch values). ``reference``: more
    runs of the same kind (e.g. measured full-mode runs from ``notebooks/measured``), drawn thinner
    and paler beside the student's own, with ``reference_label`` in their legend entries.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.6), squeeze=False)
    runs = [(name, name, h, False) for name, h in histories.items()]
    runs += [(name, f"{name} ({reference_label})", h, True) for name, h in (reference or {}).items()]
    colours = {}
    for ax, metric in zip(axes[0], metrics):
        for run, name, history, pale in runs:
            if metric not in history:
                continue
            colour = colours.setdefault(run, f"C{len(colours)}")
            epochs = np.arange(1, len(history[metric]) + 1)
            style = dict(color=colour, alpha=0.45 if pale else 1.0, linewidth=1.0 if pale else 1.8,
                         marker=None if pale else "o", markersize=4)  # dots: a 1-epoch run is still visible
            ax.plot(epochs, history[metric], label=f"{name} train", **style)
            if f"val_{metric}" in history:
                ax.plot(epochs, history[f"val_{metric}"], "--", label=f"{name} validation", **style)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    return _finished(fig, save_to)


def segmentation_panel(images, truths, probs, *, threshold: float = 0.5, names=None, save_to: Path | None = None):
    """Rows of image | truth | prediction | errors (red: missed membrane, blue: false membrane).

    images uint8 (N, H, W, 1); truths {0, 1} (N, H, W, 1) with 1 = cell; probs (N, H, W, 1) of class 1.
    """
    n = len(images)
    fig, axes = plt.subplots(n, 4, figsize=(12, 3 * n), squeeze=False)
    for i in range(n):
        truth, pred = truths[i, ..., 0].astype(bool), probs[i, ..., 0] >= threshold
        error = np.dstack([images[i, ..., 0]] * 3).astype(np.float32) / 255 * 0.6
        error[truth & ~pred] = (0.2, 0.4, 1.0)  # predicted membrane where there is cell
        error[~truth & pred] = (1.0, 0.2, 0.2)  # missed membrane
        titles = ["image" if names is None else f"{names[i]}", "truth (white = cell)",
                  f"prediction (p >= {threshold})", "errors: red missed,\nblue false membrane"]
        for ax, picture, title in zip(axes[i], [images[i, ..., 0], truth, pred, error], titles):
            ax.imshow(picture, cmap="gray")
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    return _finished(fig, save_to, dpi=80)


def unet_diagram(depth: int = 4, base_filters: int = 64):
    """A schematic U-Net: encoder down the left, decoder up the right, skip connections across."""
    fig, ax = plt.subplots(figsize=(9, 4.2))
    for level in range(depth + 1):
        filters = base_filters * 2**level
        y = depth - level
        ax.add_patch(plt.Rectangle((level * 0.9, y), 0.7, 0.6, color="tab:blue", alpha=0.7))
        ax.text(level * 0.9 + 0.35, y + 0.3, f"{filters}", ha="center", va="center", color="white", fontsize=9)
        if level < depth:
            right = (2 * depth - level) * 0.9
            ax.add_patch(plt.Rectangle((right, y), 0.7, 0.6, color="tab:orange", alpha=0.7))
            ax.text(right + 0.35, y + 0.3, f"{filters}", ha="center", va="center", color="white", fontsize=9)
            ax.annotate("", xy=(right, y + 0.3), xytext=(level * 0.9 + 0.7, y + 0.3),
                        arrowprops=dict(arrowstyle="->", color="grey", ls="--"))
            ax.annotate("", xy=((level + 1) * 0.9 + 0.35, y - 0.4), xytext=(level * 0.9 + 0.35, y),
                        arrowprops=dict(arrowstyle="->", color="tab:blue"))
            ax.annotate("", xy=(right + 0.35, y), xytext=((2 * depth - level - 1) * 0.9 + 0.35, y - 0.4),
                        arrowprops=dict(arrowstyle="->", color="tab:orange"))
    ax.text(0, depth + 0.9, "encoder: 2 convs, then 2x2 max-pool (size / 2)", color="tab:blue")
    ax.text(depth * 0.9, depth + 0.9, "decoder: up-sample x2, concatenate the skip, 2 convs", color="tab:orange")
    ax.text(depth * 0.9 - 0.4, depth + 0.55, "dashed: skip connections (concatenation)", color="grey", fontsize=8)
    ax.set_xlim(-0.3, (2 * depth + 1) * 0.9)
    ax.set_ylim(-0.6, depth + 1.3)
    ax.axis("off")
    return _finished(fig, None)


def bench_chart(rows: Sequence[dict], *, save_to: Path | None = None):
    """One panel per workload: images/s per input method (bars), with the ratio to
    ImageDataGenerator and the input-wait fraction written on each bar. Returns the figure."""
    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    fig, axes = plt.subplots(1, len(workloads), figsize=(4.6 * len(workloads), 3.6), squeeze=False)
    for ax, workload in zip(axes[0], workloads):
        mine = [r for r in rows if r["workload"] == workload]
        labels = [r["method"].replace("_", " ") + (f"\n{r['workers']} worker" + "s" * (r["workers"] > 1)
                                                    if r.get("workers") else "") for r in mine]
        rates = [r["images_per_s"] for r in mine]
        bars = ax.bar(range(len(mine)), rates, color=["#999999" if r["method"] == "imagedatagenerator" else "#3b75af"
                                                       for r in mine])
        for bar, r in zip(bars, mine):
            ratio = f"{r['vs_imagedatagenerator']:.1f}x\n" if r.get("vs_imagedatagenerator") else ""
            ax.annotate(f"{ratio}wait {r['input_wait_fraction']:.1%}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=7)
        ax.set_xticks(range(len(mine)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_title(workload, fontsize=9)
        ax.set_ylabel("images / s")
        ax.set_ylim(0, max(rates) * 1.3)
    return _finished(fig, save_to)


def layer_costs(rows: Sequence[dict], *, save_to: Path | None = None):
    """Cost against resolution, one line per layer (``helpers.layer_costs`` rows): milliseconds per image in a
    tf.data map and inside the model, and peak memory above the start inside the model; log-log axes, failed
    measurements left out. Returns the figure."""
    panels = [("tf_data", "ms_per_image", "ms per image, in a tf.data map"),
              ("model", "ms_per_image", "ms per image, inside the model"),
              ("model", "peak_mb_above_start", "peak memory (MB) above the start, inside the model")]
    layers = list(dict.fromkeys(r["layer"] for r in rows))
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, 20))[:len(layers)]
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 4.6))
    for ax, (place, key, title) in zip(axes, panels):
        for layer, colour in zip(layers, colours):
            points = sorted((r["size"], r[key]) for r in rows
                            if r["layer"] == layer and r["place"] == place and r.get(key) is not None and r[key] > 0)
            if points:
                style = dict(lw=2.5, color="black") if layer.startswith("fused") else dict(lw=1.2, color=colour)
                ax.plot(*zip(*points), marker="o", ms=3, label=layer, **style)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        sizes = sorted({r["size"] for r in rows})
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.set_xlabel("image side (px)")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, which="both")
    axes[-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    return _finished(fig, save_to)


def accuracy_vs_fraction(rows: Sequence[dict], *, reference: Sequence[dict] = (), reference_label: str = "measured",
                         save_to: Path | None = None):
    """Test accuracy (y) against the % of the training set used (x, log scale), one line per arm.

    rows / reference: dicts with ``fraction`` (0-1], ``arm`` and ``test_accuracy`` [0, 1], as
    ``study_runs.cifar_fraction_study`` returns. ``reference`` (e.g. published or earlier runs) is drawn
    dashed; where it has two arms, the gap between them is written in points. Returns the figure.
    """
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for dashed, runs, label in ((True, reference, reference_label), (False, rows, "this run")):
        for i, arm in enumerate(dict.fromkeys(r["arm"] for r in runs)):
            mine = sorted((r["fraction"], r["test_accuracy"]) for r in runs if r["arm"] == arm)
            ax.plot([100 * f for f, _ in mine], [a for _, a in mine], "o--" if dashed else "o-", color=f"C{i}",
                    alpha=0.6 if dashed and rows else 1, label=f"{arm} ({label})")
    annotated = reference or rows
    arms = list(dict.fromkeys(r["arm"] for r in annotated))
    if len(arms) == 2:
        by_key = {(r["fraction"], r["arm"]): r["test_accuracy"] for r in annotated}
        for fraction in sorted({r["fraction"] for r in annotated}):
            if (fraction, arms[0]) in by_key and (fraction, arms[1]) in by_key:
                first, second = by_key[fraction, arms[0]], by_key[fraction, arms[1]]
                ax.annotate(f"{100 * (second - first):+.1f} pts", (100 * fraction, (first + second) / 2),
                            ha="left", va="center", fontsize=8, xytext=(4, 0), textcoords="offset points")
    fractions = sorted({r["fraction"] for r in list(rows) + list(reference)})
    ax.set_xscale("log")
    ax.set_xticks([100 * f for f in fractions], [f"{100 * f:g}%" for f in fractions])
    ax.minorticks_off()
    ax.set_xlabel("share of the training set used")
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _finished(fig, save_to)


def accuracy_vs_cost(points: Sequence[dict], *, cost: str, accuracy: str, label: str, error: str | None = None,
                     xlabel: str = "cost", band: tuple[float, float, str] | None = None, title: str | None = None,
                     save_to: Path | None = None):
    """One labelled dot per dict: ``points[i][cost]`` (x) against ``points[i][accuracy]`` (y, in [0, 1]),
    with ``points[i][error]`` as a vertical error bar where it is given (e.g. the std over seeds).
    ``band``: (low, high, label), a shaded horizontal range such as a baseline's spread over seeds, named in a
    legend below the axes. Each label is placed where it covers no other label and no other point or error bar
    (``_place_labels``). Returns the figure."""
    fig, ax = plt.subplots(figsize=(7, 4.6))
    if band is not None:
        ax.axhspan(band[0], band[1], color="grey", alpha=0.2, label=band[2])
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    marks = []
    for i, p in enumerate(points):
        bar = p.get(error) if error else None
        ax.errorbar(p[cost], p[accuracy], yerr=bar, fmt="o", color=f"C{i % 10}", capsize=3)
        ax.annotate(p[label], (p[cost], p[accuracy]), fontsize=8, xytext=(6, 0), textcoords="offset points",
                    ha="left", va="center", color=f"C{i % 10}")
        marks.append((p[cost], p[accuracy], bar or 0.0))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.margins(x=0.08, y=0.12)
    for _ in range(2):  # the layout makes room for the labels; they are placed again at the final scale
        fig.tight_layout()
        _place_labels(fig, ax, marks)
    if save_to is not None:
        fig.savefig(save_to, dpi=100)
    return fig


# Where a label may sit, tried in this order: (x, y) offset in points from its point, horizontal alignment.
_LABEL_SPOTS = [((6, 0), "left"), ((-6, 0), "right")] + [
    ((dx, dy * step), ha) for step in (1, 2, 3, 4) for dy in (10, -10) for dx, ha in ((6, "left"), (-6, "right"))]


def _place_labels(fig, ax, marks, *, pad: float = 2.0):
    """Put each annotation of ``ax`` (one per mark, in order) at the first of ``_LABEL_SPOTS`` where it stays
    inside the axes and covers no label placed before it and no other mark. ``marks``: (x, y, error) in data
    units; a mark covers its dot and its error bar. Works in display units, so call it after the layout."""
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    px = fig.dpi / 72  # display units per point

    def box(x, y, err):
        (x0, y0), (x1, y1) = ax.transData.transform([(x, y - err), (x, y + err)])
        r = 5 * px
        return (x0 - r, min(y0, y1) - r, x0 + r, max(y0, y1) + r)

    def overlaps(a, b):
        return not (a[2] + pad <= b[0] or b[2] + pad <= a[0] or a[3] + pad <= b[1] or b[3] + pad <= a[1])

    mark_boxes = [box(*m) for m in marks]
    placed = []
    for i, text in enumerate(ax.texts):
        others = [b for j, b in enumerate(mark_boxes) if j != i] + placed
        for offset, ha in _LABEL_SPOTS:
            text.set_position(offset)
            text.set_ha(ha)
            e = text.get_window_extent(renderer)
            here = (e.x0, e.y0, e.x1, e.y1)
            inside = frame.x0 <= e.x0 and e.x1 <= frame.x1 and frame.y0 <= e.y0 and e.y1 <= frame.y1
            if inside and not any(overlaps(here, b) for b in others):
                break
        else:  # nowhere free: keep the first spot
            text.set_position(_LABEL_SPOTS[0][0])
            text.set_ha(_LABEL_SPOTS[0][1])
            e = text.get_window_extent(renderer)
            here = (e.x0, e.y0, e.x1, e.y1)
        placed.append(here)


def unet_ablation_table(rows: Sequence[dict], final: str, *, ways=("whole", "tiles", "whole_d4", "tiles_d4")) -> str:
    """Lesson 5's ablation as text: per arm of ``rows`` (``study_runs.unet_run`` rows), the seeds' mean test
    pixel accuracy, then membrane Dice, for each prediction way (± the sample standard deviation over seeds when
    there are several), and the minutes of training; then the seed-0 validation membrane Dice (tiles_d4) on which
    ``final`` (marked with *) was chosen."""
    arms = list(dict.fromkeys(r["arm"] for r in rows))
    from helpers.measured import mean_std

    def cell(values):
        mean, sd = mean_std(values)
        return f"{mean:.4f}" + (f" ±{sd:.3f}" if len(values) > 1 else "")

    lines = []
    for score, title in (("pixel_accuracy", "pixel accuracy"), ("dice_membrane", "membrane Dice")):
        lines.append(f"{'test ' + title:<22}{'seeds':>6}{'train min':>10}" + "".join(f"{w:>15}" for w in ways))
        for arm in arms:
            mine = [r for r in rows if r["arm"] == arm]
            minutes = np.mean([r["train_seconds"] for r in mine]) / 60
            lines.append(f"{arm + (' *' if arm == final else ''):<22}{len(mine):>6}{minutes:>10.1f}"
                         + "".join(f"{cell([r['test'][w][score] for r in mine]):>15}" for w in ways))
        lines.append("")
    lines.append("validation membrane Dice (seed 0, tiles_d4): the final recipe's choice")
    lines += [f"{arm + (' *' if arm == final else ''):<22}{r['validation']['tiles_d4']['dice_membrane']:>16.4f}"
              for arm in arms for r in rows if r["arm"] == arm and r["seed"] == 0]
    return "\n".join(lines) + "\n* the final recipe: the best validation Dice"
