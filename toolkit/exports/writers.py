"""Write rows as CSV, XLSX or JSON without holding them all in memory.

Every text cell that a spreadsheet would read as a formula (it starts with =, +, -, @, a tab
or a carriage return) is prefixed with an apostrophe, as OWASP advises against CSV injection.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from itertools import islice

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
CHUNK = 64 * 1024
BATCH = 500  # rows per CSV chunk
# A dangerous first character in cells joined with NUL between them.
_FORMULA_AFTER_NUL = re.compile("\0[" + re.escape("".join(FORMULA_STARTS)) + "]")
_TEXT = frozenset({str, type(None)})
_DATE_KINDS = frozenset({datetime, date, type(None)})
_YES_NO_KINDS = frozenset({bool, type(None)})
_YES_NO = {True: "yes", False: "no", None: ""}
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "json": ("application/json", "json"),
}


def safe_cell(value: object) -> str:
    """A cell's text, made inert if a spreadsheet would run it as a formula."""
    if type(value) is str:
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _safe_column(column: Sequence[object]) -> Sequence[object] | None:
    """One column of a batch made safe, or None when the csv module may write it as it is.

    The common cases take no Python step per cell: a column of text is joined and searched for
    a dangerous first character; None is written as an empty field by the csv module itself.
    """
    try:
        joined = "\0".join(column)  # fails at the first cell that is not text
    except TypeError:
        kinds = set(map(type, column))
        if kinds <= _TEXT:
            joined = "\0".join(filter(None, column))
        elif kinds == {int}:
            return None if min(column) >= 0 else list(map(safe_cell, column))
        elif kinds <= _YES_NO_KINDS:
            return list(map(_YES_NO.__getitem__, column))
        elif kinds <= _DATE_KINDS and len(kinds - {type(None)}) == 1:
            return [value if value is None else value.isoformat() for value in column]
        else:
            return list(map(safe_cell, column))
    if _FORMULA_AFTER_NUL.search("\0" + joined):
        return [
            "'" + value if value is not None and value.startswith(FORMULA_STARTS) else value
            for value in column
        ]
    return None


def _safe_rows(rows: list[Sequence[object]]) -> Iterable[Sequence[object]]:
    """A batch of rows with every cell made safe, turned into columns and back."""
    columns = list(zip(*rows, strict=True))
    changed = False
    for index, column in enumerate(columns):
        safe = _safe_column(column)
        if safe is not None:
            columns[index] = safe
            changed = True
    return zip(*columns, strict=True) if changed else rows


def _csv_writer(buffer: io.StringIO):  # noqa: ANN202 - a csv writer
    return csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")


def csv_head(header: Sequence[str]) -> str:
    """The start of every CSV file: the BOM, then the header line."""
    buffer = io.StringIO()
    buffer.write(BOM)
    _csv_writer(buffer).writerow([safe_cell(name) for name in header])
    return buffer.getvalue()


def csv_chunks(
    header: Sequence[str], rows: Iterable[Sequence[object]], batch: int = BATCH
) -> Iterator[str]:
    """UTF-8 CSV with a BOM (so Excel reads every script), CRLF, every field quoted.

    Rows are written in batches into one buffer, one chunk per batch.
    """
    buffer = io.StringIO()
    writer = _csv_writer(buffer)
    buffer.write(csv_head(header))
    iterator = iter(rows)
    while block := list(islice(iterator, batch)):
        writer.writerows(_safe_rows(block))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def json_chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """A JSON array of objects, one per row, written as it goes."""
    yield "[\n"
    first = True
    for row in rows:
        item = {
            name: value.isoformat() if isinstance(value, datetime | date) else value
            for name, value in zip(header, row, strict=True)
        }
        yield ("" if first else ",\n") + json.dumps(item, ensure_ascii=False)
        first = False
    yield "\n]\n"


def xlsx_chunks(
    header: Sequence[str], rows: Iterable[Sequence[object]], sheet: str = "Signatures"
) -> Iterator[bytes]:
    """An XLSX workbook built in constant memory in a temporary file, then streamed."""
    import xlsxwriter  # noqa: PLC0415 - loaded by the exports that need it, not at start-up

    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(
            path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        worksheet = workbook.add_worksheet(sheet[:31])
        bold = workbook.add_format({"bold": True})
        worksheet.write_row(0, 0, list(header), bold)
        for number, row in enumerate(rows, start=1):
            worksheet.write_row(number, 0, [safe_cell(value) for value in row])
        workbook.close()
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def export_chunks(fmt: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator:
    """The chunks of one export format: csv, xlsx or json."""
    if fmt == "csv":
        return csv_chunks(header, rows)
    if fmt == "xlsx":
        return xlsx_chunks(header, rows)
    if fmt == "json":
        return json_chunks(header, rows)
    raise ValueError(f"Unknown export format '{fmt}': use csv, xlsx or json.")
