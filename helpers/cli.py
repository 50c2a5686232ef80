"""What the course's command lines share: a user's mistake (a bad option, missing data, nothing to grade) ends in
one line on stderr and exit code 2, the convention of ``argparse`` itself, instead of a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from helpers.config import ConfigError
from helpers.datasets import DatasetError


class UserError(Exception):
    """A mistake in what a command line was given, said in one line."""


USER_ERRORS = (UserError, ConfigError, DatasetError, FileNotFoundError)


@contextmanager
def user_errors(prog: str, kinds: tuple[type[BaseException], ...] = USER_ERRORS) -> Iterator[None]:
    """Run the block; an exception of ``kinds`` (default ``USER_ERRORS``) becomes ``prog: error: <message>`` on
    stderr and exit code 2. Any other exception is a bug and keeps its traceback."""
    try:
        yield
    except kinds as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
