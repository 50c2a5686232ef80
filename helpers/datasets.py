"""The course's four datasets: where they come from, how to check them, how to load them.

``fetch(name)`` returns the unpacked folder under the data directory. It uses a
folder that is already there (partial copies are fine), else a downloaded
archive copied into the data directory, else downloads it. Every download is
checksummed and atomic, and nothing in an existing folder is ever changed.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from helpers import config
from helpers.download import ChecksumError, DownloadError, download, safe_extract, temporary_sibling, verify

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_BATCH_SIZE = 10_000
CIFAR10_TRAIN_BATCHES = 5  # data_batch_1 .. data_batch_5
CIFAR10_TRAIN_SIZE = CIFAR10_TRAIN_BATCHES * CIFAR10_BATCH_SIZE
MEMBRANE_BASE_URL = "https://raw.githubusercontent.com/zhixuhao/unet/master/data/membrane/"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff"}


class DatasetError(RuntimeError):
    """Base class for every data problem the course reports."""


class DatasetUnavailableError(DatasetError):
    """The dataset is not on disk and cannot be downloaded."""


class LayoutError(DatasetError):
    """A dataset folder exists but does not have the expected layout."""


class PairingError(DatasetError):
    """Images and masks do not match one to one by file name."""


class MaskError(DatasetError):
    """A mask holds values other than the two classes."""


class DataDirError(DatasetError):
    """The data directory cannot be written (read-only, or not a folder)."""


class CourseDataWarning(UserWarning):
    """Fewer data than asked for; the course goes on with what there is."""


@dataclass(frozen=True)
class DatasetSpec:
    """Where a dataset comes from and what its unpacked folder must hold."""

    name: str
    folder: str  # the unpacked folder under the data dir (the archive's top folder)
    url: str  # the archive's URL, or the base URL of a set fetched file by file
    required: tuple[str, ...]  # paths inside ``folder``; a trailing "/" marks a folder
    item_globs: tuple[str, ...]  # what counts as one item in the inventory (dotfiles never count)
    full_count: int  # items in the complete canonical set
    archive: str | None = None  # archive file name; None for a file-by-file set
    checksum: str | None = None
    algorithm: str = "sha256"
    files: tuple[tuple[str, str], ...] = ()  # (path, sha256) of a file-by-file set
    source: str = ""
    licence: str = ""

    def archive_path(self, data_dir: Path) -> Path | None:
        return data_dir / self.archive if self.archive else None


def _membrane_files() -> tuple[tuple[str, str], ...]:
    text = resources.files("helpers").joinpath("checksums/membrane.sha256").read_text()
    return tuple((path, digest) for digest, path in (line.split() for line in text.splitlines() if line.strip()))


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            name="cifar10",
            folder="cifar-10-batches-py",
            url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            archive="cifar-10-python.tar.gz",
            checksum="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            required=("batches.meta", "data_batch_1", "test_batch"),
            item_globs=("*_batch*",),
            full_count=6,
            source="Krizhevsky, Learning Multiple Layers of Features from Tiny Images (2009)",
            licence="free for research and teaching, cite the tech report",
        ),
        DatasetSpec(
            name="flowers",
            folder="flower_photos",
            url="https://storage.googleapis.com/download.tensorflow.org/example_images/flower_photos.tgz",
            archive="flower_photos.tgz",
            # Pinned by TensorFlow Datasets (url_checksums/tf_flowers.txt), 228,813,984 bytes.
            checksum="4c54ace7911aaffe13a365c34f650e71dd5bf1be0a58b464e5a7183e3e595d9c",
            required=("daisy/", "dandelion/", "roses/", "sunflowers/", "tulips/"),
            item_globs=("*/*.jpg", "*/*.jpeg"),
            full_count=3670,
            source="TensorFlow example images (Flickr photos)",
            licence="CC-BY 2.0, photographers listed in LICENSE.txt",
        ),
        DatasetSpec(
            name="hotdog",
            folder="hotdog",
            url="http://d2l-data.s3-accelerate.amazonaws.com/hotdog.zip",
            archive="hotdog.zip",
            checksum="fba480ffa8aa7e0febbb511d181409f899b9baa5",
            algorithm="sha1",
            required=("train/hotdog/", "train/not-hotdog/", "test/hotdog/", "test/not-hotdog/"),
            item_globs=("*/*/*.jpg", "*/*/*.png"),
            full_count=2800,
            source="Dive into Deep Learning, section 'Fine-Tuning'",
            licence="as distributed by d2l.ai for teaching",
        ),
        DatasetSpec(
            name="membrane",
            folder="membrane",
            url=MEMBRANE_BASE_URL,
            files=_membrane_files(),
            required=("train/image/", "train/label/", "test/"),
            item_globs=("**/*.png",),
            full_count=90,
            source="ISBI 2012 EM segmentation challenge, as in zhixuhao/unet data/membrane",
            licence="zhixuhao/unet is MIT; the images come from the ISBI 2012 challenge",
        ),
    )
}


def _spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; choose one of {sorted(DATASETS)}") from None


def missing_parts(folder: Path, spec: DatasetSpec) -> list[str]:
    """The required paths of ``spec`` that ``folder`` lacks (empty: the layout is right)."""
    missing = []
    for rel in spec.required:
        path = folder / rel.rstrip("/")
        ok = path.is_dir() if rel.endswith("/") else path.is_file()
        if not ok:
            missing.append(rel)
    return missing


def check_layout(folder: Path, spec: DatasetSpec) -> Path:
    """Return ``folder`` if it has ``spec``'s layout, else raise LayoutError."""
    missing = missing_parts(folder, spec)
    if missing:
        raise LayoutError(
            f"{folder} exists but is not a {spec.name} folder: it lacks {', '.join(missing)}.\n"
            f"Expected inside it: {', '.join(spec.required)}.\n"
            "The course does not touch it. Move it away or fix it, then run again."
        )
    return folder


