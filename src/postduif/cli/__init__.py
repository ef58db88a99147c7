"""The ``postduif`` command line: thin Typer commands over the library.

Each command opens the workspace, calls one library function and prints its result. Every
:class:`~postduif.errors.PostduifError` is turned into ``Error: ...`` (plus a hint) and exit
status 1 by :func:`main`; no user error shows a traceback.
"""

from __future__ import annotations

import sys

from postduif.cli import (  # noqa: F401  (they register commands)
    bounces,
    campaigns,
    migrate,
    people,
    sending,
)
from postduif.cli._app import app, err
from postduif.cli._show import say
from postduif.errors import PostduifError

__all__ = ["app", "main"]


def main() -> None:
    """Entry point: run the app, turning user errors into one line and exit status 1."""
    try:
        app()
    except PostduifError as exc:
        # The message may quote a file name or a header from the file: printed literally.
        say(err, ("Error:", "red"), " ", str(exc))
        if exc.hint:
            say(err, "Hint: ", exc.hint)
        sys.exit(1)
