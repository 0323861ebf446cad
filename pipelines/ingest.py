"""Check and load returns: the library call and the command line.

Example:
    python -m pipelines.ingest --db var/kjhz.duckdb returns/2019H1/
    python -m pipelines.ingest --db var/kjhz.duckdb --json --dry-run 包头.xlsx

Exit status: 0 when nothing was rejected, 1 when something was, 2 on bad
arguments.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

from .checks import check_return
from .read import EXCEL_SUFFIXES
from .reference import Reference
from .store import DEFAULT_DB, LoadResult, save_checked


def ingest_bytes(db_path: Path | str, data: bytes, file_name: str, *, who: str | None = None,
                 source: str = "cli", dry_run: bool = False, ref: Reference | None = None,
                 today: date | None = None, received_at: datetime | None = None,
                 on_wait: Callable[[str], None] | None = None) -> LoadResult:
    """Check one return and, if it has no errors, load it as the current version."""
    checked = check_return(data, file_name, ref=ref, today=today)
    kwargs = {"on_wait": on_wait} if on_wait is not None else {}
    return save_checked(db_path, checked, data, who=who, source=source, dry_run=dry_run,
                        received_at=received_at, **kwargs)


def ingest_path(db_path: Path | str, path: Path | str, **kwargs) -> LoadResult:
    p = Path(path)
    return ingest_bytes(db_path, p.read_bytes(), p.name, **kwargs)


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders expanded to their Excel files in file-name order."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = [f for f in p.iterdir() if f.is_file() and f.suffix.lower() in EXCEL_SUFFIXES
                     and not f.name.startswith(("~$", "."))]
            out.extend(sorted(files, key=lambda f: f.name))
        else:
            out.append(p)
    return out


def issue_json(i) -> dict:
    return {"sheet": i.sheet, "row": i.row, "column": i.column, "value": i.value, "message": i.message,
            "suggestion": i.suggestion, "code": i.code}


def result_json(r: LoadResult) -> dict:
    return {
        "file": r.file,
        "status": r.status,
        "unit_code": r.unit_code,
        "period_end": r.period_end.isoformat() if r.period_end else None,
        "version": r.version,
        "errors": [issue_json(i) for i in r.errors],
        "warnings": [issue_json(i) for i in r.warnings],
    }


STATUS_ZH = {"loaded": "已入库", "rejected": "未通过", "duplicate": "重复文件（已入库过）", "checked": "检查通过（未入库）"}


def _print_text(r: LoadResult, out) -> None:
    where = f"{r.unit_code or '?'} {r.period_end or '?'}"
    ver = f" 第{r.version}版" if r.version else ""
    print(f"{r.file}: {STATUS_ZH.get(r.status, r.status)} [{where}{ver}] "
          f"错误{len(r.errors)}个，提示{len(r.warnings)}个", file=out)
    for i in r.errors + r.warnings:
        tag = "错误" if i.severity == "error" else "提示"
        print(f"  [{tag}] {i.message}", file=out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipelines.ingest",
                                 description="检查并载入报表（.xlsx/.xlsm/.xls）。文件夹按文件名顺序载入。")
    ap.add_argument("--db", default=str(DEFAULT_DB), help="DuckDB 数据库文件（不存在则创建）")
    ap.add_argument("--json", action="store_true", help="以 JSON 输出结果")
    ap.add_argument("--dry-run", action="store_true", help="只检查，不载入")
    ap.add_argument("--annotate", metavar="DIR", help="为有问题的文件在 DIR 中写出标注工作簿")
    ap.add_argument("--user", default=None, help="记录为报送人（默认：命令行）")
    ap.add_argument("paths", nargs="+", metavar="FILE_OR_FOLDER")
    args = ap.parse_args(argv)

    files = expand(args.paths)
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        ap.error("找不到文件：" + "、".join(missing))
    if not files:
        ap.error("没有找到 Excel 文件")

    results: list[LoadResult] = []
    show_bar = sys.stderr.isatty() and len(files) > 1
    bar = None
    if show_bar:
        from tqdm import tqdm
        bar = tqdm(total=len(files), unit="个文件", desc="载入报表", file=sys.stderr)
    for f in files:
        data = f.read_bytes()
        r = ingest_bytes(args.db, data, f.name, who=args.user or "命令行", source="cli", dry_run=args.dry_run)
        results.append(r)
        if args.annotate and r.issues:
            from .annotate import annotate_workbook
            out_dir = Path(args.annotate)
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / f"{f.stem}_问题标注.xlsx").write_bytes(annotate_workbook(data, f.name, r.issues))
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f.name[:30])
        elif not args.json:
            pass
    if bar is not None:
        bar.close()
    if args.json:
        json.dump({"files": [result_json(r) for r in results]}, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        for r in results:
            _print_text(r, sys.stdout)
        n = {s: sum(r.status == s for r in results) for s in STATUS_ZH}
        print(f"共{len(results)}个文件：已入库{n['loaded']}，未通过{n['rejected']}，重复{n['duplicate']}"
              + (f"，检查通过{n['checked']}" if n["checked"] else ""))
    return 1 if any(r.status == "rejected" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
