"""Exports: formula-safe cells, every script kept, streamed in chunks."""

from __future__ import annotations

import csv
import io
import json

from toolkit.exports.writers import csv_chunks, json_chunks, safe_cell, xlsx_chunks

NAMES = ["شبكة الحقوق", "数字权利网络", "Сеть", "Réseau", "नेटवर्क", "Ngũgĩ"]


def test_formula_cells_are_prefixed():
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x","y")'):
        assert safe_cell(value) == "'" + value
    assert safe_cell("plain") == "plain"
    assert safe_cell(None) == ""
    assert safe_cell(True) == "yes"


def test_csv_has_bom_crlf_quotes_and_keeps_every_script():
    rows = [[name, "=cmd|' /C calc'!A0"] for name in NAMES]
    text = "".join(csv_chunks(["name", "note"], rows))
    assert text.startswith('\ufeff"name","note"\r\n')
    parsed = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert [row[0] for row in parsed[1:]] == NAMES
    assert all(row[1].startswith("'=") for row in parsed[1:])


def test_csv_streams_in_chunks():
    rows = ([f"name {i}", "x" * 100] for i in range(5000))
    chunks = list(csv_chunks(["name", "pad"], rows))
    assert len(chunks) > 5


def test_json_is_a_valid_array():
    data = json.loads("".join(json_chunks(["name"], [[n] for n in NAMES])))
    assert [item["name"] for item in data] == NAMES


def test_xlsx_opens_with_every_script_and_inert_formulas():
    from openpyxl import load_workbook

    data = b"".join(xlsx_chunks(["name"], [[n] for n in NAMES] + [["=1+1"]]))
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    values = [row[0] for row in workbook.active.iter_rows(min_row=2, values_only=True)]
    workbook.close()
    assert values == [*NAMES, "'=1+1"]


def test_csv_batches_give_the_same_cells_as_safe_cell_one_by_one():
    from datetime import UTC, date, datetime
    from decimal import Decimal

    moment = datetime(2026, 11, 28, 15, 5, 0, 123, tzinfo=UTC)
    rows = [
        ["=1", 1, True, moment, date(2026, 1, 2), None, "ok", -3, Decimal("-1.5"), "a\0=b"],
        ["plain", 2, False, None, None, "x", "\ttab", 4, Decimal("2"), "b"],
        ["@x", 3, None, moment.replace(tzinfo=None), date(2026, 1, 3), None, None, 5, 1.5, "c"],
    ] * 3
    header = [f"c{i}" for i in range(len(rows[0]))]
    expected = [[safe_cell(value) for value in row] for row in rows]
    for batch in (1, 2, 500):
        text = "".join(csv_chunks(header, rows, batch=batch))
        parsed = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
        assert parsed[1:] == expected
    assert expected[0][:4] == ["'=1", "1", "yes", "2026-11-28T15:05:00.000123+00:00"]
    assert expected[0][7] == "'-3" and expected[1][6] == "'\ttab" and expected[0][5] == ""


def test_csv_memory_is_flat():
    import tracemalloc

    def peak(count: int) -> int:
        rows = ((i, f"=Signer {i}", "Ольга", i % 2 == 0, None) for i in range(count))
        tracemalloc.start()
        for _chunk in csv_chunks(["id", "name", "city", "public", "email"], rows):
            pass
        result = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return result

    assert peak(100_000) < 2 * peak(1000) + 100_000
