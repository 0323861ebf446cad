"""总览: the plan's 14 indicators against target and elapsed time at an as-of date."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pipelines import queries
from pipelines.export import PERCENT
from pipelines.figures import STATUS_COLORS, progress_bars
from pipelines.progress import coverage_phrase, data_end, indicator_sentence, sentences_for, summary_sentence
from pipelines.vocab import STATE_CURRENT, STATE_NO_RETURN, STATUS_ORDER, STATUS_PARTIAL, VERDICTS, pct, quantity
from ui import filters
from ui.common import (
    excel_bytes, figure, fmt_date, page_header, period_label, print_view, q, reference, require_data,
    show_chart, show_table, table_height,
)

ref = reference()
print_view()
page_header("总览", ref.plan.name)
require_data("指标进展")

flt = filters.sidebar(show=("as_of", "unit"))
as_of = flt.as_of
scope = flt.scope()
table = q(queries.progress_table, as_of, units=list(flt.units) or None)
basis = q(queries.return_basis, as_of)
if flt.units:
    basis = basis[basis["unit_code"].isin(flt.units)].reset_index(drop=True)
    st.info(f"只统计所选单位（{scope}）的合计：比例为占全区目标的比例，不判断完成状态（目标未分解到单位）。"
            "清除左侧「填报单位」筛选可看全区。", icon=":material/filter_alt:")
n_units = len(basis)
n_current = int((basis["state"] == STATE_CURRENT).sum())
n_missing = int((basis["state"] == STATE_NO_RETURN).sum())
coverage = coverage_phrase(basis)
figures_end = data_end(table)

st.markdown(f"#### {summary_sentence(table, as_of, scope, coverage if n_current < n_units else None)}")
if figures_end is not None and figures_end < as_of:
    st.caption(f"还没有报告期末为{fmt_date(as_of)}（含所选日期的报告期）的报表：表中数字来自截至{fmt_date(figures_end)}及更早的报表"
               "（沿用，见下方「数据依据」）；时间进度按所选日期计算。")
partial = table[table["status"] == STATUS_PARTIAL]
if len(partial):
    st.warning(f"{len(partial)}项指标有单位缺报（数字只来自{n_units}个填报单位中的"
               f"{partial['units_reporting'].min()}～{partial['units_reporting'].max()}个），"
               "这些指标只列数字、不判断超前或滞后。", icon=":material/rule:")
cols = st.columns(6)
cols[0].metric("时间进度", pct(table["time_progress"].iloc[0]))
if flt.units:  # a part of the region: shares of the region's target, no verdicts
    reported = table.dropna(subset=["value"])
    cols[1].metric("所选单位", quantity(len(flt.units), "个"))
    cols[2].metric("有数据的指标", quantity(len(reported), "项"))
    cols[3].metric("占全区目标最高", pct(reported["completion_rate"].max()) if len(reported) else "—")
    cols[4].metric("占全区目标最低", pct(reported["completion_rate"].min()) if len(reported) else "—")
else:
    counts = table["status"].value_counts()
    for c, s in zip(cols[1:], VERDICTS):
        c.metric(s, quantity(int(counts.get(s, 0)), "项"))
cols[5].metric("当期报送单位", f"{n_current}/{n_units}",
               help=f"报告期末为 {fmt_date(as_of)}（含所选日期的报告期）的报表；其余单位的数字沿用（结转）更早报告期，或缺报")

show_chart(figure(progress_bars, table, as_of, scope, coverage), key="overview_bars")

st.subheader("指标进展表")
subset = bool(flt.units)


def source_periods(first, last) -> str:
    """Which period ends the figures come from: one date, or the range when some are carried."""
    if last is None or pd.isna(last):
        return "—"
    return fmt_date(last) if first == last else f"{fmt_date(first)}～{fmt_date(last)}"


show = pd.DataFrame({
    "编码": table["indicator_code"],
    "指标": table["name"],
    "计量单位": table["measure"],
    "累计值": table["value"].map(lambda v: "—" if pd.isna(v) else f"{int(v):,}"),
    "基期值": table["baseline"].astype(int),
    "目标值": table["target"].astype(int),
    ("占全区目标" if subset else "完成率"): table["completion_rate"].map(pct),
    "时间进度": table["time_progress"].map(pct),
    "差距（百分点）": [("—" if pd.isna(g) or st_ not in VERDICTS else f"{g:+.1f}")
                  for g, st_ in zip(table["gap_pp"], table["status"])],
    "状态": table["status"],
    "数据来自": [source_periods(a, b) for a, b in zip(table["earliest_period_end"], table["latest_period_end"])],
    "有数字单位": [f"{r}/{t}" for r, t in zip(table["units_reporting"], table["units_total"])],
    "当期单位数": table["units_current"],
    "结转单位数": table["units_carried"],
})


def _colour(v: str) -> str:
    c = STATUS_COLORS.get(v)
    return f"background-color: {c}; color: white; font-weight: 600" if c and v in STATUS_ORDER[:4] else ""


show_table(show.style.map(_colour, subset=["状态"]), hide_index=True, height=table_height(len(show)),
           key_columns=["指标", "累计值", "目标值", "占全区目标" if subset else "完成率", "时间进度", "差距（百分点）", "状态"])
st.caption("完成率 =（累计值 − 基期值）÷（目标值 − 基期值）；时间进度 = 计划已过月数 ÷ 36个月（月内按天折算）；"
           "差距 = 完成率 − 时间进度。状态：完成率≥100%为已完成；差距≥0为超前；−10～0个百分点为略滞后；低于−10为滞后；"
           "有单位缺报（没有任何数字）的指标为数据不全，只列数字、不作判断。「数据来自」是数字所属报表的报告期末。")
rate_col = "占全区目标" if subset else "完成率"
numeric = show.assign(**{  # numbers stay numbers: percentages as 0.5 shown 50.0%
    "累计值": table["value"], rate_col: table["completion_rate"], "时间进度": table["time_progress"],
    "差距（百分点）": table["gap_pp"].round(1).where(table["status"].isin(VERDICTS)),
})
st.download_button("下载指标进展表（Excel）", lambda: excel_bytes(
    {"指标进展": numeric}, content="各项指标累计值、完成率、时间进度和状态", scope=scope, as_of=as_of,
    filters=f"填报单位：{scope}" if flt.units else None,
    formats={"指标进展": {rate_col: PERCENT, "时间进度": PERCENT, "差距（百分点）": "+0.0;-0.0;0.0"}},
    extra=[("数据依据", coverage + (f"；数字截至{fmt_date(figures_end)}" if figures_end and figures_end < as_of else "")),
           ("计算方法", "完成率 =（累计值 − 基期值）÷（目标值 − 基期值）；差距 = 完成率 − 时间进度（百分点）")]),
    file_name=f"指标进展_{scope}_{as_of.isoformat()}.xlsx", icon=":material/download:", on_click="ignore")

# drawn on demand: fourteen copyable blocks inside a closed expander were still drawn on every load
if st.toggle("显示可直接引用的表述（每项指标一句，可复制）", key="overview_sentences"):
    sents = sentences_for(ref)
    for row in table.itertuples():
        st.code(indicator_sentence(row, as_of, scope, sents), language=None, wrap_lines=True)

st.subheader("数据依据")
left, right = st.columns(2)
with left:
    st.markdown(f"**各单位报表**（当期：报告期末为{fmt_date(as_of)}的报表）")
    b = pd.DataFrame({
        "单位": basis["unit_name"], "状态": basis["state"],
        "报告期": basis["period_code"].map(period_label),
        "期末": basis["period_end"].map(fmt_date),
        "版本": basis["version"].map(lambda v: "—" if pd.isna(v) else f"第{int(v)}版"),
    })
    show_table(b, hide_index=True, height=table_height(len(b)), place="column")
    if n_missing:
        st.warning("截至该日期没有任何报表的单位：" + "、".join(basis.loc[basis["state"] == STATE_NO_RETURN, "unit_name"]))
with right:
    carried = q(queries.carried_figures, as_of)
    if flt.units:
        carried = carried[carried["unit_code"].isin(flt.units)]
    st.markdown("**沿用（结转）更早报告期的数字**")
    if carried.empty:
        st.success("所有数字均来自包含所选日期的报告期的报表，没有结转。")
    else:
        by_unit = (carried.assign(short=carried["indicator_code"].map(
            dict(zip(ref.plan.indicators["code"], ref.plan.indicators["short_name"]))))
            .groupby(["unit_name", "period_code"], sort=False)
            .agg(n=("indicator_code", "size"), names=("short", "、".join)).reset_index())
        show_table(pd.DataFrame({
            "单位": by_unit["unit_name"], "来自报告期": by_unit["period_code"].map(period_label),
            "指标数": by_unit["n"], "指标": by_unit["names"],
        }), hide_index=True, height=table_height(len(by_unit)), place="column")
