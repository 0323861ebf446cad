"""python -m pipelines briefing: the briefing pack (Word document and a zip of PNGs) into a folder."""
from __future__ import annotations

DESCRIPTION = "生成简报：Word 文档（.docx）和全部图表（PNG，zip），写入指定文件夹（与「简报」页同一内容）。"
EXAMPLES = [
    "python -m pipelines briefing --db var/kjhz.duckdb --as-of 2019-06-30 --out 简报/",
    "python -m pipelines briefing --db var/kjhz.duckdb --as-of 2019-06-30 --unit 包头市 --out 简报/ --json",
]
EXIT_CODES = "退出码：0 已生成；2 参数有误；3 程序无法工作（详细信息写入数据库旁的 .log 文件）。"
OWN_DB = True


def arguments(ap) -> None:
    from ..cli import add_db

    add_db(ap, required=True, help="数据库文件（必填）")
    ap.add_argument("--as-of", required=True, metavar="日期", help="截止日期，如 2019-06-30")
    ap.add_argument("--unit", default=None, metavar="单位", help="单位编码或名称（如 150200、包头市）；不写为全区")
    ap.add_argument("--out", required=True, metavar="文件夹", help="输出文件夹（不存在时新建）")


def run(args, ap) -> int:
    from pathlib import Path

    from ..briefing import write_pack
    from ..cli import print_json
    from ..progress import scope_arguments
    from ..admin import reference_for

    as_of, unit = scope_arguments(ap, args, reference_for(args.db))
    paths = write_pack(args.db, as_of, unit, Path(args.out))
    if args.json:
        print_json({"as_of": as_of.isoformat(), "unit": unit, "files": [str(p) for p in paths]})
    else:
        print("\n".join(str(p) for p in paths))
    return 0
