"""python -m pipelines restore: bring a backup back (checked first; never overwrites without --force)."""
from __future__ import annotations

DESCRIPTION = ("从备份恢复数据库和原始报表文件。先按备份清单检查；目标位置已有数据库时不覆盖，"
               "除非加 --force（原有的先移到 archive/ 中保存）。")
EXAMPLES = [
    "python -m pipelines restore --from /backup/kjhz/kjhz-20261202-210000-000000 --db /data/restored/kjhz.duckdb",
]
EXIT_CODES = "退出码：0 已恢复；1 备份不完整或目标已有数据库；2 参数有误；3 程序无法工作（详细信息写入数据库旁的 .log 文件）。"
OWN_DB = True  # --db is required: where to restore to


def arguments(ap) -> None:
    from ..cli import add_db

    ap.add_argument("--from", dest="src", required=True, metavar="文件夹", help="备份文件夹（含 manifest.json）")
    add_db(ap, required=True, help="恢复到的数据库文件（建议新位置）")
    ap.add_argument("--force", action="store_true", help="目标已有数据库时也恢复（原有的先移到 archive/）")


def run(args, ap) -> int:
    import sys

    from ..cli import print_json
    from ..restore import RestoreRefused, restore

    try:
        restore(args.src, args.db, force=args.force)
    except RestoreRefused as exc:
        if args.json:
            print_json({"restored": False, "db": str(args.db), "message": str(exc)})
        print(str(exc), file=sys.stderr)
        return 1
    if args.json:
        print_json({"restored": True, "db": str(args.db)})
    else:
        print(f"已恢复到 {args.db}")
    return 0
