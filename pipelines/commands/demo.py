"""python -m pipelines demo: build the demo database through the real pipeline."""
from __future__ import annotations

DESCRIPTION = "生成演示报表并经由正式的检查和载入流程建成演示数据库（演示数据，非真实报送）。"
EXAMPLES = [
    "python -m pipelines demo --db /tmp/demo.duckdb",
    "python -m pipelines demo --db /tmp/demo.duckdb --keep-files /tmp/demo-returns",
]
EXIT_CODES = "退出码：0 已生成；2 参数有误；3 程序无法工作（详细信息写入数据库旁的 .log 文件）。"
OWN_DB = True  # --db is required: a demo never lands in the default database by accident


def arguments(ap) -> None:
    from ..cli import add_db

    add_db(ap, required=True, help="要生成的 DuckDB 数据库文件（必填）")
    ap.add_argument("--keep-files", metavar="文件夹", help="同时把生成的演示报表保存到此文件夹")


def run(args, ap) -> int:
    import sys
    from pathlib import Path

    from ..cli import print_json
    from ..demo import build_demo

    quiet = args.json
    n = build_demo(args.db, keep_dir=Path(args.keep_files) if args.keep_files else None,
                   progress=None if quiet else (lambda i, t, name: print(f"[{i}/{t}] {name}", file=sys.stderr)))
    if args.json:
        print_json({"db": str(args.db), "returns": n, "kept_in": args.keep_files})
    else:
        print(f"已载入 {n} 份演示报表到 {args.db}")
    return 0
