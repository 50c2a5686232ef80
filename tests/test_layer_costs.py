"""The per-layer cost study (helpers.layer_costs): what it measures and how it reports, not its timings."""

import json

import numpy as np
import pytest

from helpers import layer_costs


@pytest.mark.parametrize("place", layer_costs.PLACES)
def test_measure_times_a_layer_in_each_place_and_reports_its_memory(place):
    row = layer_costs.measure("RandomFlip", 32, place, batch=2, min_seconds=0.01)
    assert (row["layer"], row["size"], row["place"], row["batch"]) == ("RandomFlip", 32, place, 2)
    assert row["calls"] >= 3 and row["ms_per_image"] > 0 and row["peak_mb_above_start"] >= 0
    assert row["output_shape"] == [2, 32, 32, 3] and row["input_dtype"] == "float32"


def test_every_layer_builds_and_keeps_the_batch_shape_but_the_crop():
    import tensorflow as tf

    images = tf.random.uniform((2, 32, 32, 3), 0, 255, seed=1)
    for name in layer_costs.LAYERS:
        x = tf.cast(images, tf.uint8) if name.startswith("fused") else images
        out = layer_costs.build(name, 32)(x)
        expected = (2, 28, 28, 3) if name == "RandomCrop" else (2, 32, 32, 3)
        assert tuple(out.shape) == expected, name
        assert out.dtype == x.dtype, name
    with pytest.raises(ValueError, match="unknown layer"):
        layer_costs.build("RandomWobble", 32)
    with pytest.raises(ValueError, match="unknown place"):
        layer_costs.measure("RandomFlip", 32, "gpu")


def test_table_has_one_row_per_layer_and_a_column_per_place_and_size():
    rows = [{"layer": "A", "size": s, "place": p, "ms_per_image": s / 100} for s in (32, 64) for p in layer_costs.PLACES]
    rows.append({"layer": "B", "size": 32, "place": "model", "error": "exit status -9"})
    table = layer_costs.table(rows, "ms_per_image")
    assert table[0] == {"layer": "A", "tf_data 32": 0.32, "model 32": 0.32, "tf_data 64": 0.64, "model 64": 0.64}
    assert table[1] == {"layer": "B", "model 32": None}


@pytest.mark.slow  # two child processes, each starting TensorFlow (about 15 s)
def test_run_measures_each_in_its_own_process_and_saves_failures_as_rows(tmp_path):
    out = tmp_path / "layer_costs.json"
    rows = layer_costs.run(["RandomFlip"], sizes=[32], places=["model"], batch=2, min_seconds=0.01, out=out,
                           verbose=False)
    rows += layer_costs.run(["RandomFlip"], sizes=[32], places=["nowhere"], batch=2, min_seconds=0.01, verbose=False)
    assert rows[0]["ms_per_image"] > 0 and "error" not in rows[0]
    assert rows[1]["error"].startswith("exit status 1") and "unknown place" in rows[1]["error"]
    saved = json.loads(out.read_text())
    assert saved["rows"] == rows[:1] and "ru_maxrss" in saved["about"]
    assert saved["provenance"]["git_commit"]
    assert np.isfinite(rows[0]["start_mb"])
