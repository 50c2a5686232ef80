"""What each Keras augmentation layer costs (lesson 6): ``python -m helpers.layer_costs``.

Every augmentation layer the course uses or names, the lesson-3 chain of five layers, and the course's fused op,
on a batch of ``BATCH`` images at 224, 512, 1024 and 2048 px, in two places:

- ``tf_data``: mapped over a ``tf.data`` stream of that batch with ``num_parallel_calls=AUTOTUNE`` and
  ``prefetch``, the way an input pipeline runs it;
- ``model``: called in training mode inside one compiled function (``tf.function``), the way a layer inside the
  model runs in ``fit``'s training step.

Each row: milliseconds of wall time per image (a warm-up call, then calls until ``min_seconds`` have passed and at
least three were timed) and the peak memory above what the process held before the layer was built (peak resident
set, ``ru_maxrss``, minus the resident set before). Every (layer, size, place) runs in a fresh Python process, so
that its peak is its own: TensorFlow's allocator keeps what it once held. A process that fails (out of memory, for
instance) gives a row with its ``error``. Rows are saved after each measurement.

The driver starts no TensorFlow itself; ``--one`` is what each child process runs.
"""

from __future__ import annotations

import argparse
import functools
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

SIZES = (224, 512, 1024, 2048)
BATCH = 8
PLACES = ("tf_data", "model")

# name -> where the course uses it, with its settings; ``build`` makes each one (importing Keras only then).
LAYERS: dict[str, str] = {
    "RandomFlip": "lesson 1, 3 (horizontal)",
    "RandomRotation": "lesson 1, 3: 20 degrees",
    "RandomTranslation": "lesson 1, 3: 0.2 of each side",
    "RandomZoom": "lesson 1, 3: 0.15",
    "RandomShear": "lesson 3: the post's 0.15 degrees",
    "lesson-3 chain (5 layers)": "the five layers above in a row (recipes.FLOWERS.keras_layers)",
    "RandomCrop": "lesson 5: 7/8 of each side",
    "RandomErasing": "lesson 1, 7: one box of 5-20% of the area",
    "RandomElasticTransform": "lesson 5: factor 1, scale 0.5",
    "RandAugment": "lesson 7: factor 0.5, 2 operations",
    "AugMix": "lesson 7: 3 chains of up to 3 operations",
    "MixUp": "lesson 7 (images only here)",
    "CutMix": "lesson 7 (images only here)",
    "fused affine (course)": "lesson 1's random_affine with lesson 3's recipe, uint8 in and out",
}


