"""Record the batches the course's library pipelines gave before the lessons became their only source.

Until commit 2c7c509 the library held hand-kept twins of the lessons' pipelines (``helpers.pipelines``,
``bench.knob_pipeline``, ``models.unet``, ``policies.predict_tta``). The exported lesson code replaced them;
``tests/test_golden.py`` checks that it gives exactly these batches. This script reads that commit's
``helpers/`` out of git (so it still runs after the twins are gone) and writes ``library_batches.npz``:

    .venv/bin/python tests/golden/record_library_batches.py [--commit 2c7c509]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
COMMIT = "2c7c5093dad72c54a4483686531a31799f84e1e5"
OUT = HERE / "library_batches.npz"

# The inputs: small seeded arrays, and image files written from them (PNG is lossless).
N, BS = 23, 5  # 23 is not a multiple of 5: the last batch of every pass is partial


def images(n, size, channels=3, seed=0):
    import numpy as np

    return np.random.default_rng(seed).integers(0, 256, (n, size, size, channels), dtype=np.uint8)


def write_pngs(folder: Path, arrays) -> list[str]:
    from PIL import Image

    paths = []
    for i, image in enumerate(arrays):
        paths.append(str(folder / f"{i}.png"))
        Image.fromarray(image).save(paths[-1])
    return paths


def stacked(stream, batches: int) -> dict:
    """The first ``batches`` (x, y) batches of a tf.data stream or a Python iterator, concatenated."""
    import numpy as np

    xs, ys = [], []
    it = iter(stream)
    for _ in range(batches):
        x, y = next(it)
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
    return {"x": np.concatenate(xs), "y": np.concatenate(ys)}


def tta_model():
    """A tiny classifier whose weights come from NumPy's seeded generator, not from Keras's initialisers."""
    import keras
    import numpy as np

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(4, "softmax")])
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(0, 0.01, w.shape).astype("float32") for w in model.get_weights()])
    return model


def record(folder: Path) -> dict:
    """Every recorded stream, by name (imports the library found first on sys.path)."""
    import keras
    import numpy as np

    from helpers import bench, models, pipelines, policies, recipes

    out = {}
    x, onehot = images(12, 16), keras.utils.to_categorical(np.arange(12) % 10, 10).astype("float32")
    for arm in ("plain", "crop_flip", "post_fused"):
        ds, steps = pipelines.training_batches(x, onehot, batch_size=4, seed=3, augment=recipes.cifar_arm(arm))
        out[f"cifar/{arm}"] = stacked(ds, 2 * steps)  # two epochs: the reshuffle is recorded too
    for arm in ("crop_flip+trivial", "crop_flip+erasing+mixup", "crop_flip+cutmix"):
        augment, with_labels = recipes.policy_arm(arm)
        ds, steps = pipelines.training_batches(x, onehot, batch_size=4, seed=3, augment=augment,
                                               augment_targets=with_labels)
        out[f"policies/{arm}"] = stacked(ds, 2 * steps)
    out["cifar/evaluation"] = stacked(pipelines.evaluation_batches(x, onehot, batch_size=4), 3)

    small, ids = images(N, 8), np.arange(N)
    steps = pipelines.steps_per_epoch(N, BS)
    out["flowers/generator"] = stacked(
        pipelines.batch_generator(small, ids, BS, seed=4, augment=recipes.FLOWERS.fused), 3 * steps)
    ds = pipelines.AugmentedPyDataset(small, ids, BS, seed=4, augment=recipes.FLOWERS.fused)
    batches = []
    for _ in range(2):
        batches += [ds[i] for i in range(len(ds))]
        ds.on_epoch_end()
    out["flowers/pydataset"] = stacked(batches, len(batches))
    (folder / "files").mkdir()
    paths = write_pngs(folder / "files", images(12, 10))
    out["flowers/file_stream"] = stacked(pipelines.image_file_dataset(
        paths, np.arange(12), size=(8, 8), batch_size=5, seed=2, repeat=True, augment=recipes.FLOWERS.fused), 6)

    pair_x = images(6, 48, channels=1)
    pair_y = (pair_x > 127).astype(np.uint8)
    ds, steps = pipelines.paired_training_batches(pair_x, pair_y, crop=32, batch_size=4, seed=5,
                                                  augment=recipes.MEMBRANE.paired)
    out["membrane/paired_stream"] = stacked(ds, 2 * steps)

    (folder / "knobs").mkdir()
    knob_paths = write_pngs(folder / "knobs", images(8, 12))
    for name, knobs in bench.KNOB_VARIANTS.items():
        ds = bench.knob_pipeline(knob_paths, np.arange(8), size=10, batch_size=4, seed=1, **knobs)
        out[f"knobs/{name}"] = stacked(ds, 4)

    model = tta_model()
    for views in ("none", "flip", "flip_shift"):
        probs = policies.predict_tta(model, images(12, 32), views=views, preprocess=pipelines.scale_to_symmetric)
        out[f"tta/{views}"] = {"x": probs, "y": np.zeros(0)}

    keras.utils.set_random_seed(0)
    unet = models.unet((None, None, 1), base_filters=4, depth=3)
    rng = np.random.default_rng(11)
    unet.set_weights([rng.normal(0, 0.2, w.shape).astype("float32") for w in unet.get_weights()])
    probe = np.random.default_rng(0).random((1, 48, 40, 1)).astype(np.float32)
    out["unet/b4d3"] = {"x": np.asarray(unet(probe)), "y": np.array([unet.count_params()])}
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commit", default=COMMIT)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.commit, "helpers"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        sys.path.insert(0, str(tree))  # that commit's helpers, not the working tree's
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import numpy as np

        streams = record(Path(tmp))
        import helpers

        assert Path(helpers.__file__).is_relative_to(tree), helpers.__file__
    arrays = {f"{name}/{part}": value for name, parts in streams.items() for part, value in parts.items()}
    np.savez_compressed(args.out, commit=np.array(args.commit), **arrays)
    print(f"{len(streams)} streams from {args.commit[:7]} -> {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
