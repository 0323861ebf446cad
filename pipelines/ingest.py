"""Check and load returns: one file (``ingest_bytes``) or many (``ingest_files``), and their
results as the command line shows them (``text_lines``, ``result_json``).

The command line is ``python -m pipelines ingest`` (pipelines/commands/ingest.py);
``python -m pipelines.ingest`` is the same command.

Example:
    python -m pipelines ingest --db var/kjhz.duckdb returns/2019H1/
    python -m pipelines ingest --db var/kjhz.duckdb --json --dry-run 包头.xlsx
"""
from __future__ import annotations

if __name__ == "__main__":  # `python -m pipelines.ingest`: the command itself, before this module's imports
    from .cli import run_module

    run_module("ingest")

import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable, Iterator

from . import admin
from .checks import CheckedReturn, check_return, file_hash
from .cli import ChineseArgumentParser, argparse_zh  # noqa: F401  (were defined here; kept importable)
from .faults import log_exception
from .issues import SEVERITY_ZH, make_issue
from .normalise import visible
from .files import EXCEL_SUFFIXES, expand  # noqa: F401  (expand was defined here; kept importable)
from .read import DEFAULT_LIMITS, oversized
from .reference import Reference, load_reference
from .store import LoadResult, cleanup_rejected_originals, init_db, save_checked

_PREPARE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="db-prepare")


def ingest_bytes(db_path: Path | str, data: bytes, file_name: str, *, who: str | None = None,
                 source: str = "cli", dry_run: bool = False, ref: Reference | None = None,
                 today: date | None = None, received_at: datetime | None = None,
                 refuse_removals: bool = False, on_wait: Callable[[str], None] | None = None) -> LoadResult:
    """Check one return and, if it has no errors, load it as the current version.

    ``result.removed_items`` names the items of the replaced version the load removes;
    ``refuse_removals`` refuses such a load instead (status "rejected", nothing written).
    """
    return _check_and_save(db_path, data, file_name, who=who, source=source, dry_run=dry_run, ref=ref,
                           today=today, received_at=received_at, refuse_removals=refuse_removals,
                           on_wait=on_wait)[1]


def _check_and_save(db_path: Path | str, data: bytes, file_name: str, *, who: str | None = None,
                    source: str = "cli", dry_run: bool = False, ref: Reference | None = None,
                    today: date | None = None, received_at: datetime | None = None,
                    refuse_removals: bool = False, on_wait: Callable[[str], None] | None = None,
                    before: Callable[[], object] | None = None) -> tuple[CheckedReturn, LoadResult]:
    # the database is opened and its schema checked while the file is being read (after ``before``:
    # housekeeping that needs the database, in the same thread so that it never waits for itself)
    def prepare() -> None:
        if before is not None:
            before()
        init_db(db_path)

    ready = None if dry_run else _PREPARE.submit(prepare)
    checked = check_return(data, file_name, ref=ref, today=today)
    if ready is not None:
        ready.result()
    kwargs = {"on_wait": on_wait} if on_wait is not None else {}
    return checked, save_checked(db_path, checked, data, who=who, source=source, dry_run=dry_run,
                                 received_at=received_at, refuse_removals=refuse_removals, **kwargs)


SKIPPED_ZH = {"other": "已跳过非Excel文件", "temporary": "已跳过临时文件或隐藏文件", "folders": "未读取子文件夹"}


def skipped_lines(skipped: dict[str, list[Path]]) -> list[str]:
    """「已跳过非Excel文件：a.txt、b.pdf」, one line per kind."""
    return [f"{SKIPPED_ZH[k]}：" + "、".join(visible(f.name) for f in skipped[k]) for k in SKIPPED_ZH if skipped.get(k)]


def issue_json(i) -> dict:
    """An Issue in the JSON output: ``Issue.to_dict()`` (sheet, row, column, value, message,
    suggestion, code, and severity and params)."""
    return i.to_dict()


def result_json(r: LoadResult) -> dict:
    return {
        "file": r.file,
        "status": r.status,
        "unit_code": r.unit_code,
        "period_end": r.period_end.isoformat() if r.period_end else None,
        "version": r.version,
        "removed_items": len(r.removed_items),
        "errors": [issue_json(i) for i in r.errors],
        "warnings": [issue_json(i) for i in r.warnings],
    }


STATUS_ZH = {"loaded": "已入库", "rejected": "未通过", "duplicate": "重复文件（已入库过）", "checked": "检查通过（未入库）"}


def where_label(checked: CheckedReturn | None, ref: Reference | None = None) -> str:
    """「包头市 2019年上半年」; an unknown part says so: 「单位未识别 报告期未识别」."""
    unit = checked.unit_code if checked is not None else None
    period = checked.period if checked is not None else None
    if unit:
        ref = ref or load_reference()
        unit = ref.unit_name(unit)
    return f"{unit or '单位未识别'} {period.label if period else '报告期未识别'}"


