"""Reading the datasets' files into arrays: CIFAR-10's python batches (``read_cifar_batch``, ``load_cifar10``)
and the membrane image/mask pairs, matched by file name, masks checked to be binary (``match_pairs``,
``binarize_mask``, ``load_membrane``). Folders come from ``datasets.fetch``; a damaged or mismatched file is
reported by name with the errors of ``helpers.datasets``, never guessed around.
"""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path

import numpy as np

from helpers import datasets
from helpers.datasets import (
    CIFAR10_TRAIN_BATCHES,
    CourseDataWarning,
    DatasetError,
    MaskError,
    PairingError,
)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff"}


# ---------------------------------------------------------------- CIFAR-10


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes and NumPy arrays only: a batch file cannot run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch file")


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch -> (images uint8 (N, 32, 32, 3) RGB, labels int64 (N,) in 0..9).

    Raises DatasetError naming the file if it is truncated, empty, not a pickle (an HTML error
    page saved under the batch's name), holds values outside 0..255 or labels outside 0..9.
    """
    with open(path, "rb") as handle:
        try:
            batch = _ArrayUnpickler(handle, encoding="bytes").load()
        except pickle.UnpicklingError as exc:
            if "refusing" in str(exc):
                raise pickle.UnpicklingError(f"{path}: {exc}. A batch file holds only arrays; this one asks to run "
                                             "code. Delete it and fetch the dataset again.") from exc
            raise DatasetError(f"{path} is not a CIFAR-10 batch file (it is damaged, truncated or not a "
                               f"pickle: {exc}). Delete it and fetch the dataset again.") from exc
        except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError, MemoryError) as exc:
            raise DatasetError(f"{path} is not a CIFAR-10 batch file (it is damaged, truncated or empty: "
                               f"{type(exc).__name__}). Delete it and fetch the dataset again.") from exc
    try:
        raw, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    except (KeyError, TypeError, IndexError) as exc:
        raise DatasetError(f"{path} is not a CIFAR-10 batch (no b'data' / b'labels')") from exc
    if raw.dtype != np.uint8 and (raw.size and (not np.issubdtype(raw.dtype, np.integer)
                                                or raw.min() < 0 or raw.max() > 255)):
        raise DatasetError(f"{path}: pixel data must be whole numbers in 0..255, got {raw.dtype} "
                           "(casting would wrap them silently)")
    if labels.size and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() > 9):
        shown = ", ".join(repr(v) for v in np.unique(labels)[:5].tolist())  # strings have no useful min and max
        raise DatasetError(f"{path}: labels must be class ids 0..9, got {labels.dtype} values such as {shown}")
    data, labels = raw.astype(np.uint8), labels.astype(np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DatasetError(f"{path}: expected data (N, 3072) and N labels, got {data.shape} and {labels.shape}")
    # Rows hold the R, G and B planes one after the other: N x 3 x 32 x 32 -> NHWC.
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def load_cifar10(
    n_train: int | None = None, *, data_dir: Path | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``.

    x: uint8 (N, 32, 32, 3) in [0, 255]; y: int64 (N,) class ids, names in
    ``datasets.CIFAR10_CLASSES``. ``n_train`` keeps the first n training images in the
    canonical order and reads only the batch files needed (10,000 is exactly
    ``data_batch_1``). If fewer exist, a CourseDataWarning says so and all
    that exist are returned. The test set is always the whole ``test_batch``.
    """
    if n_train is not None and n_train < 1:
        raise ValueError(f"n_train must be a positive number of images, got {n_train}")
    folder = datasets.fetch("cifar10", data_dir=data_dir)
    xs, ys, have = [], [], 0
    for i in range(1, CIFAR10_TRAIN_BATCHES + 1):
        if n_train is not None and have >= n_train:
            break  # read only the batch files needed
        path = folder / f"data_batch_{i}"
        if not path.exists():
            break  # keep the canonical order: stop at the first gap
        x, y = read_cifar_batch(path)
        xs.append(x)
        ys.append(y)
        have += len(x)
    x_train, y_train = np.concatenate(xs), np.concatenate(ys)
    if n_train is not None:
        if len(x_train) < n_train:
            warnings.warn(
                f"asked for {n_train} CIFAR-10 training images but {folder} holds only {len(x_train)} "
                "in consecutive batch files; using those.",
                CourseDataWarning,
                stacklevel=2,
            )
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    x_test, y_test = read_cifar_batch(folder / "test_batch")
    return (x_train, y_train), (x_test, y_test)


# ---------------------------------------------------------------- membrane


def _natural_key(path: Path):
    """'2.png' before '10.png'. Only ASCII digits count as numbers ('1²2.png' is text)."""
    return [int(t) if t.isascii() and t.isdigit() else t for t in re.split(r"([0-9]+)", path.name)]


def _images_in(folder: Path) -> dict[str, Path]:
    """Image files by name; dotfiles (macOS ``._0.png`` companions, ``.DS_Store``) ignored."""
    return {p.name: p for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES}


def match_pairs(image_dir: Path, mask_dir: Path) -> list[tuple[Path, Path]]:
    """Pair images and masks by identical file name, in natural order (2.png before 10.png).

    Raises PairingError listing every image without a mask and every mask
    without an image.
    """
    images, masks = _images_in(image_dir), _images_in(mask_dir)
    no_mask = sorted(set(images) - set(masks))
    no_image = sorted(set(masks) - set(images))
    if no_mask or no_image:
        lines = [f"images and masks do not match one to one ({image_dir} vs {mask_dir}):"]
        if no_mask:
            lines.append(f"  images without a mask: {', '.join(no_mask)}")
        if no_image:
            lines.append(f"  masks without an image: {', '.join(no_image)}")
        raise PairingError("\n".join(lines))
    if not images:
        raise PairingError(f"no images in {image_dir}")
    return [(images[n], masks[n]) for n in sorted(images, key=lambda n: _natural_key(Path(n)))]


def binarize_mask(mask: np.ndarray, *, source: str = "mask") -> np.ndarray:
    """A two-level mask ({0, 255} or {0, 1}) -> uint8 {0, 1}, same shape.

    Raises MaskError if other values occur (e.g. a resized or JPEG-saved mask),
    naming ``source``, rather than guessing a threshold.
    """
    values = np.unique(mask)
    if set(values.tolist()) <= {0, 1}:
        return mask.astype(np.uint8)
    if set(values.tolist()) <= {0, 255}:
        return (mask == 255).astype(np.uint8)
    shown = ", ".join(str(v) for v in values[:8]) + (" ..." if len(values) > 8 else "")
    raise MaskError(f"{source} is not binary: it holds {len(values)} values ({shown}); expected only 0 and 255")


def _read_grey(path: Path) -> np.ndarray:
    """A PNG as a uint8 grey array (16-bit: the high byte, as TensorFlow's decoder), or DatasetError naming it."""
    from helpers.imagefolders import open_8bit

    try:
        with open_8bit(path) as image:
            return np.asarray(image.convert("L"))
    except (OSError, ValueError, SyntaxError) as exc:  # PIL's errors for truncated or damaged files
        raise DatasetError(f"{path} cannot be read ({exc}): it is damaged or truncated. Delete it and fetch the "
                           "dataset again.") from exc


def load_membrane(*, data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The labelled membrane pairs: (images, masks, names).

    images: uint8 (N, H, W, 1) in [0, 255]; masks: uint8 (N, H, W, 1) in {0, 1}
    with 1 = cell interior (white in the PNGs) and 0 = membrane. N is whatever
    the folder holds (30 in the canonical set).
    """
    folder = datasets.fetch("membrane", data_dir=data_dir)
    pairs = match_pairs(folder / "train" / "image", folder / "train" / "label")
    images, masks = [], []
    for image_path, mask_path in pairs:
        image, mask = _read_grey(image_path), _read_grey(mask_path)
        if image.shape != mask.shape:
            raise PairingError(f"{image_path.name}: image is {image.shape} but its mask is {mask.shape}")
        if images and image.shape != images[0].shape[:2]:
            raise PairingError(f"{image_path} is {image.shape[1]}x{image.shape[0]} but {pairs[0][0].name} is "
                               f"{images[0].shape[1]}x{images[0].shape[0]}: every pair must have one size")
        images.append(image[..., None])
        masks.append(binarize_mask(mask, source=str(mask_path))[..., None])
    return np.stack(images), np.stack(masks), [p.name for p, _ in pairs]
