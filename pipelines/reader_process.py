"""What runs in the reader process: calamine (through fastexcel) reads the
three sheets of a return into Arrow text columns.

Kept apart from pipelines/read.py so that the reader process (and the
forkserver it is started from) imports only fastexcel and pyarrow: no
pandas, no reference data. That keeps each of those processes about 45 MB
smaller, which counts under the memory ceiling (README「安全与限制」).
"""
from __future__ import annotations

import ctypes
import logging
import os
import resource
import signal
import sys
import threading

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc

from .textkey import norm_key

# Sheet names accepted for each required sheet, compared with norm_key.
SHEETS = {
    "cover": ("封面",),
    "indicators": ("表1指标进展", "指标进展", "表1"),
    "items": ("表2合作事项明细", "合作事项明细", "表2"),
}
SHEET_TITLES = {"cover": "封面", "indicators": "表1 指标进展", "items": "表2 合作事项明细"}


class Sheet:
    """A sheet as read: one text column per Excel column ('' for an empty
    cell), from Excel row 1. A date cell reads as 2019-03-15 (with its time,
    2019-03-15 10:30, when it has one), a number as Excel shows it unformatted
    (5, 183.5), an error cell (#DIV/0!) as empty."""

    def __init__(self, columns: dict[int, pa.Array], num_rows: int):
        self._columns = columns  # 0-based Excel column -> string array without nulls
        self.num_rows = num_rows
        self.width = max(columns) + 1 if columns else 0

    def column(self, j: int) -> pa.Array:
        col = self._columns.get(j)
        return col if col is not None else pa.nulls(self.num_rows, pa.string()).fill_null("")

    @property
    def filled_columns(self) -> list[int]:
        """The 0-based Excel columns that hold any cell."""
        return sorted(self._columns)

    def replace_column(self, j: int, arr: pa.Array) -> None:
        """Put cleaned text in place of column ``j`` (checks.py removes invisible characters, cuts long text)."""
        self._columns[j] = arr

    def rows(self, stop: int | None = None) -> list[list[str]]:
        """The first ``stop`` rows (all by default) as lists of cell text."""
        stop = self.num_rows if stop is None else min(stop, self.num_rows)
        if not self.width:
            return [[] for _ in range(stop)]
        blank = [""] * stop
        cols = [self._columns[j].slice(0, stop).to_pylist() if j in self._columns else blank
                for j in range(self.width)]
        return [list(r) for r in zip(*cols)]


_DATETIME_TEXT = r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}):00$"


# pyarrow imports pandas the first time it converts a Python value (pa.scalar(""), or the
# 2000 of pc.greater(lengths, 2000)) to look for pandas objects: 200-350 ms and about 45 MB
# in the reader process, which needs nothing of pandas. Its scalars are built from bytes.
def _int32(value: int) -> pa.Scalar:
    return pa.Array.from_buffers(pa.int32(), 1, [None, pa.py_buffer(int(value).to_bytes(4, sys.byteorder,
                                                                                       signed=True))])[0]


_EMPTY_TEXT = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(bytes(8)), pa.py_buffer(b"")])[0]


def _text_column(col: pa.Array) -> pa.Array:
    """A fastexcel string column as cell text: '' for empty, dates as raw_text shows them."""
    col = pc.fill_null(col, _EMPTY_TEXT)
    if pc.any(pc.ends_with(col, ":00")).as_py():
        col = pc.replace_substring_regex(col, _DATETIME_TEXT, r"\1 \2")
        col = pc.replace_substring_regex(col, r"^(\d{4}-\d{2}-\d{2}) 00:00$", r"\1")
    return col


def _load_sheet(reader, name: str) -> Sheet:
    sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
    batch = sheet.to_arrow()
    positions = [c.absolute_index for c in sheet.selected_columns]
    return Sheet({j: _text_column(col) for j, col in zip(positions, batch.columns)}, batch.num_rows)



def _find_sheet(names: list[str], role: str) -> str | None:
    wanted = [norm_key(a) for a in SHEETS[role]]
    keyed = {norm_key(n): n for n in names}
    for w in wanted:
        if w in keyed:
            return keyed[w]
    return None



def _read_sheets(data: bytes, max_chars: int, max_text: int) -> dict:
    """Runs in the reader process: open the workbook, find the three sheets by
    name and read them. Nothing large goes back: a cell longer than
    ``max_chars`` is cut to that length and reported as (row, column, length), and when
    the text of the sheets passes ``max_text`` bytes only that is reported.
    Exceptions come back as (type name, message)."""
    try:
        book = fastexcel.read_excel(data)
        names = list(book.sheet_names)
    except Exception as exc:  # noqa: BLE001 - calamine raises several types for bad files
        return {"error": (type(exc).__name__, str(exc))}
    out: dict = {"sheet_names": names, "roles": {}, "sheets": {}}
    text = 0
    for role in SHEETS:
        found = _find_sheet(names, role)
        if found is None:
            continue
        out["roles"][role] = found
        try:
            sheet = _load_sheet(book, found)
        except Exception as exc:  # noqa: BLE001
            out["sheets"][found] = ("error", type(exc).__name__, str(exc))
            continue
        long_cells: list[tuple[int, int, int]] = []
        columns = sheet._columns
        for j, col in list(columns.items()):
            text += pc.sum(pc.binary_length(col)).as_py() or 0
            if text > max_text:
                return {"text_too_large": found, "sheet_names": names}
            lengths = pc.utf8_length(col)
            if (pc.max(lengths).as_py() or 0) > max_chars:
                over = pc.greater(lengths, _int32(max_chars))
                for i in pc.indices_nonzero(over).to_pylist():
                    long_cells.append((i + 1, j + 1, lengths[i].as_py()))
                columns[j] = pc.if_else(over, pc.utf8_slice_codeunits(col, 0, max_chars), col)
        long_cells.sort()
        out["sheets"][found] = ("ok", columns, sheet.num_rows, long_cells)
    return out



_PR_SET_PDEATHSIG = 1


def _reader_init(memory: int, lifeline) -> None:
    """In the reader process: a memory ceiling, first in line if memory runs out,
    quiet (calamine's abort message is not for users), and gone with its parents."""
    try:
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")
    except OSError:
        pass
    if memory:
        try:
            resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
        except (ValueError, OSError):
            logging.getLogger(__name__).warning("could not limit the reader's memory")
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
    except OSError:
        pass
    try:  # the forkserver is this process's parent: go with it
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    threading.Thread(target=_watch_lifeline, args=(lifeline,), daemon=True, name="lifeline").start()


def _watch_lifeline(lifeline) -> None:
    """The process that started this reader holds the other end of ``lifeline``
    and never writes: when it ends, however it ends, the pipe reads EOF."""
    try:
        lifeline.recv_bytes()
    except (EOFError, OSError):
        pass
    os._exit(0)
