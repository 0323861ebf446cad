"""python -m pipelines template: a pre-filled return template for one unit and period."""
from __future__ import annotations

DESCRIPTION = ("生成某单位某报告期的报表模板。新的报告期：按该单位上一期已报送的报表预填事项清单和上期数；"
               "已报送过的报告期：按其当前版本预填全部指标值和事项，用于更正。数据库不存在时生成空白模板。")
EXAMPLES = [
    "python -m pipelines template --db var/kjhz.duckdb --unit 150200 --period 2019H2 -o 包头市_2019年下半年.xlsx",
    "python -m pipelines template --unit 包头 --period 2019年第三季度 -o 模板/",
]
EXIT_CODES = "退出码：0 已写出模板；2 参数有误；3 程序无法工作（详细信息写入数据库旁的 .log 文件）。"


def arguments(ap) -> None:
    ap.add_argument("--unit", metavar="单位", help="填报单位：代码、全称或简称，如 150200、包头市、包头")
    ap.add_argument("--period", metavar="报告期", help="报告期，如 2019Q3、2019年第三季度、2019年上半年、2019年度")
    ap.add_argument("-o", "--output", metavar="文件", help="输出文件或文件夹（默认：<单位>_<报告期>_科技合作报表.xlsx）")


def run(args, ap) -> int:
    from pathlib import Path

    if not args.unit:
        ap.error("请用 --unit 指定填报单位")
    if not args.period:
        ap.error("请用 --period 指定报告期")

    from ..cli import print_json
    from ..normalise import parse_period
    from ..admin import reference_for
    from ..template import build_template

    ref = reference_for(args.db)
    m = ref.lookups["unit"].resolve(args.unit)
    if not m.ok:
        if m.candidates or m.note:
            ap.error(f"填报单位「{args.unit}」有歧义：{m.note or m.suggestion}")
        hint = f"，是否为「{m.suggestion}」？" if m.suggestion else ""
        ap.error(f"无法识别填报单位「{args.unit}」{hint}")
    period = parse_period(args.period)
    if period is None:
        ap.error(f"无法识别报告期「{args.period}」，请写成 2019Q2、2019年第二季度、2019年上半年或2019年度等形式")
    plan = ref.plan
    if period.end < plan.start or period.start > plan.end:
        ap.error(f"报告期「{period.label}」不在{plan.short_name}的期限（{plan.start}至{plan.end}）内")
    name = f"{ref.unit_name(m.code)}_{period.label}_科技合作报表.xlsx"
    out = Path(args.output or name)
    if out.is_dir():
        out = out / name
    data = build_template(args.db, m.code, period, ref=ref)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    if args.json:
        print_json({"file": str(out), "unit_code": m.code, "period_code": period.code, "bytes": len(data)})
    else:
        print(out)
    return 0
