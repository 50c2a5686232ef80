"""The shared figures: what they draw, not how they look."""

import matplotlib

matplotlib.use("Agg")

import numpy as np

from helpers import plots


def _rows(accuracies):
    return [{"fraction": f, "arm": arm, "test_accuracy": acc} for (f, arm), acc in accuracies.items()]


def test_accuracy_vs_fraction_draws_each_arm_and_writes_the_gap(tmp_path):
    reference = _rows({(0.05, "plain"): 0.40, (0.05, "crop_flip"): 0.55, (0.2, "plain"): 0.60, (0.2, "crop_flip"): 0.70})
    mine = _rows({(0.004, "plain"): 0.20, (0.004, "crop_flip"): 0.21})
    fig = plots.accuracy_vs_fraction(mine, reference=reference, reference_label="measured", save_to=tmp_path / "f.png")
    ax = fig.axes[0]
    lines = {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()}
    assert lines["plain (measured)"] == ([5.0, 20.0], [0.40, 0.60])
    assert lines["crop_flip (measured)"] == ([5.0, 20.0], [0.55, 0.70])
    assert lines["crop_flip (this run)"] == ([0.4], [0.21])
    assert sorted(t.get_text() for t in ax.texts) == ["+10.0 pts", "+15.0 pts"]  # second arm minus first, per fraction
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.4%", "5%", "20%"]
    assert (tmp_path / "f.png").stat().st_size > 0


def test_accuracy_vs_fraction_without_reference_annotates_the_run_itself():
    fig = plots.accuracy_vs_fraction(_rows({(0.1, "plain"): 0.5, (0.1, "crop_flip"): 0.58}))
    assert [t.get_text() for t in fig.axes[0].texts] == ["+8.0 pts"]


def test_displayable_keeps_each_range_visible():
    from helpers.plots import _displayable

    keras_output = np.array([[0.0, 127.5], [255.0, 64.0]], np.float32)  # a Keras layer's float [0, 255] image
    np.testing.assert_allclose(_displayable(keras_output), keras_output / 255)
    unit = np.array([[0.0, 0.5], [1.0, 0.25]], np.float32)
    np.testing.assert_allclose(_displayable(unit), unit)
    symmetric = np.array([[-1.0, 0.0], [1.0, 0.5]], np.float32)
    np.testing.assert_allclose(_displayable(symmetric), (symmetric + 1) / 2)
    pixels = np.array([[0, 200]], np.uint8)
    np.testing.assert_allclose(_displayable(pixels), pixels / 255)
    mask = np.array([[0, 1]], np.uint8)  # a {0, 1} mask: black and white, not two shades of black
    np.testing.assert_allclose(_displayable(mask), mask)
    assert _displayable(np.ones((4, 4, 1), np.float32) * 200).shape == (4, 4)


def test_show_grid_draws_every_panel_on_the_same_scale():
    pixels = np.round(np.linspace(20, 220, 16)).astype(np.float32).reshape(4, 4)  # a grey image, 20..220
    fig = plots.show_grid([pixels.astype(np.uint8), pixels, pixels[..., None]], ncols=3)
    shown = [ax.get_images()[0] for ax in fig.axes]
    levels = [image.norm(image.get_array()) for image in shown]  # what the colour map receives, 0 = black, 1 = white
    for level in levels[1:]:
        np.testing.assert_allclose(level, levels[0], atol=1e-6)
    assert float(np.max(levels[0])) < 0.9, "220 of 255 is drawn light grey, not stretched to white"


def test_usage_bars_mark_never_used_samples():
    fig = plots.usage_bars([2, 0, 1, 0])
    (ax,) = fig.axes
    xs = ax.lines[0].get_xdata()
    assert list(xs) == [1, 3] and "never used (2)" in ax.get_legend().get_texts()[0].get_text()


def test_learning_curves_draw_the_reference_beside_the_run():
    run = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}
    fig = plots.learning_curves({"plain": run}, reference={"plain": {"loss": [1, 0.4, 0.3], "val_loss": [1, 0.6, 0.8]}},
                                metrics=("loss",))
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["plain train", "plain validation", "plain (measured, full mode) train",
                      "plain (measured, full mode) validation"]
    colours = {line.get_color() for line in fig.axes[0].lines}
    assert len(colours) == 1, "the same run keeps its colour; only the alpha differs"


def test_segmentation_panel_colours_missed_membrane_red_and_false_membrane_blue():
    image = np.full((1, 4, 4, 1), 100, np.uint8)
    truth = np.ones((1, 4, 4, 1))  # all cell ...
    truth[0, 0, 0] = 0             # ... but one membrane pixel
    probs = np.ones((1, 4, 4, 1))  # predicted cell everywhere ...
    probs[0, 3, 3] = 0             # ... but one pixel predicted membrane
    fig = plots.segmentation_panel(image, truth, probs)
    error = fig.axes[3].get_images()[0].get_array()
    np.testing.assert_allclose(error[0, 0], (1.0, 0.2, 0.2))  # missed membrane: red
    np.testing.assert_allclose(error[3, 3], (0.2, 0.4, 1.0))  # invented membrane: blue
    np.testing.assert_allclose(error[1, 1], [100 / 255 * 0.6] * 3, atol=1e-6)  # right: the dimmed image


