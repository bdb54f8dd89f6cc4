"""`flask bench uploads`: what an uploaded workbook costs the server (issue 14). The indicator import
at 1k / 2k / 4k / 5k rows, with the ratios (linear growth doubles the time when the rows double), both
for rows that repeat the demo's indicators (every code used many times: the case that was quadratic)
and for rows that are all different and valid; how fast 100k rows are refused; and the growth of the
peak RSS of a process that only receives a 0.2 MB workbook holding one 200 MB cell.

The big workbook is written to a temporary file in streamed pieces, and the upload is measured in a
child process that does nothing else, so that building it costs the measurement nothing. The child
reads its peak RSS as Linux keeps it (VmHWM), reset to what is resident just before the upload:
`getrusage(RUSAGE_SELF).ru_maxrss` would not do, since a child started by fork and exec inherits the
parent's size at the fork as its maximum, far above what the child itself holds. A control reads the
15 MB cell with openpyxl and no limit, to show the measure sees what a cell costs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import zipfile
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

from models.db import db
from webapp.domain.errors import WorkbookInvalid
from webapp.domain.system import excel as indicator_excel
from webapp.domain.system.queries import find_scheme_year

SIZES = (1000, 2000, 4000, 5000)
CELL_MB = 200
REPEATS = 3


def _demo_rows(scheme: str) -> list[list[Any]]:
    year = find_scheme_year(scheme, 2012)
    sheet = load_workbook(BytesIO(indicator_excel.export_workbook(year)))[indicator_excel.SHEET]
    code = indicator_excel.HEADERS.index(indicator_excel.CODE)
    return [list(r) for r in sheet.iter_rows(min_row=2, values_only=True) if r[code]]


def _workbook(rows: list[list[Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(indicator_excel.SHEET)
    sheet.append(indicator_excel.HEADERS)
    for row in rows:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _repeated(demo: list[list[Any]], n: int) -> list[list[Any]]:
    return [demo[i % len(demo)] for i in range(n)]


def _distinct(demo: list[list[Any]], n: int) -> list[list[Any]]:
    """n valid indicators, all different, under the demo's key points, their weights totalling 1000."""
    headers = indicator_excel.HEADERS
    code, name, weight = (headers.index(h) for h in (indicator_excel.CODE, indicator_excel.NAME, "分值"))
    each = Decimal(1000) / n
    assert each == each.quantize(Decimal("0.01")), n
    rows = []
    for i in range(n):
        row = list(demo[i % len(demo)])
        row[code], row[name], row[weight] = f"X{i:05d}", f"指标{i:05d}", float(each)
        rows.append(row)
    return rows


def _import_seconds(data: bytes, scheme: str) -> tuple[float, int, str]:
    """CPU seconds to import (rolled back), the number of problems (0 when taken) and the first."""
    year = find_scheme_year(scheme, 2012)
    started = time.process_time()  # CPU seconds: the machine may be shared, the import is one thread
    try:
        indicator_excel.import_workbook(year, data)
        problems, first = 0, ""
    except WorkbookInvalid as exc:
        problems, first = len(exc.rows) + exc.more, exc.rows[0].reason
    seconds = time.process_time() - started
    db.session.rollback()
    return round(seconds, 3), problems, first


def _ratios(times: dict[int, float]) -> dict[str, float]:
    return {
        f"{b // 1000}k/{a // 1000}k": round(times[b] / times[a], 2)
        for a, b in ((1000, 2000), (2000, 4000))
        if times[a]
    }


def import_figures(scheme: str) -> dict[str, Any]:
    demo = _demo_rows(scheme)
    figures: dict[str, Any] = {}
    for label, build in (("repeated_rows", _repeated), ("distinct_rows", _distinct)):
        times, problems = {}, {}
        for n in SIZES:
            data = _workbook(build(demo, n))
            runs = [_import_seconds(data, scheme) for _ in range(REPEATS)]
            times[n], problems[n], _first = min(runs)  # the best of a few: the machine is shared
        figures[label] = {
            "cpu_seconds": {f"{n // 1000}k": s for n, s in times.items()},
            "problems": {f"{n // 1000}k": p for n, p in problems.items()},
            "ratios": _ratios(times),
        }
    for label, rows in (
        ("100k_rows", _repeated(demo, 100_000)),
        ("100k_rows_of_one_column", [[row[4]] for row in _repeated(demo, 100_000)]),  # under 20 MB unpacked
    ):
        big = _workbook(rows)
        seconds, _problems, first = _import_seconds(big, scheme)
        figures[label] = {"file_mb": round(len(big) / 2**20, 2), "refused_in_cpu_s": seconds, "answer": first}
    return figures


