"""Run settings for the whole course: mode, paths and seeds.

This is the only module that reads the course's environment variables:

- ``COURSE_QUICK=1`` selects quick mode (small data, 1-2 epochs) for tests and CI.
  Unset or ``0`` means full mode: the lessons' real sizes.
- ``COURSE_DATA_DIR`` is where datasets live (default: ``data/`` in the repo).
- ``COURSE_OUTPUT_DIR`` is where lessons write figures, models and results
  (default: ``outputs/`` in the repo). It may not lie inside the data directory:
  nothing but downloads is ever written there.

Settings are read when asked for, not at import time, so a notebook or a test
that changes the environment sees the change.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = 42

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

T = TypeVar("T")


class ConfigError(ValueError):
    """An environment variable of the course holds a value it cannot use."""


@dataclass(frozen=True)
class Settings:
    """One snapshot of the run settings."""

    quick: bool
    data_dir: Path
    output_dir: Path

    @property
    def mode(self) -> str:
        return "quick" if self.quick else "full"


def _parse_quick(raw: str | None) -> bool:
    value = (raw or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(
        f"COURSE_QUICK={raw!r} is not understood: use 1 for quick mode, 0 or unset for full mode."
    )


def _resolve_dir(raw: str | None, default: Path) -> Path:
    if raw is None or not raw.strip():
        return default
    return Path(raw).expanduser().resolve()


def _check_data_dir(raw: str | None) -> None:
    """COURSE_DATA_DIR may be missing (it is created on the first download), but not a file or a
    link to nowhere (an unmounted USB stick): that would download into the wrong place."""
    if raw is None or not raw.strip():
        return
    given = Path(raw).expanduser()
    if given.is_symlink() and not given.exists():
        raise ConfigError(
            f"COURSE_DATA_DIR={raw!r} is a link to {os.readlink(given)!r}, which does not exist "
            "(is a drive not mounted?). Mount it, or point COURSE_DATA_DIR elsewhere."
        )
    if given.exists() and not given.is_dir():
        raise ConfigError(f"COURSE_DATA_DIR={raw!r} is a file, not a folder.")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``environ`` (default: ``os.environ``).

    Raises ConfigError for an unreadable COURSE_QUICK, a COURSE_DATA_DIR that is a file or a
    dangling link, or an output directory inside the data directory.
    """
    env = os.environ if environ is None else environ
    _check_data_dir(env.get("COURSE_DATA_DIR"))
    settings = Settings(
        quick=_parse_quick(env.get("COURSE_QUICK")),
        data_dir=_resolve_dir(env.get("COURSE_DATA_DIR"), REPO_ROOT / "data"),
        output_dir=_resolve_dir(env.get("COURSE_OUTPUT_DIR"), REPO_ROOT / "outputs"),
    )
    if settings.output_dir.is_relative_to(settings.data_dir):
        raise ConfigError(
            f"COURSE_OUTPUT_DIR ({settings.output_dir}) lies inside the data directory "
            f"({settings.data_dir}). The course never writes results next to your data: "
            "point COURSE_OUTPUT_DIR somewhere else."
        )
    return settings


def quick_mode() -> bool:
    """True in quick mode (COURSE_QUICK=1)."""
    return load_settings().quick


def pick(*, quick: T, full: T) -> T:
    """The ``quick`` value in quick mode, the ``full`` value otherwise.

    Lessons use it for every size that differs between modes, e.g.
    ``epochs = config.pick(quick=1, full=20)``.
    """
    return quick if quick_mode() else full


def data_dir() -> Path:
    """The data directory (it may not exist yet)."""
    return load_settings().data_dir


def output_dir(*parts: str) -> Path:
    """A folder under the output directory, created if missing.

    ``output_dir("figures")`` -> ``<COURSE_OUTPUT_DIR>/figures``.
    """
    path = load_settings().output_dir.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def set_seed(seed: int = DEFAULT_SEED) -> int:
    """Seed Python, NumPy and the backend in one call (``keras.utils.set_random_seed``).

    Returns the seed, so a lesson can print or store it.
    """
    import keras

    keras.utils.set_random_seed(int(seed))
    return int(seed)


def describe() -> dict[str, str]:
    """Mode, paths, versions and compute device, as printable strings."""
    import keras
    import tensorflow as tf

    settings = load_settings()
    gpus = tf.config.list_physical_devices("GPU")
    device = f"GPU x{len(gpus)} ({', '.join(g.name for g in gpus)})" if gpus else f"CPU ({os.cpu_count()} cores)"
    return {
        "mode": settings.mode,
        "data dir": str(settings.data_dir),
        "output dir": str(settings.output_dir),
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "device": device,
    }


QUICK_NOTE = ("quick mode: a smoke test on a few images and 1-2 epochs; its accuracies say nothing, "
              "and below chance is normal")


def quick_note() -> None:
    """Print QUICK_NOTE (one line) in quick mode, nothing in full mode. Lessons call it after every accuracy
    that a quick run prints, so the same words stand beside each one."""
    if quick_mode():
        print(QUICK_NOTE)


def banner(lesson: str = "") -> str:
    """One block of text for a notebook's first output: lesson, mode, paths, versions."""
    info = describe()
    title = f"{lesson} | " if lesson else ""
    lines = [f"{title}{info.pop('mode').upper()} mode"]
    if info["device"].startswith("CPU"):
        info["device"] += " - no GPU found"
    lines += [f"  {key:<10} {value}" for key, value in info.items()]
    if quick_mode():
        lines.append(f"  ({QUICK_NOTE})")
    else:
        lines.append("  (set COURSE_QUICK=1 for the quick smoke-test mode)")
    return "\n".join(lines)
