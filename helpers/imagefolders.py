"""Class-per-folder photo collections (flowers, hotdog): check every file up front, then load.

Real folders hold junk: truncated JPEGs, text files, grayscale or CMYK or RGBA images, empty
class folders. ``scan`` opens every file once. It reports each problem by path, keeps
files it can convert to RGB, and skips files it cannot read. Training therefore never meets a
bad file half-way, and labels never shift silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


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
            lines.append(f"  EMPTY class folder '{name}': left out of class_names, so no label refers to it")
        return "\n".join(lines)


def _check_file(path: Path) -> str:
    """The image's mode if PIL can fully decode it; raises OSError/ValueError otherwise."""
    from PIL import Image

    with Image.open(path) as image:
        mode = image.mode
        image.load()  # decodes every pixel: a truncated file fails here, not during training
    return mode


def scan(root: Path, *, class_names: list[str] | None = None) -> ScanReport:
    """Open every file under ``root/<class>/`` once and sort it into usable, converted or skipped.

    ``class_names`` (default: the sub-folders, sorted) fixes the label order. An empty class
    folder is reported and left out of ``class_names``. Raises EmptyFolderError if nothing
    usable remains.
    """
    root = Path(root)
    if not root.is_dir():
        raise EmptyFolderError(f"{root} is not a folder")
    names = class_names or sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise EmptyFolderError(f"{root} has no class folders")
    files_by_class = {}
    for name in names:
        folder = root / name
        if not folder.is_dir():
            raise EmptyFolderError(f"class folder {folder} does not exist")
        files_by_class[name] = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    report = ScanReport(root=root, class_names=[])
    for name in names:
        usable = []
        for path in files_by_class[name]:
            try:
                mode = _check_file(path)
            except Exception as exc:  # PIL raises many types for junk; all mean "unreadable"
                report.skipped.append((path, f"{type(exc).__name__}: {exc}"))
                continue
            if mode != "RGB":
                report.converted.append((path, mode))
            usable.append(path)
        if not usable:
            report.empty_classes.append(name)
            continue
        report.class_names.append(name)
        report.paths += usable
        report.labels += [len(report.class_names) - 1] * len(usable)
    if not report.paths:
        raise EmptyFolderError(f"no readable image under {root}\n{report.summary()}")
    return report


def load_images(paths: list[Path], size: tuple[int, int]) -> np.ndarray:
    """Read files as RGB and resize to ``size`` = (height, width): uint8 (N, H, W, 3) in [0, 255].

    Uses ``keras.utils.load_img`` (PIL; converts grayscale, CMYK, RGBA and palette images to RGB)
    with bilinear resizing. Call it on ``scan(...).paths``, which are known to decode.
    """
    import keras

    images = [
        keras.utils.img_to_array(
            keras.utils.load_img(p, color_mode="rgb", target_size=size, interpolation="bilinear"), dtype="uint8")
        for p in paths
    ]
    return np.stack(images) if images else np.zeros((0, *size, 3), np.uint8)
