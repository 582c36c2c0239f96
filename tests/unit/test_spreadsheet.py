"""CSV cells that a spreadsheet would run as a formula are written as text."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from kernel.spreadsheet import BOM, SafeWriter, read_csv, safe_cell, xlsx


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_quoted(start: str) -> None:
    assert safe_cell(f"{start}cmd|' /C calc'!A0") == f"'{start}cmd|' /C calc'!A0"


@pytest.mark.parametrize("value", ["Akutmottagningen", "", "a=b", " =x", 3, -3, 1.5, None])
def test_other_cells_and_numbers_are_left_alone(value: object) -> None:
    assert safe_cell(value) == value


def test_the_writer_quotes_every_row() -> None:
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["name", "count"])
    writer.writerows([["=1+1", -2], ["Bo", 3]])
    assert read_csv(out.getvalue()) == [["name", "count"], ["'=1+1", "-2"], ["Bo", "3"]]


def test_csv_is_written_for_swedish_excel() -> None:
    """A byte order mark (Excel then reads UTF-8) and `;` between cells (Swedish Excel's list
    separator): "Överläkare" stays one readable cell, "7,5" is not split in two."""
    out = io.StringIO()
    SafeWriter(out).writerows([["yrke", "timmar"], ["Överläkare", "7,5"]])
    raw = out.getvalue().encode("utf-8")
    assert raw.startswith(BOM.encode("utf-8"))
    assert raw.decode("utf-8-sig").splitlines() == ["yrke;timmar", "Överläkare;7,5"]
    cells = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert cells == [["yrke", "timmar"], ["Överläkare", "7,5"]]


def test_the_xlsx_keeps_text_text_and_numbers_numbers() -> None:
    hostile = '=HYPERLINK("https://evil.example","x")'
    data = xlsx([["namn", "antal"], [hostile, 3], ["Åsa", 1.5]], sheet="policy-changes")
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [["namn", "antal"], ["'" + hostile, 3], ["Åsa", 1.5]]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row), "no cell is a formula"
