"""Class-per-folder photo collections (flowers, hotdog): check every file up front, then load.

Real folders hold junk: truncated JPEGs, text files, grayscale or CMYK or RGBA images, empty
class folders, formats TensorFlow cannot decode (TIFF, ICO, PPM), broken links, huge images.
``scan`` opens every file once, with PIL (which the in-memory loader uses) AND with
``tf.io.decode_image`` (which the tf.data pipelines use): a file is usable only if both read it.
It reports each problem by path, keeps files it can convert to RGB, and skips the rest. Training
therefore never meets a bad file half-way, and labels never shift silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAX_PIXELS = 40_000_000  # 40 MP, four times a 10-MP photo; a 169-MP "decompression bomb" PNG costs 800 MB


class EmptyFolderError(RuntimeError):
    """No readable image at all (or no class folder)."""


@dataclass
class ScanReport:
    """What ``scan`` found. ``paths[i]`` has label ``labels[i]``, an index into ``class_names``."""

    root: Path
    class_names: list[str]
    paths: list[Path] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    converted: list[tuple[Path, str]] = field(default_factory=list)  # (path, original mode)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (path, reason)
    empty_classes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: self.labels.count(i) for i, name in enumerate(self.class_names)}

    def summary(self) -> str:
        lines = [f"{self.root}: {len(self.paths)} usable images in {len(self.class_names)} classes "
                 + ", ".join(f"{k} {v}" for k, v in self.counts().items())]
        for path, mode in self.converted:
            lines.append(f"  converted {mode} -> RGB: {path}")
        for path, reason in self.skipped:
            lines.append(f"  SKIPPED {path}: {reason}")
        for name in self.empty_classes:
            where = (f"label {self.class_names.index(name)} has no images" if name in self.class_names
                     else "left out of class_names, so no label refers to it")
            lines.append(f"  EMPTY class folder '{name}': {where}")
        return "\n".join(lines)


def open_8bit(path: Path):
    """Open an image with PIL, 16-bit grayscale ("I;16", "I") brought to 8 bits the way TensorFlow's
    decoder does it (the high byte, v >> 8), so both loaders give the same pixels. PIL's own
    ``convert("L")`` clips 16-bit values at 255 instead, which turns most of an EM image white."""
    from PIL import Image

    image = Image.open(path)
    if image.mode.startswith("I;16") or image.mode == "I":
        image.load()
        values = np.asarray(image).astype(np.int64)
        image = Image.fromarray((np.clip(values, 0, 65535) >> 8).astype(np.uint8), mode="L")
    return image


def _check_file(path: Path, max_pixels: int) -> str:
    """The image's mode if PIL and TensorFlow both fully decode it; raises otherwise."""
    import tensorflow as tf
    from PIL import Image

    with warnings.catch_warnings():  # PIL warns from 89 MP on; the limit below decides
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        image = Image.open(path)
    with image:
        mode, fmt = image.mode, image.format
        if image.width * image.height > max_pixels:
            raise ValueError(f"{image.width}x{image.height} is {image.width * image.height / 1e6:.0f} MP, over the "
                             f"{max_pixels / 1e6:.0f} MP limit (a decompression bomb, or a scan to shrink first)")
        image.load()  # decodes every pixel: a truncated file fails here, not during training
    try:
        tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as exc:
        raise ValueError(f"TensorFlow's decoder cannot read this {fmt} file, which the tf.data pipelines need "
                         f"({exc.message.splitlines()[0] if exc.message else type(exc).__name__}); "
                         "save it as PNG or JPEG") from None
    return mode


def _entries(folder: Path, report: ScanReport) -> list[Path]:
    """The regular files of a class folder, sorted; dotfiles (``._x.jpg``, ``.DS_Store``) ignored;
    sub-folders, broken links and link loops reported as skipped."""
    files = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            report.skipped.append((path, "a folder inside a class folder: its files are not used "
                                         "(the layout is root/class/image)"))
        elif path.is_symlink():
            report.skipped.append((path, "a symbolic link to nothing (or a link loop)"))
        else:
            report.skipped.append((path, "not a regular file"))
    return files


def scan(root: Path, *, class_names: list[str] | None = None, max_pixels: int = MAX_PIXELS) -> ScanReport:
    """Open every file under ``root/<class>/`` once and sort it into usable, converted or skipped.

    ``class_names`` (default: the sub-folders, sorted) fixes the label order: label i is
    ``class_names[i]``. A class folder with no usable image is reported in ``empty_classes``; when
    you gave ``class_names`` it keeps its place (and its label) in them, so the other labels never
    shift; when the names were read from the folders it is left out. Images over ``max_pixels`` are
    skipped before they are decoded. Raises EmptyFolderError if nothing usable remains.
    """
    root = Path(root)
    if not root.is_dir():
        raise EmptyFolderError(f"{root} is not a folder")
    names = class_names or sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise EmptyFolderError(f"{root} has no class folders")
    for name in names:
        if not (root / name).is_dir():
            raise EmptyFolderError(f"class folder {root / name} does not exist")
    given = class_names is not None
    report = ScanReport(root=root, class_names=list(names) if given else [])
    for name in names:
        usable = []
        for path in _entries(root / name, report):
            try:
                mode = _check_file(path, max_pixels)
            except Exception as exc:  # PIL raises many types for junk; all mean "unreadable"
                report.skipped.append((path, f"{type(exc).__name__}: {exc}"))
                continue
            if mode != "RGB":
                report.converted.append((path, mode))
            usable.append(path)
        if not usable:
            report.empty_classes.append(name)
            continue
        if not given:
            report.class_names.append(name)
        report.paths += usable
        report.labels += [report.class_names.index(name)] * len(usable)
    if not report.paths:
        raise EmptyFolderError(f"no readable image under {root}\n{report.summary()}")
    return report


def load_images(paths: list[Path], size: tuple[int, int]) -> np.ndarray:
    """Read files as RGB and resize to ``size`` = (height, width): uint8 (N, H, W, 3) in [0, 255].

    What ``keras.utils.load_img(color_mode="rgb", target_size=size)`` does (PIL: grayscale, CMYK,
    RGBA and palette images become RGB; bilinear resize), except that 16-bit images are scaled to
    8 bits as TensorFlow's decoder does (``open_8bit``) instead of clipped. Call it on
    ``scan(...).paths``, which are known to decode.
    """
    from PIL import Image

    height, width = size
    images = []
    for path in paths:
        with open_8bit(path) as image:
            rgb = image.convert("RGB")
        if rgb.size != (width, height):
            rgb = rgb.resize((width, height), Image.BILINEAR)
        images.append(np.asarray(rgb, dtype=np.uint8))
    return np.stack(images) if images else np.zeros((0, *size, 3), np.uint8)
