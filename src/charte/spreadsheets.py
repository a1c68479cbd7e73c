"""Tables as spreadsheets: CSV that Excel opens as UTF-8 and XLSX workbooks, both safe from formula injection.

A cell starting with = + - @ or a tab would run as a formula when the file is opened (CSV injection): every CSV
Charte writes passes its text through :func:`formula_safe`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

import xlsxwriter

Columns = Sequence[tuple[str, str]]
Rows = Sequence[Mapping[str, str]]

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: str) -> str:
    """The text as a spreadsheet should show it: one that would start a formula gets a leading '."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def table_csv(columns: Columns, rows: Rows) -> bytes:
    """The table as CSV in UTF-8 with a BOM; a value that would start a formula is quoted with '."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(label for _, label in columns)
    for row in rows:
        writer.writerow(formula_safe(row[k]) for k, _ in columns)
    # The BOM makes Excel read the file as UTF-8 (accents) rather than the system code page.
    return out.getvalue().encode("utf-8-sig")


def table_xlsx(columns: Columns, rows: Rows, *, title: str, author: str, sheet: str, min_width: int = 10,
               frozen_columns: int = 0) -> bytes:
    """The table as one XLSX sheet: a styled, frozen header row with filters, columns sized to their text."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    workbook.set_properties({"title": title, "author": author, "comments": "Charte"})
    worksheet = workbook.add_worksheet(sheet)
    header = workbook.add_format({"bold": True, "font_color": "#FFFFFF", "bg_color": "#1F3864", "border": 1,
                                  "text_wrap": True, "valign": "top"})
    cell = workbook.add_format({"text_wrap": True, "valign": "top", "border": 1})
    for col, (key, label) in enumerate(columns):
        worksheet.write_string(0, col, label, header)
        longest = max([len(label), *(len(r[key]) for r in rows)])
        worksheet.set_column(col, col, min(max(longest, min_width), 60))
        for line, row in enumerate(rows, start=1):
            # write_string: a value is never read as a formula or a number.
            worksheet.write_string(line, col, row[key], cell)
    worksheet.freeze_panes(1, frozen_columns)
    worksheet.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    workbook.close()
    return buffer.getvalue()
