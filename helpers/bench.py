"""Input-pipeline benchmark for lesson 6: ``python -m helpers.bench`` (or ``make bench``).

Every method of ``helpers.feeders`` delivers the same kind of batch for a workload of ``helpers.workloads``:
augmented, preprocessed, ready for the lesson's model. Three measurements per method, side by side in one run:

- ``images_per_s``: how fast the pipeline alone delivers batches. Warm-up batches first, then
  the median of ``repeats`` timed passes over ``n_images``; ``cpu_ms_per_image``: the CPU time spent meanwhile.
- ``input_wait_fraction``: the share of a training step (``train_on_batch`` on the lesson's
  own model, in the benchmark's own loop, not inside ``fit``) spent waiting in ``next()`` for the batch.
  0 means that input never held training up.
- ``fit_*`` (``fit_wait``): what ``model.fit`` itself loses, with its own prefetching: the mean step of a ``fit``
  epoch fed by each method that feeds from memory, against the same model fed batches already held in memory.

``recommend`` then marks each workload's method by ``RECOMMENDATION_RULE``. Results go to
``<output dir>/bench/bench.json`` (a list of rows) and ``bench.png``. Also here: the ``tf.data`` knobs one at a
time (``tf_data_knobs``) and images/s against parallelism (``input_scaling``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras
import tensorflow as tf

from helpers import config, models
from helpers.feeders import (
    METHODS,
    Feeder,
    ReadyBatches,
    ServicePool,
    albumentations_augment,
    albumentations_tf_data_batches,
    feeders,
    file_batches,
    generator_batches,
    legacy_batches,
    service_batches,
    tf_data_batches,
)
from helpers.taught import input_knobs
from helpers.workloads import WORKLOADS, Workload

# ---------------------------------------------------------------- lesson 6: the tf.data knobs, one at a time

KNOB_VARIANTS = {
    # TF 2.x's automatic rewrites (parallelising a stateless map, injecting a prefetch) are switched
    # off in every variant but the last, so that each knob is measured on its own.
    "sequential map": dict(parallel=False, prefetch=False),
    "parallel map": dict(parallel=True, prefetch=False),
    "parallel map + prefetch": dict(parallel=True, prefetch=True),
    "+ cache decoded images": dict(parallel=True, prefetch=True, cache="decoded"),
    "+ non-deterministic order": dict(parallel=True, prefetch=True, cache="decoded", deterministic=False),
    "cache AFTER augmentation (wrong)": dict(parallel=True, prefetch=True, cache="augmented"),
    "sequential map, automatic rewrites on": dict(parallel=False, prefetch=False, automatic=True),
}


def simulated_accelerator(step_seconds: float) -> Callable:
    """A stand-in training step that sleeps for ``step_seconds`` (so it uses no CPU), as the host does
    while a GPU runs the step: it shows what prefetching buys when the device, not the CPU, trains."""
    return lambda x, y: time.sleep(step_seconds)


def tf_data_knobs(paths, labels, *, size: int = 224, batch_size: int = 32, epochs: int = 3, seed: int = 0,
                  variants=tuple(KNOB_VARIANTS), train_step: Callable | None = None, pipeline: Callable | None = None,
                  verbose: bool = True) -> list[dict]:
    """Measure each ``KNOB_VARIANTS`` pipeline on the same image files, timed after two untimed passes.
    ``pipeline`` builds them (default: lesson 6's ``knob_pipeline``):

    - ``images_per_s``: the pipeline alone, over ``epochs`` passes;
    - ``training_images_per_s``: the same with ``train_step(x, y)`` consuming every batch (one pass),
      which is where ``prefetch`` shows: it overlaps the next batch with the current step;
    - ``repeated_augmentations``: the share of pass-2 images byte-identical to a pass-1 image
      (0 for a correct pipeline, which draws fresh augmentation every epoch).
    """
    n = len(paths) - len(paths) % batch_size
    paths, labels = list(paths)[:n], list(labels)[:n]
    steps, rows = n // batch_size, []
    pipeline = pipeline or input_knobs.knob_pipeline
    for name in variants:
        it = iter(pipeline(paths, labels, size=size, batch_size=batch_size, seed=seed, **KNOB_VARIANTS[name]))
        seen = lambda it=it: [image.tobytes() for _ in range(steps) for image in next(it)[0].numpy()]
        pass_one = set(seen())  # also the warm-up: fills caches and buffers
        repeated = sum(image in pass_one for image in seen())
        start = time.perf_counter()
        for _ in range(epochs * steps):
            next(it)
        row = {"variant": name, "images_per_s": round(epochs * n / (time.perf_counter() - start), 1),
               "repeated_augmentations": repeated / n}
        if train_step is not None:
            start = time.perf_counter()
            for _ in range(steps):
                train_step(*next(it))
            row["training_images_per_s"] = round(n / (time.perf_counter() - start), 1)
        rows.append(row)
        if verbose:
            training = f"   training {row['training_images_per_s']:7.1f} images/s" if train_step else ""
            print(f"{name:<38}pipeline {row['images_per_s']:8.1f} images/s{training}"
                  f"   pass 2 repeats pass 1: {repeated / n:.0%}", flush=True)
    return rows


def input_scaling(w: Workload, *, seed: int = 0, calls=(1, 2, "autotune"), service_workers=(1, 2),
                  repeats: int = 3, verbose: bool = True) -> list[dict]:
    """How the file-reading pipeline's images/s grows with its map parallelism (``calls``) and with
    tf.data service workers (each a process; maps AUTOTUNE inside): the pipeline alone, median of
    ``repeats`` passes of ``w.n_images`` after a warm-up. One row per setting."""
    from helpers.service import LocalService

    rows = []

    def measure(kind, setting, batches):
        feeder = Feeder(kind, iter(batches), model=None)
        rate, _, _ = throughput(feeder, w.n_images, batch_size=w.batch_size, repeats=repeats)
        rows.append({"workload": w.name, "how": kind, "setting": setting, "images_per_s": round(rate, 1)})
        if verbose:
            print(f"{w.name:<22}{kind:<30}{setting!s:<10}{rate:>9.1f} images/s", flush=True)

    for c in calls:
        parallel = tf.data.AUTOTUNE if c == "autotune" else int(c)
        measure("parallel calls", c, file_batches(w, seed, parallel_calls=parallel).prefetch(tf.data.AUTOTUNE))
    for n in service_workers:
        with LocalService(n) as service:
            measure("tf.data service workers", n, service_batches(w, seed, service.target, f"scaling-{n}-{seed}"))
    return rows


def _pull(feeder: Feeder, n_images: int, step: list) -> int:
    """Take batches until n_images images have arrived; returns the count."""
    count = 0
    while count < n_images:
        xb, yb = next(feeder.batches)
        if feeder.device_work is not None:
            xb, yb = feeder.device_work(xb, yb, tf.constant(step[0], tf.int64))
            step[0] += 1
        count += len(xb)
    return count


def throughput(feeder: Feeder, n_images: int, *, batch_size: int, repeats: int = 3, warmup_batches: int = 3):
    """Median images/s over ``repeats`` passes of ``n_images`` (after a warm-up), the images per pass, and the
    median CPU seconds per image that this process spent meanwhile, all its threads together."""
    step = [0]
    _pull(feeder, warmup_batches * batch_size, step)
    rates, counts, cpu = [], [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        counts.append(_pull(feeder, n_images, step))
        rates.append(counts[-1] / (time.perf_counter() - start))
        cpu.append((time.process_time() - start_cpu) / counts[-1])
    return statistics.median(rates), counts, statistics.median(cpu)


def input_wait(feeder: Feeder, steps: int, *, warmup_steps: int = 2) -> dict:
    """Train ``steps`` steps with ``train_on_batch`` and split each step's wall time into waiting for
    the batch (``next()``) and the step itself. Returns the wait fraction and the mean step seconds."""
    for _ in range(warmup_steps):
        feeder.model.train_on_batch(*next(feeder.batches))
    waited = busy = 0.0
    for _ in range(steps):
        t0 = time.perf_counter()
        batch = next(feeder.batches)
        t1 = time.perf_counter()
        feeder.model.train_on_batch(*batch)  # returns the loss as a number: the step has finished
        waited, busy = waited + (t1 - t0), busy + (time.perf_counter() - t1)
    return {"input_wait_fraction": waited / (waited + busy), "step_seconds": (waited + busy) / steps}


# The methods fed to fit in the benchmark: those that feed it from memory. The file-reading methods solve another
# problem (data larger than memory, lesson 8).
FIT_METHODS = ("imagedatagenerator", "python_generator", "pydataset", "tf_data", "in_model", "albumentations",
               "albumentations_tf_data", "albumentations_tf_data_batch")
INPUT_WAIT_BUDGET = 0.05  # the share of fit's step that input may cost (lesson 6)


def _fit_inputs(w: Workload, seed: int, workers: int, methods, model: keras.Model):
    """(method, workers, what ``fit`` is given, the model it trains): each method as its users hand it to ``fit``.
    ``in_model`` trains ``model`` wrapped in ``AugmentInTrainStep`` on raw batches; the others train ``model``."""
    for method in methods:
        if method == "imagedatagenerator":
            yield method, None, legacy_batches(w, seed), model
        elif method == "python_generator":
            yield method, None, generator_batches(w, seed), model
        elif method in ("pydataset", "albumentations"):
            if method == "albumentations" and w.albumentations is None:
                continue
            ready = w.numpy_augment if method == "pydataset" else albumentations_augment(w)
            for n in sorted({1, workers}):
                yield method, n, ReadyBatches(w.images, w.targets, w.batch_size, seed=seed, ready=ready, workers=n,
                                              use_multiprocessing=False, max_queue_size=10), model
        elif method == "tf_data":
            yield method, None, tf_data_batches(w, seed), model
        elif method == "in_model":
            wrapped = models.AugmentInTrainStep(model, w.augment, w.preprocess, seed=seed)
            wrapped.compile(optimizer="adam", loss=model.loss)
            yield method, None, tf_data_batches(w, seed, augment_in_pipeline=False), wrapped
        elif method in ("albumentations_tf_data", "albumentations_tf_data_batch"):
            if w.albumentations is not None:
                yield method, None, albumentations_tf_data_batches(w, seed, per_batch=method.endswith("_batch")), model
        else:
            raise ValueError(f"fit_wait measures {FIT_METHODS}, not {method!r}")


def fit_wait(w: Workload, *, seed: int = 0, workers: int | None = None, methods=FIT_METHODS,
             warmup_steps: int | None = None, rounds: int | None = None, verbose: bool = True) -> list[dict]:
    """What ``model.fit`` waits for: one row per method with the wall seconds per batch of a ``fit`` epoch fed by
    that method (``input_knobs.fit_seconds_per_step``, lesson 6), against the same model fed batches already held
    in memory. Each of ``rounds`` rounds times the in-memory reference, then each method followed by the reference
    again (in the opposite order on odd rounds), so every method run sits between two reference runs and is
    compared with their mean: the machine's drift moves both. Per round, ``1 - reference / step`` is the share of
    ``fit``'s step that its prefetching did not hide; ``fit_input_wait_fraction`` is its median over rounds (0 when
    the method's step is no longer), ``fit_step_ratio`` the median of ``step / reference`` (per round in
    ``fit_step_ratio_runs``). Every method trains the same compiled model (``in_model``: wrapped)."""
    workers = workers or os.cpu_count() or 2
    warmup = warmup_steps if warmup_steps is not None else config.pick(quick=1, full=2)
    rounds = rounds or config.pick(quick=1, full=2)
    steps = min(w.wait_steps, w.n_images // w.batch_size - warmup)  # a PyDataset epoch has n_images / batch batches
    if steps < 1:
        raise ValueError(f"{w.name}: {w.n_images} images make too few batches of {w.batch_size} for {warmup} "
                         "warm-up steps and one timed step")
    model = w.build_model()
    held = input_knobs.held_in_memory(tf_data_batches(w, seed), warmup + steps)
    reference_cpu, timed = [], {}  # timed: (method, workers) -> [(step, mean of the two reference steps)]

    def clock(method, n, data, trained, r):
        start_cpu = time.process_time()
        step = input_knobs.fit_seconds_per_step(trained, data, steps, warmup_steps=warmup)
        if method == "in_memory":  # over the whole fit call, warm-up included: a little above the step's own
            reference_cpu.append((time.process_time() - start_cpu) / (warmup + steps))
        if verbose:
            label = method + (f" ({n} worker{'s' * (n > 1)})" if n else "")
            print(f"{w.name:<22}{label:<30} round {r + 1}: {1000 * step:6.0f} ms per step", flush=True)
        return step

    for r in range(rounds):
        inputs = list(_fit_inputs(w, seed, workers, methods, model))
        before = clock("in_memory", None, held, model, r)
        for method, n, data, trained in inputs[::(-1 if r % 2 else 1)]:
            step = clock(method, n, data, trained, r)
            after = clock("in_memory", None, held, model, r)
            timed.setdefault((method, n), []).append((step, (before + after) / 2))
            before = after
    rows = []
    for (method, n), runs in timed.items():
        step, ref = (statistics.median(v) for v in zip(*runs))
        rows.append({"workload": w.name, "method": method, "workers": n, "fit_step_seconds": round(step, 4),
                     "in_memory_step_seconds": round(ref, 4),
                     "in_memory_step_cpu_seconds": round(statistics.median(reference_cpu), 4),
                     "fit_input_wait_fraction": round(max(0.0, 1 - statistics.median(b / a for a, b in runs)), 4),
                     "fit_step_ratio": round(statistics.median(a / b for a, b in runs), 4),
                     "fit_step_ratio_runs": [round(a / b, 4) for a, b in runs],
                     "fit_images_per_s": round(w.batch_size / step, 1),
                     "runs_seconds": [round(a, 4) for a, _ in runs], "in_memory_runs_seconds": [round(b, 4) for _, b in runs],
                     "steps": steps, "warmup_steps": warmup, "batch_size": w.batch_size})
    return rows


def run_workload(w: Workload, *, seed: int = 0, repeats: int = 3, workers: int | None = None,
                 methods=METHODS, service_workers=None, services: ServicePool | None = None,
                 verbose: bool = True) -> list[dict]:
    """Throughput and input wait of every method on one workload; one row per method (and worker count)."""
    rows = []
    for f in feeders(w, seed, workers, methods, service_workers, services):
        try:
            rate, counts, cpu = throughput(f, w.n_images, batch_size=w.batch_size, repeats=repeats)
            wait = input_wait(f, w.wait_steps)
        finally:
            f.close()
        row = {"workload": w.name, "method": f.method, "images_per_s": round(rate, 1),
               "input_wait_fraction": round(wait["input_wait_fraction"], 4),
               "step_seconds": round(wait["step_seconds"], 4), "workers": f.workers,
               "images_per_pass": counts, "batch_size": w.batch_size, "unique_images": w.unique_images,
               # the tf.data service's workers run in other processes: their CPU time is not this process's
               "cpu_ms_per_image": None if f.method == "tf_data_service" else round(1000 * cpu, 4)}
        rows.append(row)
        if verbose:
            label = f.method + (f" ({f.workers} worker{'s' * (f.workers > 1)})" if f.workers else "")
            print(f"{w.name:<22}{label:<30}{rate:>9.1f} images/s   input wait {wait['input_wait_fraction']:6.1%}"
                  f"   step {wait['step_seconds'] * 1000:6.0f} ms", flush=True)
    base = next((r["images_per_s"] for r in rows if r["method"] == "imagedatagenerator"), None)
    for r in rows:
        r["vs_imagedatagenerator"] = round(r["images_per_s"] / base, 2) if base else None
    return rows


FIT_FIELDS = ("fit_step_seconds", "in_memory_step_seconds", "in_memory_step_cpu_seconds", "fit_input_wait_fraction",
              "fit_step_ratio", "fit_step_ratio_runs", "fit_images_per_s")
TIE = 0.05  # fit step ratios this close always count as equal; wider when a method's own rounds spread wider
RECOMMENDATION_RULE = (
    "Among the methods fed to fit from memory (for image/mask pairs, only those that give image and mask one draw "
    "in one call or one op, which rules out ImageDataGenerator's two generators): the fastest under fit, judged by "
    "its fit step over the in-memory steps measured around it (fit_step_ratio, so that the machine's drift over the "
    "run cancels), and among the methods it cannot tell apart from the fastest, the one with the most images/s alone "
    "(the most headroom for a faster step). Two ratios are told apart when they differ by more than 5% and by more "
    "than each method's own spread between rounds (max - min over median). "
    "It meets the input-wait budget when under 5% of its fit step is lost to input (fit_input_wait_fraction).")


def round_spread(row: dict) -> float:
    """(max - min) / median of a row's per-round fit step ratios (``fit_step_ratio_runs``): how far one method's
    own rounds disagreed; 0.0 without them."""
    runs = row.get("fit_step_ratio_runs") or ()
    return (max(runs) - min(runs)) / statistics.median(runs) if runs else 0.0


def recommend(rows: list[dict], *, budget: float = INPUT_WAIT_BUDGET, tie: float = TIE) -> list[dict]:
    """Mark, per workload, the row chosen by ``RECOMMENDATION_RULE`` with ``recommended: True`` (the others
    False) and ``within_wait_budget``; rows without fit measurements are never chosen. Returns the rows."""
    for name in dict.fromkeys(r["workload"] for r in rows):
        mine = [r for r in rows if r["workload"] == name]
        paired = any(r.get("paired") for r in mine)
        eligible = [r for r in mine if r.get("fit_step_ratio") and not (paired and r["method"] == "imagedatagenerator")]
        first = min(eligible, key=lambda r: r["fit_step_ratio"], default=None)
        tied = [r for r in eligible
                if r["fit_step_ratio"] <= first["fit_step_ratio"] * (1 + max(tie, round_spread(first), round_spread(r)))]
        best = max(tied, key=lambda r: r["images_per_s"], default=None)
        for r in mine:
            r["recommended"] = r is best
            if r is best:
                r["within_wait_budget"] = r["fit_input_wait_fraction"] < budget
    return rows


def run(workloads=tuple(WORKLOADS), *, seed: int = 0, repeats: int | None = None, workers: int | None = None,
        methods=METHODS, service_workers=None, fit: bool = True, out_dir=None, verbose: bool = True) -> list[dict]:
    """The whole benchmark: rows for every workload (a name in WORKLOADS, or a Workload) and method, with
    (``fit``) what ``model.fit`` loses to each of the ``FIT_METHODS`` among ``methods`` (``fit_wait``) and the
    recommended method (``recommend``); saved as ``bench.json`` and ``bench.png`` in ``out_dir`` (default
    ``<output dir>/bench``)."""
    from helpers import plots

    config.set_seed(seed)
    repeats = repeats or config.pick(quick=1, full=3)
    rows, details, services = [], {}, ServicePool()
    try:
        for workload in workloads:
            w = WORKLOADS[workload]() if isinstance(workload, str) else workload
            details[w.name] = {**w.details, "batch_size": w.batch_size, "images_per_pass": w.n_images,
                               "unique_images": w.unique_images, "image_shape": list(w.images.shape[1:])}
            mine = run_workload(w, seed=seed, repeats=repeats, workers=workers, methods=methods,
                                service_workers=service_workers, services=services, verbose=verbose)
            fit_methods = [m for m in methods if m in FIT_METHODS]
            if fit and fit_methods:
                measured_fit = {(r["method"], r["workers"]): r for r in fit_wait(
                    w, seed=seed, workers=workers, methods=fit_methods, verbose=verbose)}
                for r in mine:
                    fitted = measured_fit.get((r["method"], r["workers"]))
                    if fitted:
                        r.update({k: fitted[k] for k in FIT_FIELDS}, fit_runs_seconds=fitted["runs_seconds"],
                                 fit_in_memory_runs_seconds=fitted["in_memory_runs_seconds"])
            for r in mine:
                r["paired"] = w.paired
            rows += mine
    finally:
        services.close()
    recommend(rows)
    out_dir = Path(out_dir) if out_dir else config.output_dir("bench")
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = {**config.describe(), "repeats": repeats, "seed": seed, "workloads": details}
    (out_dir / "bench.json").write_text(json.dumps(rows, indent=1))
    (out_dir / "bench_machine.json").write_text(json.dumps(meta, indent=1))
    plots.bench_chart(rows, save_to=out_dir / "bench.png")
    if verbose:
        for r in rows:
            if r["recommended"]:
                budget = "within" if r["within_wait_budget"] else "OVER"
                print(f"recommended for {r['workload']}: {r['method']}" + (f" ({r['workers']})" if r["workers"] else "")
                      + f", {r['fit_images_per_s']:.0f} images/s under fit, {r['fit_input_wait_fraction']:.1%} of "
                      f"its step lost to input ({budget} the {INPUT_WAIT_BUDGET:.0%} budget)")
        print(f"saved {out_dir / 'bench.json'} and bench.png")
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the course's input pipelines (images/s, input wait).")
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--repeats", type=int, default=None, help="timed passes per method (median reported)")
    parser.add_argument("--workers", type=int, default=None, help="PyDataset threads besides 1 (default: CPU count)")
    parser.add_argument("--service-workers", type=int, nargs="+", default=None,
                        help="tf.data service worker processes to measure (default: 1 2; quick mode: 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-fit", action="store_true",
                        help="skip what model.fit loses to each method (and so the recommendation)")
    parser.add_argument("--scaling", action="store_true",
                        help="instead: images/s against map parallelism and tf.data service workers "
                             "(input_scaling.json)")
    parser.add_argument("--out", metavar="RUN.json", default=None,
                        help="also save the rows with their provenance to RUN.json, for `python -m helpers.measured "
                             "merge` into notebooks/measured/ (bench.json: --key workload method workers; "
                             "input_scaling.json: --key workload how setting)")
    args = parser.parse_args(argv)
    command = "python -m helpers.bench " + " ".join(argv if argv is not None else sys.argv[1:])
    print(config.banner("benchmark"))
    if args.scaling:
        rows = [row for name in args.workloads if name != "cifar"
                for row in input_scaling(WORKLOADS[name](), seed=args.seed, repeats=args.repeats or 3)]
        out = config.output_dir("bench") / "input_scaling.json"
        out.write_text(json.dumps(rows, indent=1))
        print(f"saved {out}")
        if args.out:
            _save_run(args.out, rows, SCALING_ABOUT, command)
        return
    rows = run(args.workloads, seed=args.seed, repeats=args.repeats, workers=args.workers, methods=args.methods,
               service_workers=args.service_workers, fit=not args.no_fit)
    if args.out:
        _save_run(args.out, rows, RUN_ABOUT, command)


RUN_ABOUT = ("Lesson 6: python -m helpers.bench in full mode, one run. images_per_s: each way to feed model.fit, "
             "the pipeline alone (median of 3 timed passes after warm-up); cpu_ms_per_image: the CPU time this process "
             "spent meanwhile, all threads, per image. input_wait_fraction and step_seconds: the benchmark's own "
             "train_on_batch loop (15, 12 and 6 steps), no prefetch. fit_*: one model.fit epoch fed by each method that "
             "feeds from memory (a callback times each batch's end after 2 warm-up batches), against the same model fed "
             "batches held in memory; 2 rounds, each method run between two in-memory runs and compared with their mean "
             "(reversed order in round 2); fit_input_wait_fraction = 1 - median over rounds of in-memory step / "
             "method's step. recommended marks, per workload, the rule's choice: " + RECOMMENDATION_RULE + " Data: the "
             "first 10,240 CIFAR-10 training images, 2,560 per timed pass (batch 128); the 200 flower photos of the "
             "measuring machine at 224x224, tiled to 512 (batch 32); the 25 membrane pairs tiled to 64, random 256x256 "
             "crops (batch 4, U-Net 16 filters). Besides the course's five methods: albumentations (the same recipe, "
             "one image at a time, behind a PyDataset with 1 and 2 threads, or called through tf.numpy_function from a "
             "parallel tf.data map, per image or per batch), tf_data_files (the same augmentation, each image read and "
             "decoded from its file every time) and tf_data_service (that file pipeline run by 1 or 2 tf.data service "
             "worker processes in a loopback-only network namespace, reached through helpers.service's relay on "
             "127.0.0.1, distributed_epoch); the last two exist for the flowers and membrane workloads only. Machines "
             "of this kind run two to three times faster on some days than on others: compare methods within one run, "
             "not across runs.")
SCALING_ABOUT = ("Lesson 8: python -m helpers.bench --scaling --workloads flowers in full mode: images/s of the "
                 "file-reading flowers pipeline alone (bench.file_batches: read + decode + resize to 224x224 + the "
                 "lesson-3 augmentation, batch 32, 512 images per pass, median of 3 passes after warm-up), against "
                 "its map parallelism (num_parallel_calls 1, 2, AUTOTUNE) and against tf.data service worker "
                 "processes (1 and 2, distributed_epoch, maps AUTOTUNE inside) in a loopback-only network namespace, "
                 "reached through helpers.service's relay on 127.0.0.1. The 200 flower photos of the measuring "
                 "machine, seed 0.")


def _save_run(path: str, rows: list[dict], about: str, command: str) -> None:
    from helpers import measured

    measured.write(path, rows, about=about, command=command)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
