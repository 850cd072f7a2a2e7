"""Write rows as CSV, XLSX or JSON without holding them all in memory.

Every text cell that a spreadsheet would read as a formula (it starts with =, +, -, @, a tab
or a carriage return) is prefixed with an apostrophe, as OWASP advises against CSV injection.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

import xlsxwriter

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
CHUNK = 64 * 1024
FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "json": ("application/json", "json"),
}


def safe_cell(value: object) -> str:
    """A cell's text, made inert if a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """UTF-8 CSV with a BOM (so Excel reads every script), CRLF, every field quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
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
