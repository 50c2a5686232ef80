"""The shared figures: what they draw, not how they look."""

import matplotlib

matplotlib.use("Agg")

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
