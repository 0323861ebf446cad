"""python -m pipelines backup: copy the database and the original files, or check a backup."""
from __future__ import annotations

DESCRIPTION = "备份数据库和原始报表文件（平台运行时也可以执行）；或用 --check 检查一个备份文件夹是否完整。"
EXAMPLES = [
    "python -m pipelines backup --db var/kjhz.duckdb --out /backup/kjhz",
    "python -m pipelines backup --check /backup/kjhz/kjhz-20261202-210000-000000",
]
EXIT_CODES = "退出码：0 完成；1 备份不完整；2 参数有误或找不到数据库；3 程序无法工作（详细信息写入数据库旁的 .log 文件）。"
OWN_DB = True  # --db is needed to back up, not to check


def arguments(ap) -> None:
    ap.add_argument("--db", default=None, metavar="数据库", help="数据库文件，如 var/kjhz.duckdb")
    ap.add_argument("--out", metavar="文件夹", help="备份存放的文件夹；每次备份在其中建一个带时间的子文件夹")
    ap.add_argument("--check", metavar="文件夹", help="检查一个备份文件夹是否完整（不做备份）")


def run(args, ap) -> int:
    import json
    import sys

    from ..backup import MANIFEST, backup, check
    from ..cli import print_json

    if args.check:
        problems = check(args.check)
        if args.json:
            print_json({"backup": args.check, "complete": not problems, "problems": problems})
        else:
            for p in problems:
                print(p, file=sys.stderr)
            print("备份完整，可以恢复。" if not problems else f"备份有{len(problems)}个问题。")
        return 0 if not problems else 1
    if not args.db or not args.out:
        ap.error("需要 --db 和 --out（或用 --check 检查备份）")
    from ..accounts import Account

    try:
        folder = backup(args.db, args.out, who=Account.operator())
    except FileNotFoundError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    m = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    n_files, n_returns = len(m["sha256"]) - 1, m["view_rows"].get("v_submissions", 0)
    if args.json:
        print_json({"backup": str(folder), "files": n_files, "returns": n_returns})
    else:
        print(f"已备份到 {folder}（{n_files}个文件；当前报表 {n_returns} 份）")
    return 0