def text_lines(r: LoadResult, where: str | None = None) -> list[str]:
    """A result as the command line prints it: one line, then one per issue (and its suggestion)."""
    where = where or where_label(None)
    ver = f" 第{r.version}版" if r.version else ""
    removed = ""
    if r.removed_items:
        verb = "删除了" if r.status == "loaded" else "将删除"
        removed = f"，{verb}当前版本中的{len(r.removed_items)}项事项"
    out = [f"{visible(r.file)}: {STATUS_ZH.get(r.status, r.status)} [{where}{ver}] "
           f"错误{len(r.errors)}个，提示{len(r.warnings)}个{removed}"]
    for i in r.errors + r.warnings:
        out.append(f"  [{SEVERITY_ZH.get(i.severity, i.severity)}] {i.message}")
        if i.suggestion and i.suggestion not in i.message:
            out.append(f"         建议：{i.suggestion}")
    return out


def unopenable(f: Path, exc: OSError) -> LoadResult:
    """A file the system would not let us read: that file's error, not the batch's end."""
    detail = {PermissionError: "没有读取权限", IsADirectoryError: "这是一个文件夹",
              FileNotFoundError: "文件已不存在"}.get(type(exc), exc.strerror or "读取失败")
    return LoadResult(file=f.name, status="rejected", unit_code=None, period_end=None, version=None,
                      issues=[make_issue("file-unopenable", value=f.name, detail=detail)])


def annotate_file(out_dir: Path, f: Path, data: bytes, r: LoadResult, db: Path | str) -> bool:
    """Write the annotated copy of a file with issues; a file it cannot draw on is logged and passed
    over (False)."""
    from .annotate import annotate_workbook

    try:
        marked = annotate_workbook(data, f.name, r.issues, log=lambda e, what: log_exception(db, e, what))
    except Exception as exc:  # noqa: BLE001  (any fault of the drawing: logged, the batch goes on)
        log_exception(db, exc, f"annotate {f}")
        return False
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{f.stem}_问题标注.xlsx").write_bytes(marked)
    return True


def ingest_files(db_path: Path | str, files: Iterable[Path], *, who: str | None = None, source: str = "cli",
                 dry_run: bool = False, refuse_removals: bool = False, annotate: Path | str | None = None,
                 ref: Reference | None = None, clean_up: bool = False) -> Iterator[tuple[Path, str, LoadResult]]:
    """Check and load files one after the other: (file, 「包头市 2019年上半年」, result) as each is done.

    Whatever goes wrong with one file is that file's result and the next file is processed: a file
    that cannot be opened is rejected (``file-unopenable``); a checker fault is the file's
    ``internal-error``, its traceback in the log beside the database. ``annotate``: a folder for the
    annotated copies of files with issues (a copy that cannot be drawn is logged and passed over).
    ``clean_up``: first delete the rejected originals past their retention time
    (``store.cleanup_rejected_originals``; not in a dry run), while the first file is being read.
    """
    ref = ref or load_reference()
    admin.apply_from(db_path, ref)  # aliases and settings added on the 系统管理 page
    # the first file that is checked also takes the housekeeping along; a batch with none, here at the end
    housekeeping = (lambda: cleanup_rejected_originals(db_path)) if clean_up and not dry_run else None
    for f in files:
        try:
            size = f.stat().st_size
            # a file over the size limit is refused unread: it never enters memory, nothing is stored
            data = f.read_bytes() if size <= DEFAULT_LIMITS.max_file_bytes else None
        except OSError as exc:
            yield f, where_label(None, ref), unopenable(f, exc)
            continue
        if data is None:
            yield f, where_label(None, ref), LoadResult(file=f.name, status="rejected", unit_code=None,
                                                        period_end=None, version=None,
                                                        issues=[oversized(f.name, size)])
            continue
        checked, r = _check_and_save(db_path, data, f.name, who=who, source=source, dry_run=dry_run, ref=ref,
                                     refuse_removals=refuse_removals, before=housekeeping)
        housekeeping = None
        if checked.failure is not None:  # a bug met on this file: the file is refused, the log has why
            log_exception(db_path, checked.failure, f"ingest {f} ({file_hash(data)})")
        if annotate and r.issues and not annotate_file(Path(annotate), f, data, r, db_path):
            print(f"{f.name}：无法写出标注工作簿（详细信息已写入日志）", file=sys.stderr)
        yield f, where_label(checked, ref), r
    if housekeeping is not None:
        housekeeping()


def report_json(results: Iterable[LoadResult]) -> dict:
    """The command line's ``--json``: ``{"files": [result_json(r), ...]}``."""
    return {"files": [result_json(r) for r in results]}


def main(argv: list[str] | None = None) -> int:
    """``python -m pipelines.ingest`` in-process: the same as ``python -m pipelines ingest``."""
    from .cli import run_command

    return run_command("ingest", argv, prog="python -m pipelines.ingest")