def build(name: str, size: int, seed: int = 0) -> Callable:
    """``images -> images`` in training mode for one entry of ``LAYERS``: float32 (N, size, size, 3) in [0, 255]
    (uint8 for the fused op); a batch k of a stream may pass ``k`` for the fused op's per-batch seed."""
    import keras
    import tensorflow as tf

    from helpers import recipes

    five = {type(layer).__name__: layer for layer in recipes.FLOWERS.keras_layers(seed)}
    if name in five:
        layer = five[name]
    elif name == "lesson-3 chain (5 layers)":
        layer = keras.Sequential(recipes.FLOWERS.keras_layers(seed))
    elif name == "RandomCrop":
        layer = keras.layers.RandomCrop(size * 7 // 8, size * 7 // 8, seed=seed)
    elif name == "RandomErasing":
        layer = keras.layers.RandomErasing(factor=1.0, scale=(0.05, 0.2), value_range=(0, 255), seed=seed)
    elif name == "RandomElasticTransform":
        layer = keras.layers.RandomElasticTransform(factor=(1.0, 1.0), scale=0.5, seed=seed)
    elif name == "RandAugment":
        layer = keras.layers.RandAugment(value_range=(0, 255), factor=0.5, seed=seed)
    elif name == "AugMix":
        layer = keras.layers.AugMix(value_range=(0, 255), seed=seed)
    elif name == "MixUp":
        layer = keras.layers.MixUp(seed=seed)
    elif name == "CutMix":
        layer = keras.layers.CutMix(seed=seed)
    elif name == "fused affine (course)":
        base = tf.constant(seed, tf.int64)
        return lambda images, k=0: recipes.FLOWERS.fused(images, tf.stack([base, tf.cast(k, tf.int64)]))
    else:
        raise ValueError(f"unknown layer {name!r}; choose from {list(LAYERS)}")
    return lambda images, k=0: layer(images, training=True)


def _resident_mb() -> float:
    """This process's resident set now, in MB (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    """This process's peak resident set so far, in MB (ru_maxrss is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(name: str, size: int, place: str, *, batch: int = BATCH, min_seconds: float = 2.0) -> dict:
    """Time and peak memory of one ``LAYERS`` entry at ``size`` px in one ``PLACES`` entry, in this process.
    The peak is this process's own only in a fresh process (``run`` starts one per measurement)."""
    import numpy as np
    import tensorflow as tf

    if place not in PLACES:
        raise ValueError(f"unknown place {place!r}; choose from {PLACES}")
    rng = np.random.default_rng(0)  # smooth random content: a coarse noise image, upsampled
    coarse = rng.uniform(0, 255, (batch, 16, 16, 3)).astype("float32")
    images = tf.image.resize(coarse, (size, size))
    if name == "fused affine (course)":
        images = tf.cast(tf.round(images), tf.uint8)
    before = _resident_mb()
    fn = build(name, size)
    if place == "model":  # on a CPU a tf.function returns when its result is computed: no copy out needed
        step = functools.partial(tf.function(fn), images)
    else:
        ds = tf.data.Dataset.from_tensors(images).repeat().enumerate()
        ds = ds.map(lambda k, x: fn(x, k), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        step = iter(ds).__next__
    out = step()  # warm-up: tracing, thread start
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < min_seconds:
        out = step()
        calls += 1
    seconds = time.perf_counter() - start
    return {"layer": name, "size": size, "place": place, "batch": batch, "calls": calls,
            "ms_per_image": round(1000 * seconds / (calls * batch), 4),
            "peak_mb_above_start": round(max(0.0, _peak_mb() - before), 1), "start_mb": round(before, 1),
            "output_shape": list(out.shape), "input_dtype": images.dtype.name}


def run(layers=tuple(LAYERS), sizes=SIZES, places=PLACES, *, batch: int = BATCH, min_seconds: float = 2.0,
        out: Path | None = None, command: str | None = None, timeout: float = 900, verbose: bool = True) -> list[dict]:
    """Every (layer, size, place), each in a fresh child process (``--one``); returns the rows and, with ``out``,
    saves them there after each one with the provenance taken at the start (``helpers.measured.write``)."""
    from helpers import measured

    origin, rows = measured.provenance(command), []
    for name in layers:
        for size in sizes:
            for place in places:
                command = [sys.executable, "-m", "helpers.layer_costs", "--one", name, str(size), place,
                           "--batch", str(batch), "--min-seconds", str(min_seconds)]
                try:
                    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
                    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
                    if done.returncode == 0 and lines:
                        row = json.loads(lines[-1])
                    else:
                        tail = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
                        row = {"layer": name, "size": size, "place": place, "batch": batch,
                               "error": f"exit status {done.returncode}: {tail[-300:]}"}
                except subprocess.TimeoutExpired:
                    row = {"layer": name, "size": size, "place": place, "batch": batch,
                           "error": f"took more than {timeout:.0f} s"}
                rows.append(row)
                if verbose:
                    what = (row["error"] if "error" in row else
                            f"{row['ms_per_image']:9.2f} ms/image  peak +{row['peak_mb_above_start']:7.0f} MB")
                    print(f"{name:<28}{size:>6} px  {place:<8}{what}", flush=True)
                if out is not None:
                    measured.write(out, rows, about=ABOUT, origin=origin)
    return rows


ABOUT = ("Lesson 6: python -m helpers.layer_costs: milliseconds of wall time per image and peak memory above the "
         "start (ru_maxrss minus the resident set before the layer was built) of every Keras augmentation layer the "
         "course uses or names, the lesson-3 chain of five layers, and the course's fused affine, on a batch of 8 "
         "smooth random images (float32 in [0, 255]; uint8 for the fused op) at 224, 512, 1024 and 2048 px. "
         "tf_data: mapped over a repeated tf.data stream of the batch, num_parallel_calls=AUTOTUNE, prefetch. model: "
         "called in training mode inside one tf.function, as in fit's training step. Each measurement in a fresh "
         "process; a warm-up call, then timed calls for at least --min-seconds (the command line says; default 2) and "
         "at least 3. A measurement that took longer than --timeout is an error row. 2 CPU cores, no GPU.")


def table(rows: list[dict], key: str) -> list[dict]:
    """One row per layer with ``<place> <size>`` columns of ``key`` (``ms_per_image`` or
    ``peak_mb_above_start``); None where the measurement failed. For ``measured.markdown_table``."""
    out = {}
    for r in rows:
        entry = out.setdefault(r["layer"], {"layer": r["layer"]})
        entry[f"{r['place']} {r['size']}"] = r.get(key)
    return list(out.values())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.layer_costs",
                                     description="Time and peak memory of each Keras augmentation layer by image size.")
    parser.add_argument("--layers", nargs="+", default=list(LAYERS), choices=list(LAYERS), metavar="NAME",
                        help=f"default: all of {', '.join(LAYERS)}")
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES), metavar="PX")
    parser.add_argument("--places", nargs="+", default=list(PLACES), choices=list(PLACES))
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--min-seconds", type=float, default=2.0, help="timed seconds per measurement (at least)")
    parser.add_argument("--timeout", type=float, default=900, metavar="S",
                        help="seconds one measurement may take before it is stopped and saved as an error row")
    parser.add_argument("--out", metavar="OUT.json", default=None,
                        help="save the rows with their provenance here (after each measurement)")
    parser.add_argument("--one", nargs=3, metavar=("NAME", "SIZE", "PLACE"), default=None,
                        help="measure one (in this process) and print it as JSON: what each child runs")
    args = parser.parse_args(argv)
    if args.one:
        name, size, place = args.one
        print(json.dumps(measure(name, int(size), place, batch=args.batch, min_seconds=args.min_seconds)))
        return
    bad = [s for s in args.sizes if not 16 <= s <= 8192]
    if bad:
        parser.error(f"sizes must be 16 to 8192 px, not {bad}")
    command = "python -m helpers.layer_costs " + " ".join(argv if argv is not None else sys.argv[1:])
    run(args.layers, args.sizes, args.places, batch=args.batch, min_seconds=args.min_seconds,
        out=Path(args.out) if args.out else None, command=command, timeout=args.timeout)
    if args.out:
        print(f"saved {args.out}")


if __name__ == "__main__":
    main()
