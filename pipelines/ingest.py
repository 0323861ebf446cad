"""Check and load returns: the library call and the command line.

Example:
    python -m pipelines.ingest --db var/kjhz.duckdb returns/2019H1/
    python -m pipelines.ingest --db var/kjhz.duckdb --json --dry-run 包头.xlsx

Exit status: 0 when nothing was rejected, 1 when something was, 2 on bad
arguments, 3 when the tool itself could not work (database busy past its
timeout, read-only, disk full, a bug): one Chinese line on stderr, the
traceback in ``<db>.log`` (``pipelines.faults``). Whatever goes wrong with one
file is that file's error, and the next file is processed. Messages, usage
and ``-h`` help are in Chinese (``ChineseArgumentParser``).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

from .checks import CheckedReturn, check_return, file_hash
from .faults import EXIT_OK, EXIT_REJECTED, exit_on_tool_failure, log_exception
from .issues import SEVERITY_ZH, make_issue
from .read import EXCEL_SUFFIXES
from .reference import Reference, load_reference
from .store import DEFAULT_DB, LoadResult, init_db, save_checked

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
                    refuse_removals: bool = False,
                    on_wait: Callable[[str], None] | None = None) -> tuple[CheckedReturn, LoadResult]:
    # the database is opened and its schema checked while the file is being read
    ready = None if dry_run else _PREPARE.submit(init_db, db_path)
    checked = check_return(data, file_name, ref=ref, today=today)
    if ready is not None:
        ready.result()
    kwargs = {"on_wait": on_wait} if on_wait is not None else {}
    return checked, save_checked(db_path, checked, data, who=who, source=source, dry_run=dry_run,
                                 received_at=received_at, refuse_removals=refuse_removals, **kwargs)


def ingest_path(db_path: Path | str, path: Path | str, **kwargs) -> LoadResult:
    p = Path(path)
    return ingest_bytes(db_path, p.read_bytes(), p.name, **kwargs)


def expand(paths: Iterable[str | Path], skipped: dict[str, list[Path]] | None = None) -> list[Path]:
    """Files as given; folders expanded to their Excel files in file-name order.

    What a folder holds besides is not read; pass ``skipped`` to learn what:
    ``{"other": [...], "temporary": [...], "folders": [...]}`` (non-Excel files,
    Excel's ``~$`` lock files and hidden files, subfolders).
    """
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = []
            for f in sorted(p.iterdir(), key=lambda f: f.name):
                if f.is_dir():
                    kind = "folders"
                elif f.name.startswith(("~$", ".")):
                    kind = "temporary"
                elif f.suffix.lower() not in EXCEL_SUFFIXES:
                    kind = "other"
                else:
                    files.append(f)
                    continue
                if skipped is not None:
                    skipped.setdefault(kind, []).append(f)
            out.extend(files)
        else:
            out.append(p)
    return out


SKIPPED_ZH = {"other": "已跳过非Excel文件", "temporary": "已跳过临时文件或隐藏文件", "folders": "未读取子文件夹"}


def skipped_lines(skipped: dict[str, list[Path]]) -> list[str]:
    """「已跳过非Excel文件：a.txt、b.pdf」, one line per kind."""
    return [f"{SKIPPED_ZH[k]}：" + "、".join(f.name for f in skipped[k]) for k in SKIPPED_ZH if skipped.get(k)]


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


def _print_text(r: LoadResult, out, where: str | None = None) -> None:
    where = where or where_label(None)
    ver = f" 第{r.version}版" if r.version else ""
    removed = ""
    if r.removed_items:
        verb = "删除了" if r.status == "loaded" else "将删除"
        removed = f"，{verb}当前版本中的{len(r.removed_items)}项事项"
    print(f"{r.file}: {STATUS_ZH.get(r.status, r.status)} [{where}{ver}] "
          f"错误{len(r.errors)}个，提示{len(r.warnings)}个{removed}", file=out)
    for i in r.errors + r.warnings:
        tag = SEVERITY_ZH.get(i.severity, i.severity)
        print(f"  [{tag}] {i.message}", file=out)
        if i.suggestion and i.suggestion not in i.message:
            print(f"         建议：{i.suggestion}", file=out)


# --------------------------------------------------------------------------
# Command line
def _width(text: str) -> int:
    """Columns a terminal gives ``text``: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class _ChineseFormatter(argparse.RawDescriptionHelpFormatter):
    """「用法：」 and help columns aligned by display width (argparse counts characters)."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)

    def add_argument(self, action):
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:
            inv = self._format_action_invocation(action)
            self._action_max_length = max(self._action_max_length, _width(inv) + self._current_indent)

    def _format_action(self, action):
        text = super()._format_action(action)
        inv = self._format_action_invocation(action)
        extra = _width(inv) - len(inv)
        head = " " * self._current_indent + inv
        if extra and text.startswith(head) and not text.startswith(head + "\n"):
            first, sep, rest = text.partition("\n")
            pad = len(first) - len(head) - len(first[len(head):].lstrip(" "))
            first = head + " " * max(2, pad - extra) + first[len(head):].lstrip(" ")
            text = first + sep + rest
        return text


# argparse's own messages (Python 3.11-3.13 wording) -> Chinese; anything else passes through.
_ARGPARSE_ZH = [
    (re.compile(r"^the following arguments are required: (.+)$"), "缺少必需的参数：{0}"),
    (re.compile(r"^unrecognized arguments: (.+)$"), "无法识别的参数：{0}"),
    (re.compile(r"^argument (.+?): invalid choice: (.+?) \(choose from (.+)\)$"), "参数 {0} 的值 {1} 无效，可选：{2}"),
    (re.compile(r"^argument (.+?): expected one argument$"), "参数 {0} 后面需要一个值"),
    (re.compile(r"^argument (.+?): expected at least one argument$"), "参数 {0} 后面至少需要一个值"),
    (re.compile(r"^argument (.+?): expected (\d+) arguments?$"), "参数 {0} 后面需要{1}个值"),
    (re.compile(r"^argument (.+?): ignored explicit argument (.+)$"), "参数 {0} 不接受值 {1}"),
    (re.compile(r"^argument (.+?): invalid (\w+) value: (.+)$"), "参数 {0} 的值 {2} 无效"),
    (re.compile(r"^argument (.+?): not allowed with argument (.+)$"), "参数 {0} 不能与 {1} 同时使用"),
    (re.compile(r"^ambiguous option: (.+?) could match (.+)$"), "选项 {0} 有歧义，可能是：{1}"),
    (re.compile(r"^argument (.+?): (.+)$"), "参数 {0}：{1}"),
]


def argparse_zh(message: str) -> str:
    """One of argparse's English error messages in Chinese (others unchanged)."""
    for rx, template in _ARGPARSE_ZH:
        m = rx.match(message)
        if m:
            return template.format(*m.groups())
    return message


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that speaks Chinese: 「用法：」, section titles, ``-h`` and
    「错误：…」 messages (argparse's own translated). Exit status 2 on bad usage, as argparse."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _ChineseFormatter)
        add_help = kwargs.pop("add_help", True)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出")

    def format_help(self) -> str:
        text = super().format_help()
        for title in ("位置参数", "选项"):  # argparse ends section titles with an ASCII colon
            text = text.replace(f"\n{title}:\n", f"\n{title}：\n")
        return text

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"错误：{argparse_zh(message)}\n")


def main(argv: list[str] | None = None) -> int:
    ap = ChineseArgumentParser(
        prog="python -m pipelines.ingest",
        description="检查并载入报表（.xlsx/.xlsm/.xls）。\n可给出文件或文件夹；文件夹中的Excel文件按文件名顺序载入，"
                    "其他文件跳过并列出。",
        epilog="示例：\n"
               "  python -m pipelines.ingest --db var/kjhz.duckdb 报表/2019年上半年/\n"
               "  python -m pipelines.ingest --db var/kjhz.duckdb --dry-run --annotate 标注/ 包头市.xlsx\n\n"
               "退出码：0 全部通过（可有提示）；1 有报表未通过检查；2 参数有误；\n"
               "3 程序无法工作（数据库被占用超时、只读、磁盘已满或程序出错），详细信息写入数据库旁的 .log 文件。")
    ap.add_argument("--db", default=str(DEFAULT_DB), help="DuckDB 数据库文件（不存在则创建）")
    ap.add_argument("--json", action="store_true", help="以 JSON 输出结果")
    ap.add_argument("--dry-run", action="store_true", help="只检查，不载入")
    ap.add_argument("--annotate", metavar="文件夹", help="为有问题的文件在该文件夹中写出标注工作簿")
    ap.add_argument("--user", default=None, help="记录为报送人（默认：命令行）")
    ap.add_argument("--refuse-removals", action="store_true",
                    help="拒绝载入会删除当前版本中事项的报表（默认照常载入，并报告删除了几项）")
    ap.add_argument("paths", nargs="+", metavar="文件或文件夹", help="报表文件，或存放报表的文件夹")
    args = ap.parse_args(argv)
    with exit_on_tool_failure(args.db, "ingest"):
        return _main(ap, args)


def _unopenable(f: Path, exc: OSError) -> tuple[None, LoadResult]:
    """A file the system would not let us read: that file's error, not the batch's end."""
    detail = {PermissionError: "没有读取权限", IsADirectoryError: "这是一个文件夹",
              FileNotFoundError: "文件已不存在"}.get(type(exc), exc.strerror or "读取失败")
    return None, LoadResult(file=f.name, status="rejected", unit_code=None, period_end=None, version=None,
                            issues=[make_issue("file-unopenable", value=f.name, detail=detail)])


def _annotate(out_dir: Path, f: Path, data: bytes, r: LoadResult, db: str) -> None:
    """The annotated copy of a file with issues; a file it cannot draw on is logged and passed over."""
    from .annotate import annotate_workbook

    try:
        marked = annotate_workbook(data, f.name, r.issues)
    except Exception as exc:
        log_exception(db, exc, f"annotate {f}")
        print(f"{f.name}：无法写出标注工作簿（详细信息已写入日志）", file=sys.stderr)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{f.stem}_问题标注.xlsx").write_bytes(marked)


def _print_results(results: list[LoadResult], wheres: list[str], as_json: bool) -> None:
    if as_json:
        json.dump({"files": [result_json(r) for r in results]}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for r, where in zip(results, wheres):
            _print_text(r, sys.stdout, where)
        n = {s: sum(r.status == s for r in results) for s in STATUS_ZH}
        print(f"共{len(results)}个文件：已入库{n['loaded']}，未通过{n['rejected']}，重复{n['duplicate']}"
              + (f"，检查通过{n['checked']}" if n["checked"] else ""))
    sys.stdout.flush()


def _main(ap: ChineseArgumentParser, args: argparse.Namespace) -> int:
    from .store import cleanup_rejected_originals

    if not args.dry_run:
        cleanup_rejected_originals(args.db)

    skipped: dict[str, list[Path]] = {}
    files = expand(args.paths, skipped)
    for line in skipped_lines(skipped):
        print(line, file=sys.stderr)
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        ap.error("找不到文件：" + "、".join(missing))
    if not files:
        ap.error("没有找到 Excel 文件")

    results: list[LoadResult] = []
    wheres: list[str] = []
    ref = load_reference()
    show_bar = sys.stderr.isatty() and len(files) > 1
    bar = None
    if show_bar:
        from tqdm import tqdm
        bar = tqdm(total=len(files), unit="个文件", desc="载入报表", file=sys.stderr)
    finished = False
    try:
        for f in files:
            try:
                data = f.read_bytes()
            except OSError as exc:
                checked, r = _unopenable(f, exc)
                data = b""
            else:
                checked, r = _check_and_save(args.db, data, f.name, who=args.user or "命令行", source="cli",
                                             dry_run=args.dry_run, ref=ref,
                                             refuse_removals=args.refuse_removals)
                if checked.failure is not None:  # a bug met on this file: the file is refused, the log has why
                    log_exception(args.db, checked.failure, f"ingest {f} ({file_hash(data)})")
            results.append(r)
            wheres.append(where_label(checked, ref))
            if args.annotate and r.issues and data:
                _annotate(Path(args.annotate), f, data, r, args.db)
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f.name[:30])
        finished = True
    finally:  # also when the tool fails half-way: say what was done before it
        if bar is not None:
            bar.close()
        if finished or results:
            _print_results(results, wheres, args.json)
    return EXIT_REJECTED if any(r.status == "rejected" for r in results) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