def _unavailable(spec: DatasetSpec, data_dir: Path, cause: Exception) -> DatasetUnavailableError:
    how = (
        f"copy {spec.archive} (downloaded elsewhere from {spec.url}) into {data_dir}"
        if spec.archive
        else f"copy the {spec.folder}/ folder ({', '.join(spec.required)}) into {data_dir}"
    )
    return DatasetUnavailableError(
        f"The {spec.name} dataset is not in {data_dir} and could not be downloaded from {spec.url}\n"
        f"  ({cause}).\n"
        f"To work offline, either set COURSE_DATA_DIR to a folder that holds {spec.folder}/, or {how}."
    )


def _fetch_archive(spec: DatasetSpec, data_dir: Path, target: Path, progress: bool) -> None:
    archive = spec.archive_path(data_dir)
    if archive.exists():
        try:
            verify(archive, spec.checksum, spec.algorithm, source=str(archive))
        except ChecksumError as exc:
            raise ChecksumError(f"{exc}\nThe course does not delete your file: replace or remove it.") from None
    else:
        print(f"Downloading {spec.name} from {spec.url}")
        try:
            download(spec.url, archive, expected_hash=spec.checksum, algorithm=spec.algorithm, progress=progress)
        except DownloadError as exc:
            raise _unavailable(spec, data_dir, exc) from exc
    with temporary_sibling(target, directory=True) as tmp:
        safe_extract(archive, tmp)
        missing = missing_parts(tmp / spec.folder, spec)
        if missing:
            top = sorted(p.name for p in tmp.iterdir()) or ["nothing"]
            raise LayoutError(
                f"{archive} is not the {spec.name} archive: it should unpack to {spec.folder}/ holding "
                f"{', '.join(spec.required)}, but it unpacks to {', '.join(top)} (lacking {', '.join(missing)}).\n"
                "Nothing was kept from it; the archive itself is left where it is."
            )
        _install(tmp / spec.folder, target, spec)