def test_accuracy_vs_cost_places_and_labels_each_point_with_its_error_bar(tmp_path):
    points = [{"arm": "a", "s": 9.0, "acc": 0.74, "std": 0.005}, {"arm": "b", "s": 14.0, "acc": 0.78, "std": None}]
    fig = plots.accuracy_vs_cost(points, cost="s", accuracy="acc", label="arm", error="std", save_to=tmp_path / "c.png",
                                 band=(0.74, 0.75, "baseline"))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["baseline"]
    assert [t.get_text() for t in ax.texts] == ["a", "b"]
    assert [tuple(t.xy) for t in ax.texts] == [(9.0, 0.74), (14.0, 0.78)]
    bars = [c for c in ax.containers if c.has_yerr]
    assert len(bars) == 1, "only the point with a std gets an error bar"
    assert (tmp_path / "c.png").stat().st_size > 0


def test_accuracy_vs_cost_labels_cover_no_other_label_point_or_legend(tmp_path):
    # lesson 7's crowded corner: four arms within 15 ms and half a point of each other, one far to the right
    points = [{"arm": "crop_flip+randaugment_n1_m5", "ms": 25.8, "acc": 0.7500, "std": 0.0053},
              {"arm": "crop_flip+trivial", "ms": 22.3, "acc": 0.7481, "std": 0.0022},
              {"arm": "crop_flip+mixup", "ms": 11.2, "acc": 0.7460, "std": None},
              {"arm": "crop_flip+augmix", "ms": 84.7, "acc": 0.7447, "std": None},
              {"arm": "crop_flip+erasing", "ms": 13.4, "acc": 0.7275, "std": None},
              {"arm": "crop_flip+cutmix", "ms": 12.0, "acc": 0.7153, "std": None},
              {"arm": "crop_flip+randaugment_n2_m9", "ms": 33.8, "acc": 0.7108, "std": None}]
    fig = plots.accuracy_vs_cost(points, cost="ms", accuracy="acc", label="arm", error="std",
                                 band=(0.7402, 0.7494, "crop_flip: range of 3 seeds"), save_to=tmp_path / "c.png")
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()
    labels = [t.get_window_extent(renderer) for t in ax.texts]
    assert [t.get_text() for t in ax.texts] == [p["arm"] for p in points]
    for i, a in enumerate(labels):
        assert not any(a.overlaps(b) for b in labels[i + 1:]), f"{ax.texts[i].get_text()} overlaps another label"
        assert not a.overlaps(ax.get_legend().get_window_extent(renderer)), "the legend covers a label"
        assert ax.get_window_extent(renderer).contains(a.x0, a.y0) and ax.get_window_extent(renderer).contains(a.x1, a.y1)
        for j, p in enumerate(points):
            x, y = ax.transData.transform((p["ms"], p["acc"]))
            assert j == i or not a.contains(x, y), f"{ax.texts[i].get_text()} covers the point of {p['arm']}"


def test_layer_costs_draws_one_line_per_layer_and_leaves_failures_out(tmp_path):
    rows = [{"layer": layer, "size": s, "place": p, "ms_per_image": s / k, "peak_mb_above_start": s * k}
            for k, layer in ((10, "RandomFlip"), (20, "fused affine (course)")) for s in (224, 512, 1024)
            for p in ("tf_data", "model")]
    rows.append({"layer": "RandomFlip", "size": 2048, "place": "model", "error": "exit status -9"})
    fig = plots.layer_costs(rows, save_to=tmp_path / "costs.png")
    assert (tmp_path / "costs.png").read_bytes()[:4] == b"\x89PNG"
    for ax in fig.axes[:3]:
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"RandomFlip", "fused affine (course)"}
        assert list(lines["RandomFlip"].get_xdata()) == [224, 512, 1024]  # the failed 2048 px point is left out
    assert fig.axes[2].get_lines()[0].get_ydata()[0] == 224 * 10
    matplotlib.pyplot.close(fig)


def test_unet_ablation_table_gives_each_arms_mean_and_spread_and_marks_the_final_recipe():
    ways = ("whole", "tiles", "whole_d4", "tiles_d4")
    row = lambda arm, seed, acc, dice: {  # noqa: E731
        "arm": arm, "seed": seed, "train_seconds": 600, "validation": {"tiles_d4": {"dice_membrane": dice - 0.01}},
        "test": {w: {"pixel_accuracy": acc, "dice_membrane": dice} for w in ways}}
    table = plots.unet_ablation_table([row("a", 0, 0.92, 0.80), row("a", 1, 0.94, 0.82), row("b", 0, 0.90, 0.75)], "a")
    lines = table.splitlines()
    a_rows = [line for line in lines if line.startswith("a *")]
    assert len(a_rows) == 3 and "0.9300 ±0.014" in a_rows[0] and "0.8100 ±0.014" in a_rows[1]  # sample sd
    assert a_rows[2].split()[-1] == "0.7900", "the seed-0 validation Dice the choice was made on"
    assert any(line.startswith("b ") and "0.9000" in line and "±" not in line for line in lines)
    assert "10.0" in a_rows[0], "minutes of training"
