"""The one CSV writer for files postduif writes (``lists export``, ``*.rejects.csv``).

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula, and a
join request or a listmonk export can carry ``=HYPERLINK(...)`` or ``+cmd|...``. Following
OWASP's rule for CSV injection, such a cell (and one starting with a tab or CR) gets a leading
``'``; every other cell is written as it is. The rule is applied without exceptions: a value that
merely looks like a negative number or a phone number (``-1``, ``+31 6 ...``) is prefixed too,
because "looks like a number" is how ``-2+3+cmd|...`` gets through.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> str:
    """The cell as text, with ``'`` in front where a spreadsheet would read a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class SafeWriter:
    """``csv.writer`` whose every cell goes through :func:`neutralise`."""

    def __init__(self, stream: TextIO) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