def write_big_cell_workbook(path: Path, sheet: str, megabytes: int = CELL_MB) -> int:
    """A valid .xlsx at `path` whose A2 on `sheet` is one text of `megabytes` MB in the shared table
    (as Excel stores texts), written in pieces; its size in bytes."""
    book = Workbook()
    book.active.title = sheet
    book.active.append(["编号"])
    out = BytesIO()
    book.save(out)
    with zipfile.ZipFile(out) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename.startswith("xl/worksheets/"):
                content = content.replace(
                    b"</row></sheetData>", b'</row><row r="2"><c r="A2" t="s"><v>0</v></c></row></sheetData>'
                )
            if info.filename == "[Content_Types].xml":
                content = content.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            target.writestr(info.filename, content)
        with target.open("xl/sharedStrings.xml", "w", force_zip64=True) as table:
            table.write(
                b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>'
            )
            piece = b"x" * 2**20
            for _ in range(megabytes):
                table.write(piece)
            table.write(b"</t></si></sst>")
    return path.stat().st_size


# The child: it reads the file, notes its peak RSS, takes the upload as the server would, notes it again.
_CHILD = """
import json, sys, time
from webapp import create_app
from webapp.domain import sheets
from webapp.domain.errors import WorkbookInvalid
from webapp.domain.system import excel
from webapp.domain.system.queries import find_scheme_year

url, secret, scheme, path, what = sys.argv[1:]

def kb(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key))

app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret, "TESTING": True})
with app.app_context():
    year = find_scheme_year(scheme, 2012)
    data = open(path, "rb").read()
    open("/proc/self/clear_refs", "w").write("5")  # the peak starts again from what is resident now
    before = kb("VmHWM:")
    started = time.perf_counter()
    try:
        if what == "indicators":
            excel.import_workbook(year, data)
        elif what == "score_sheet":
            sheets.read_sheet(data, "评分")  # what a score or self-report upload reads first
        else:  # the control: openpyxl with no limit, as before issue 14
            from io import BytesIO
            from openpyxl import load_workbook
            book = load_workbook(BytesIO(data), read_only=True, data_only=True)
            rows = list(book.worksheets[0].iter_rows(values_only=True))
        answer = "taken"
    except WorkbookInvalid as exc:
        answer = exc.rows[0].reason
    seconds = time.perf_counter() - started
    after = kb("VmHWM:")
print(json.dumps({"rss_before_mb": round(before / 1024, 1), "peak_rss_growth_mb": round((after - before) / 1024, 1),
                  "seconds": round(seconds, 3), "answer": answer, "answer_chars": len(answer)}))
"""


def big_cell_figures(
    database_url: str, secret: str, scheme: str, megabytes: int = CELL_MB, control: bool = False
) -> dict[str, Any]:
    """Each upload in its own child; with `control`, also openpyxl reading the file with no limit
    (which shows the measure sees the memory a cell costs when nothing refuses it)."""
    figures: dict[str, Any] = {}
    cases = [("indicators", indicator_excel.SHEET), ("score_sheet", "评分")]
    with tempfile.TemporaryDirectory() as tmp:
        for what, sheet in cases + ([("openpyxl_alone", "评分")] if control else []):
            path = Path(tmp) / f"{what}.xlsx"
            size = write_big_cell_workbook(path, sheet, megabytes)
            child = subprocess.run(  # noqa: S603 - our own interpreter and script
                [sys.executable, "-c", _CHILD, database_url, secret, scheme, str(path), what],
                capture_output=True,
                text=True,
                check=True,
                cwd=Path(__file__).resolve().parents[1],
            )
            figures[what] = {
                "file_mb": round(size / 2**20, 2),
                **json.loads(child.stdout.strip().splitlines()[-1]),
            }
    return figures
