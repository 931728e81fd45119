"""CSV downloads (exports, reports): UTF-8 text, one header row, CRLF line ends, and no cell a
spreadsheet would run as a formula (text starting `=`, `+`, `-` or `@` gets a leading `'`).

    csvfiles.render(["site", "hours"], [("Main", "7.50")])  -> 'site,hours\\r\\nMain,7.50\\r\\n'
"""

import csv
import io

FORMULA_STARTS = ("=", "+", "-", "@")


def cell(value):
    """A value as a CSV cell: None is empty, text that a spreadsheet would read as a formula is
    quoted with a leading `'`; numbers are written as they are (a negative one stays a number)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, str):
        return value
    return "'" + value if value[:1] in FORMULA_STARTS else value


def render(columns, rows):
    """The CSV text of `rows` (sequences, one value per column) under a header of `columns`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(c) for c in columns])
    writer.writerows([cell(v) for v in row] for row in rows)
    return out.getvalue()