def _fetch_files(spec: DatasetSpec, data_dir: Path, target: Path, progress: bool) -> None:
    print(f"Downloading {spec.name}: {len(spec.files)} files from {spec.url}")
    with temporary_sibling(target, directory=True) as tmp:
        for i, (rel, digest) in enumerate(spec.files, 1):
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                download(spec.url + rel, dest, expected_hash=digest, progress=False)
            except DownloadError as exc:
                raise _unavailable(spec, data_dir, exc) from exc
            if progress and (i % 10 == 0 or i == len(spec.files)):
                print(f"  {i}/{len(spec.files)}")
        check_layout(tmp, spec)
        _install(tmp, target, spec)


def _install(folder: Path, target: Path, spec: DatasetSpec) -> None:
    """Rename a complete unpacked ``folder`` to ``target``. If another process got there first
    with a complete copy, that copy is kept and this one is dropped (by its temporary_sibling)."""
    try:
        folder.rename(target)
    except OSError:
        if target.is_dir() and not missing_parts(target, spec):
            return
        raise


def partial_leftovers(data_dir: Path, spec: DatasetSpec) -> list[Path]:
    """Temporary files and folders of ``spec`` in ``data_dir`` (``.<name>.partial-*``): what a fetch
    killed mid-way (SIGKILL, the OOM killer, a kernel restart) leaves behind."""
    names = [spec.folder] + ([spec.archive] if spec.archive else [])
    return sorted(p for name in names for p in data_dir.glob(f".{name}.partial-*"))


@contextmanager
def _fetch_lock(data_dir: Path, spec: DatasetSpec):
    """Hold an exclusive lock on ``<data_dir>/.<folder>.lock`` while fetching: a second process
    (two notebooks of a class on one shared folder) waits, then finds the folder ready. The OS
    releases the lock when its holder dies, so a killed fetch never blocks the next one."""
    path = data_dir / f".{spec.folder}.lock"
    with open(path, "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: msvcrt locks a byte range instead
            import msvcrt

            lock, release = (lambda: msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1),
                             lambda: msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1))
        else:
            def lock():
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    print(f"Another process is fetching {spec.name} into {data_dir}; waiting for it.")
                    fcntl.flock(handle, fcntl.LOCK_EX)

            release = lambda: fcntl.flock(handle, fcntl.LOCK_UN)  # noqa: E731
        lock()
        try:
            yield
        finally:
            release()


def _writable_data_dir(data_dir: Path, spec: DatasetSpec) -> None:
    """Create the data dir if needed; raise DataDirError if it is a file or cannot be written,
    before any byte is downloaded."""
    if data_dir.exists() and not data_dir.is_dir():
        raise DataDirError(f"the data directory {data_dir} is a file, not a folder. "
                           "Point COURSE_DATA_DIR at a folder.")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"cannot create the data directory {data_dir} ({exc.strerror}). "
                           "Point COURSE_DATA_DIR at a folder you can write.") from exc
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise DataDirError(
            f"the data directory {data_dir} is read-only, and {spec.folder}/ is not in it. Either copy "
            f"{spec.folder}/ into it, or point COURSE_DATA_DIR at a folder you can write."
        )


def fetch(name: str, *, data_dir: Path | None = None, progress: bool = True) -> Path:
    """The unpacked folder of dataset ``name`` ("cifar10", "flowers", "hotdog", "membrane").

    Order: an existing folder with the right layout (partial sets allowed) ->
    a local archive in the data dir, checksummed -> a download, checksummed.
    Processes fetching the same dataset at once take turns (a lock file in the data dir); the
    one that starts first fetches, the others use its result. Leftovers of a fetch that was
    killed are removed first. Raises LayoutError, ChecksumError, DatasetUnavailableError,
    DataDirError or UnsafeArchiveError.
    """
    spec = _spec(name)
    data_dir = Path(data_dir) if data_dir is not None else config.data_dir()
    target = data_dir / spec.folder
    if target.exists():
        return check_layout(target, spec)
    _writable_data_dir(data_dir, spec)
    with _fetch_lock(data_dir, spec):
        if target.exists():  # another process fetched it while this one waited
            return check_layout(target, spec)
        # Under the lock no live fetch of this dataset exists, so every leftover is stale.
        for leftover in partial_leftovers(data_dir, spec):
            print(f"Removing {leftover.name}, left over from an interrupted fetch")
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        if spec.archive:
            _fetch_archive(spec, data_dir, target, progress)
        else:
            _fetch_files(spec, data_dir, target, progress)
    return target


