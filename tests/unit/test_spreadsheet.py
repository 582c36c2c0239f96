"""CSV cells that a spreadsheet would run as a formula are written as text."""

from __future__ import annotations

import csv
import io

import pytest

from kernel.spreadsheet import SafeWriter, safe_cell


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
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["name", "count"], ["'=1+1", "-2"], ["Bo", "3"]]
