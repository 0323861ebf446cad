"""python -m pipelines ingest: check and load returns (files or folders)."""
from __future__ import annotations

import sys
from pathlib import Path

DESCRIPTION = ("检查并载入报表（.xlsx/.xlsm/.xls）。\n可给出文件或文件夹；文件夹中的Excel文件按文件名顺序载入，"
               "其他文件跳过并列出。\n重新报送的报表如果少列了当前版本中的事项，照常载入并说明删除了几项；"
               "加 --refuse-removals 则拒绝载入。")
EXAMPLES = [
    "python -m pipelines ingest --db var/kjhz.duckdb 报表/2019年上半年/",
    "python -m pipelines ingest --db var/kjhz.duckdb --dry-run --annotate 标注/ 包头市.xlsx",
    "python -m pipelines ingest --db var/kjhz.duckdb --json --refuse-removals 报表/",
]
EXIT_CODES = ("退出码：0 全部通过（可有提示）；1 有报表未通过检查；2 参数有误；\n"
              "3 程序无法工作（数据库被占用超时、只读、磁盘已满或程序出错），详细信息写入数据库旁的 .log 文件。")


def arguments(ap) -> None:
    ap.add_argument("--dry-run", action="store_true", help="只检查，不载入")
    ap.add_argument("--annotate", metavar="文件夹", help="为有问题的文件在该文件夹中写出标注工作簿")
    ap.add_argument("--user", default=None, help="记录为报送人（默认：命令行）")
    ap.add_argument("--refuse-removals", action="store_true",
                    help="拒绝载入会删除当前版本中事项的报表（默认照常载入，并报告删除了几项）")
    ap.add_argument("paths", nargs="+", metavar="文件或文件夹", help="报表文件，或存放报表的文件夹")


def run(args, ap) -> int:
    from ..files import expand
    from ..reader_pool import READER

    skipped: dict[str, list[Path]] = {}
    files = expand(args.paths, skipped)
    if files and all(f.is_file() for f in files):
        # a head start: the reader process starts (fastexcel, pyarrow) and reads the first file
        # while this process imports pandas, DuckDB and the checks; the file is still checked
        # as always before its reading is used (read.read_workbook)
        READER.prefetch(files[0])

    from ..cli import print_json
    from ..faults import EXIT_OK, EXIT_REJECTED
    from ..ingest import STATUS_ZH, ingest_files, report_json, skipped_lines, text_lines

    for line in skipped_lines(skipped):
        print(line, file=sys.stderr)
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        ap.error("找不到文件：" + "、".join(missing))
    if not files:
        ap.error("没有找到 Excel 文件")

    done: list[tuple[str, object]] = []  # (where, result)
    bar = None
    if sys.stderr.isatty() and len(files) > 1:
        from tqdm import tqdm
        bar = tqdm(total=len(files), unit="个文件", desc="载入报表", file=sys.stderr)
    finished = False
    try:
        for f, where, r in ingest_files(args.db, files, who=args.user or "命令行", source="cli",
                                        dry_run=args.dry_run, refuse_removals=args.refuse_removals,
                                        annotate=args.annotate, clean_up=True):
            done.append((where, r))
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f.name[:30])
        finished = True
    finally:  # also when the tool fails half-way: say what was done before it
        if bar is not None:
            bar.close()
        if finished or done:
            results = [r for _, r in done]
            if args.json:
                print_json(report_json(results))
            else:
                for where, r in done:
                    print("\n".join(text_lines(r, where)))
                n = {s: sum(r.status == s for r in results) for s in STATUS_ZH}
                print(f"共{len(results)}个文件：已入库{n['loaded']}，未通过{n['rejected']}，重复{n['duplicate']}"
                      + (f"，检查通过{n['checked']}" if n["checked"] else ""))
            sys.stdout.flush()
    return EXIT_REJECTED if any(r.status == "rejected" for _, r in done) else EXIT_OK