def _size_mb(paths) -> float:
    files = [q for p in paths for q in ([p] if p.is_file() else p.rglob("*")) if q.is_file()]
    return round(sum(q.stat().st_size for q in files) / 1e6, 1)


def inventory(data_dir: Path | None = None) -> list[dict]:
    """One row per dataset: status ("present", "partial", "missing", "bad layout"), items found vs
    the canonical count, size on disk in MB, and ``leftovers``: the paths of temporary files a killed
    fetch left (removed by the next ``fetch`` of that dataset) with their size in ``leftover MB``."""
    data_dir = Path(data_dir) if data_dir is not None else config.data_dir()
    rows = []
    for spec in DATASETS.values():
        folder = data_dir / spec.folder
        leftovers = partial_leftovers(data_dir, spec) if data_dir.is_dir() else []
        row = {"dataset": spec.name, "folder": str(folder), "items": 0, "canonical": spec.full_count, "MB": 0.0,
               "leftovers": [str(p) for p in leftovers], "leftover MB": _size_mb(leftovers)}
        if not folder.exists():
            row["status"] = "missing"
        elif missing_parts(folder, spec):
            row["status"] = "bad layout"
        else:
            row["items"] = len(_items(folder, spec))
            row["status"] = "present" if row["items"] >= spec.full_count else "partial"
            row["MB"] = _size_mb([folder])
        rows.append(row)
    return rows


def _items(folder: Path, spec: DatasetSpec) -> set[Path]:
    """The files matching ``spec.item_globs``, the file-name part in any letter case (``.JPG`` too);
    dotfiles and dot-folders (``._0.png``, ``.DS_Store``) left out."""
    found = set()
    for pattern in spec.item_globs:
        parent_pattern, _, leaf = pattern.rpartition("/")
        leaf_re = re.compile(re.escape(leaf).replace(r"\*", ".*"), re.IGNORECASE)
        for parent in folder.glob(parent_pattern) if parent_pattern else [folder]:
            if parent.is_dir() and not any(part.startswith(".") for part in parent.relative_to(folder).parts):
                found.update(p for p in parent.iterdir()
                             if p.is_file() and not p.name.startswith(".") and leaf_re.fullmatch(p.name))
    return found


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
                raise
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
        raise DatasetError(f"{path}: labels must be class ids 0..9, got {labels.dtype} values "
                           f"{labels.min()}..{labels.max()}")
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
    CIFAR10_CLASSES. ``n_train`` keeps the first n training images in the
    canonical order and reads only the batch files needed (10,000 is exactly
    ``data_batch_1``). If fewer exist, a CourseDataWarning says so and all
    that exist are returned. The test set is always the whole ``test_batch``.
    """
    if n_train is not None and n_train < 1:
        raise ValueError(f"n_train must be a positive number of images, got {n_train}")
    folder = fetch("cifar10", data_dir=data_dir)
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


def load_membrane(*, data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The labelled membrane pairs: (images, masks, names).

    images: uint8 (N, H, W, 1) in [0, 255]; masks: uint8 (N, H, W, 1) in {0, 1}
    with 1 = cell interior (white in the PNGs) and 0 = membrane. N is whatever
    the folder holds (30 in the canonical set).
    """
    from helpers.imagefolders import open_8bit

    folder = fetch("membrane", data_dir=data_dir)
    pairs = match_pairs(folder / "train" / "image", folder / "train" / "label")
    images, masks = [], []
    for image_path, mask_path in pairs:
        with open_8bit(image_path) as image, open_8bit(mask_path) as mask:  # 16-bit: high byte, as TF
            image, mask = np.asarray(image.convert("L")), np.asarray(mask.convert("L"))
        if image.shape != mask.shape:
            raise PairingError(f"{image_path.name}: image is {image.shape} but its mask is {mask.shape}")
        if images and image.shape != images[0].shape[:2]:
            raise PairingError(f"{image_path} is {image.shape[1]}x{image.shape[0]} but {pairs[0][0].name} is "
                               f"{images[0].shape[1]}x{images[0].shape[0]}: every pair must have one size")
        images.append(image[..., None])
        masks.append(binarize_mask(mask, source=str(mask_path))[..., None])
    return np.stack(images), np.stack(masks), [p.name for p, _ in pairs]


