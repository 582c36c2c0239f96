"""CSV that a spreadsheet opens without running anything: every CSV export writes through here.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by Excel
and LibreOffice (`=HYPERLINK(...)` in a policy note or a name would run on HR's machine), so such a
text cell gets a leading `'`, which the spreadsheet shows as text. Numbers are Vila's own and written
as they are, so a count stays a number.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """`csv.writer` with every text cell made safe."""

    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)
