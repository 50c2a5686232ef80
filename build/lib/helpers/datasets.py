"""The course's four datasets: where each comes from and what its folder must hold (``DATASETS``, one
``DatasetSpec`` each), the errors every data problem is reported with, ``fetch(name)``, which returns a dataset's
unpacked folder in the data directory (a folder already there with the right layout, partial copies too; else an
archive copied in by hand; else a checksummed, atomic download; nothing in an existing folder is ever changed),
the layout checks, and ``inventory``, what the data directory holds. Reading the files is ``helpers.readers``'s
job, and the lessons' splits are ``helpers.splits``'s.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from helpers import config
from helpers.download import ChecksumError, DownloadError, download, safe_extract, temporary_sibling, verify

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_BATCH_SIZE = 10_000
CIFAR10_TRAIN_BATCHES = 5  # data_batch_1 .. data_batch_5
CIFAR10_TRAIN_SIZE = CIFAR10_TRAIN_BATCHES * CIFAR10_BATCH_SIZE
MEMBRANE_BASE_URL = "https://raw.githubusercontent.com/zhixuhao/unet/master/data/membrane/"


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