# ---------------------------------------------------------------- the lessons' splits


def cifar10_splits(n_train: int, n_test: int | None = None, *, data_dir: Path | None = None):
    """Lesson 2's data: the first ``n_train`` CIFAR-10 training images with the last 10% held out for
    validation (what Keras's ``validation_split=0.1`` does), and the first ``n_test`` test images
    (None: all 10,000).

    Returns ``(x_fit, y_fit), (x_val, y_val), (x_test, y_test)``: uint8 (N, 32, 32, 3) images and
    one-hot float32 (N, 10) labels.
    """
    import keras

    (x, y), (x_test, y_test) = load_cifar10(n_train, data_dir=data_dir)
    y, y_test = keras.utils.to_categorical(y, 10), keras.utils.to_categorical(y_test[:n_test], 10)
    n_val = max(1, len(x) // 10)
    return (x[:-n_val], y[:-n_val]), (x[-n_val:], y[-n_val:]), (x_test[:n_test], y_test)


def flower_split(data_dir: Path | None = None, size=(182, 182), seed: int = 42, val_fraction: float = 0.2):
    """Lesson 3's data: scan the flowers folder (``imagefolders.scan``), load every usable image, split
    70/30 into train and test, stratified, with ``train_test_split(test_size=0.3, random_state=seed)``
    as in the post; then hold out ``val_fraction`` of the training part for validation (stratified),
    so the test set is used once, at the end.

    Returns (report, train, val, test), each part (x uint8 (N, H, W, 3) resized to ``size``,
    y int class ids, paths as str).
    """
    from sklearn.model_selection import train_test_split

    from helpers import imagefolders

    report = imagefolders.scan(fetch("flowers", data_dir=data_dir))
    x = imagefolders.load_images(report.paths, size)
    y = np.asarray(report.labels)
    paths = np.asarray([str(p) for p in report.paths])
    parts = train_test_split(x, y, paths, test_size=0.3, random_state=seed, stratify=y)
    train, test = tuple(parts[0::2]), tuple(parts[1::2])
    parts = train_test_split(*train, test_size=val_fraction, random_state=seed, stratify=train[1])
    return report, tuple(parts[0::2]), tuple(parts[1::2]), test


def membrane_split(val_fraction: float = 0.2, seed: int = 0, *, data_dir: Path | None = None):
    """Lesson 5's data: hold out whole images for validation BEFORE any augmentation or cropping.

    Returns (x_train, y_train, names_train), (x_val, y_val, names_val): uint8 (N, 512, 512, 1)
    images, uint8 {0, 1} masks, file names; each part in natural file order.
    """
    from sklearn.model_selection import train_test_split

    images, masks, names = load_membrane(data_dir=data_dir)
    idx_train, idx_val = train_test_split(np.arange(len(images)), test_size=val_fraction, random_state=seed)

    def pick(idx):
        idx = np.sort(idx)
        return images[idx], masks[idx], [names[i] for i in idx]

    return pick(idx_train), pick(idx_val)
