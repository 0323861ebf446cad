"""When the tool itself cannot work: one Chinese line for people, the traceback in a log.

A file's own faults are that file's issues (``checks``); what is left is the
tool's: the database busy past its timeout, a read-only database or folder,
a full disk, a bug. Every command line wraps its work in
``exit_on_tool_failure(db)``: such a failure prints ONE Chinese line on
stderr and ends with exit status 3, and its traceback goes to the log file
beside the database, ``<db>.log`` (e.g. ``var/kjhz.duckdb.log``). When that
folder cannot be written either, the log goes to ``<temp dir>/kjhz-logs/``.
Pages use ``log_exception`` and ``describe`` the same way (same log).

Exit statuses of every command: 0 all done, 1 some file rejected, 2 bad
usage, 3 the tool could not work (``EXIT_*`` below).
"""
from __future__ import annotations

import errno
import logging
import os
import sys
import tempfile
import traceback
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_TOOL = 0, 1, 2, 3

LOGGER = logging.getLogger("kjhz")


def log_path(db_path: Path | str) -> Path:
    """``<db>.log`` beside the database."""
    p = Path(db_path)
    return p.with_name(p.name + ".log")


def _fallback_log(db_path: Path | str) -> Path:
    return Path(tempfile.gettempdir()) / "kjhz-logs" / log_path(db_path).name


def log_exception(db_path: Path | str, exc: BaseException, context: str = "") -> Path | None:
    """Append ``exc``'s traceback (with time and context) to the database's log; the log's path.

    Never raises: when neither the log beside the database nor the fallback in
    the temp folder can be written, returns None.
    """
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    head = f"=== {datetime.now():%Y-%m-%d %H:%M:%S} pid {os.getpid()} {context}".rstrip()
    for target in (log_path(db_path), _fallback_log(db_path)):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "a", encoding="utf-8") as fh:
                fh.write(f"{head}\n{text}\n")
            return target
        except OSError:
            continue
    return None


def _is_no_space(exc: BaseException) -> bool:
    return (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)) \
        or "no space left" in str(exc).lower()


def _is_read_only(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return True
    msg = str(exc).lower()
    return "permission denied" in msg or "read-only" in msg or "read only" in msg


def describe(exc: BaseException, db_path: Path | str | None = None) -> str:
    """What went wrong, in one Chinese sentence a user can act on (no traceback)."""
    from .store import BusyError  # late: store imports the checker

    where = f"数据库 {db_path} " if db_path else "数据库"
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:  # the cause may say more than the wrapper
        seen.add(id(e))
        if isinstance(e, BusyError):
            return f"{where}一直被其他任务占用，等待超时，请稍后再试"
        if _is_no_space(e):
            return f"磁盘空间已满，无法写入{where}或其文件夹，请清理磁盘后再试"
        if _is_read_only(e):
            return f"无法写入{where.rstrip()}：文件或所在文件夹是只读的（没有写权限），请检查权限或换一个位置"
        if isinstance(e, (FileNotFoundError, NotADirectoryError, FileExistsError)):
            return f"找不到{where}所在的文件夹，或其路径中有一段不是文件夹：{getattr(e, 'filename', '') or e}"
        e = e.__cause__ or e.__context__
    return "程序内部错误，未能完成"


def tool_failure_line(exc: BaseException, db_path: Path | str | None, log: Path | None) -> str:
    """「错误：……（详细信息已写入日志 …）」"""
    tail = f"（详细信息已写入日志 {log}）" if log else "（日志也无法写入）"
    return f"错误：{describe(exc, db_path)}{tail}"


@contextmanager
def exit_on_tool_failure(db_path: Path | str, command: str = "") -> Iterator[None]:
    """Any exception inside -> one Chinese line on stderr, the traceback in ``<db>.log``, exit status 3.

    ``SystemExit`` (usage errors: 2) and Ctrl-C pass through unchanged.
    """
    try:
        yield
    except (SystemExit, KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:
        log = log_exception(db_path, exc, command or " ".join(sys.argv))
        try:
            print(tool_failure_line(exc, db_path, log), file=sys.stderr, flush=True)
        except OSError:
            pass
        raise SystemExit(EXIT_TOOL) from None
