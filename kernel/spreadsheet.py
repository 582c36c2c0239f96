"""Spreadsheets that open right and run nothing: every CSV and .xlsx export writes through here.

CSV is written for Swedish Excel, which most of the region's staff open it in: a UTF-8 byte order
mark (without it Excel reads UTF-8 as Windows-1252 and "Överläkare" turns into "Ã–verlÃ¤kare") and
`;` between cells (Swedish Excel's list separator, since `,` is its decimal comma). An .xlsx file
carries its own encoding and types, for everyone else.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by Excel
and LibreOffice (`=HYPERLINK(...)` in a policy note or a name would run on HR's machine), so such a
text cell gets a leading `'`, which the spreadsheet shows as text; openpyxl would store such a
string as a formula too, so the .xlsx cells get the same guard. Numbers are Vila's own and written
as they are, so a count stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import IO

from openpyxl import Workbook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
DELIMITER = ";"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_cell(value: object) -> object:
    """A safe cell, and a fraction with Swedish Excel's decimal comma (3,5), so it reads as a number."""
    if isinstance(value, float | Decimal):
        return str(value).replace(".", ",")
    return safe_cell(value)


class SafeWriter:
    """`csv.writer` with every text cell made safe, `;` between cells and a byte order mark first."""

    def __init__(self, out: IO[str]) -> None:
        out.write(BOM)
        self._writer = csv.writer(out, delimiter=DELIMITER)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([csv_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def read_csv(text: str) -> list[list[str]]:
    """Read back what SafeWriter wrote (for tests and imports of Vila's own files)."""
    return list(csv.reader(io.StringIO(text.removeprefix(BOM)), delimiter=DELIMITER))


def xlsx(rows: Iterable[Iterable[object]], *, sheet: str) -> bytes:
    """One sheet of rows as an .xlsx file, with the formula guard on every text cell."""
    book = Workbook(write_only=True)
    page = book.create_sheet(title=sheet[:31])
    for row in rows:
        page.append([safe_cell(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
