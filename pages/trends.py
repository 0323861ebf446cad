"""进度趋势: each indicator over the reporting periods against the straight path to its target
and 时间进度, and where it will end at the current pace.

URL: the shared filters (as_of, unit) plus ``indicator`` (I01.. or ``all``) and ``axis``
(value | rate) for the single-indicator chart.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pipelines import figures as F, queries
from pipelines.export import PERCENT
from pipelines.vocab import number, pct
from ui import filters
from ui.common import (
    excel_bytes, figure, fmt_date, page_header, q, reference, require_data, show_chart, show_table,
    table_height,
)

ref = reference()
plan = ref.plan
IND = plan.indicators.set_index("code")

page_header("进度趋势",
            f"各项指标在各报告期末的累计值，与按时间进度应达到的水平（基期值到{plan.end.year}年目标的直线）对比，"
           "并按目前速度推算计划期末能否完成目标。")
require_data("趋势")

flt = filters.sidebar(show=("as_of", "unit"))
as_of = flt.as_of
scope = flt.scope()
units = list(flt.units) or None
if flt.units:
    st.info(f"只统计所选单位（{scope}）的合计：比例为占全区目标的比例（目标未分解到单位），不画时间进度线、不作判断。"
            "清除左侧「填报单位」筛选可看全区。", icon=":material/filter_alt:")


codes = IND.index.tolist()
choices = ["all"] + codes
c1, c2 = st.columns([3, 2])
with c1:
    indicator = st.selectbox("指标", choices, key=filters.url_choice("trends", "indicator", choices, "all", "指标"),
                             format_func=lambda c: "全部指标（小图）" if c == "all" else f"{c} {IND.loc[c, 'name']}")
filters.url_set("trends", "indicator", indicator)

series = q(queries.region_series, units=units, until=as_of)
proj = q(queries.trend_projection, as_of, units=units, scope=scope)
periods = sorted(series["as_of"].unique()) if len(series) else []
finished = as_of >= plan.end

if not periods or series["value"].isna().all():
    st.info(f"截至{fmt_date(as_of)}，{scope}还没有任何指标数值可画趋势。")
    st.stop()
if len(periods) == 1:
    st.caption(f"截至{fmt_date(as_of)}只有一个报告期（{fmt_date(periods[0])}）的数据，趋势线只有一个点；"
               "推算按计划开始以来的平均速度。")


def _coverage_notes(s: pd.DataFrame) -> list[str]:
    """Per period: who was carried forward or missing (union over indicators)."""
    out = []
    for d, g in s.groupby("as_of"):
        carried = sorted({x for note in g["carried_note"] if note for x in note.split("、")})
        missing = sorted({x for note, n in zip(g["missing_note"], g["units_missing"]) if n and note
                          for x in note.split("、")})
        parts = []
        if carried:
            parts.append("沿用：" + "、".join(carried))
        if missing:
            parts.append("部分指标未报：" + "、".join(missing))
        if parts:
            out.append(f"{fmt_date(d)}　" + "；".join(parts))
    return out


if indicator == "all":
    show_chart(figure(F.trend_small_multiples, series, as_of, scope, plan_start=plan.start, plan_end=plan.end),
               key=f"trends_grid_{as_of}_{scope}")
    notes = _coverage_notes(series)
    if notes:
        with st.expander(f"数据依据：{len(notes)}个报告期有单位沿用更早的数字或未报", expanded=False):
            for n in notes:
                st.caption(n)

    st.subheader("能否按期完成" if not finished else "计划期末完成情况")
    pace_recent = "" if proj.empty else proj["recent_from"].iloc[0]
    table = pd.DataFrame({
        "编码": proj["indicator_code"],
        "指标": proj["short_name"],
        "计量单位": proj["measure"],
        "目标值": proj["target"].astype(int),
        "当前累计": proj["value"].map(number),
        "完成率": proj["completion_rate"].map(pct),
    })
    if not finished:
        table["平均速度推算值"] = proj["proj_avg"].map(number)
        table["平均速度达成率"] = proj["proj_avg_rate"].map(pct)
        table["近一年速度推算值"] = proj["proj_recent"].map(number)
        table["近一年速度达成率"] = proj["proj_recent_rate"].map(pct)
        table["结论"] = [("不作判断（有单位缺报）" if part else
                        "暂无数据" if r is None or pd.isna(r) else ("可按期完成" if r else "将无法按期完成"))
                       for r, part in zip(proj["reaches_avg"], proj["partial"])]
        if units:  # a part of the region against the region's target: shares, no verdict
            table = table.rename(columns={"平均速度达成率": "平均速度：占全区目标", "近一年速度达成率": "近一年速度：占全区目标"})
            table["结论"] = "不作判断（只含所选单位）"
        st.caption(f"时间进度{pct(proj['time_progress'].iloc[0])}。「平均速度推算值」：从计划开始（{fmt_date(plan.start)}）到{fmt_date(as_of)}的平均速度直线外推到"
                   f"{fmt_date(plan.end)}；「近一年速度推算值」：从{fmt_date(pace_recent)}到{fmt_date(as_of)}的速度外推。"
                   "结论按平均速度。")
    else:
        table["结论"] = ["暂无数据" if v is None or pd.isna(v) else ("已完成" if v >= t else "未完成")
                       for v, t in zip(proj["value"], proj["target"])]

    def _colour(v: str) -> str:
        c = {"可按期完成": F.STATUS_COLORS["已完成"], "已完成": F.STATUS_COLORS["已完成"],
             "将无法按期完成": F.STATUS_COLORS["滞后"], "未完成": F.STATUS_COLORS["滞后"]}.get(v)
        return f"background-color: {c}; color: white; font-weight: 600" if c else ""

    table.insert(2, "结论", table.pop("结论"))
    show_table(table.style.map(_colour, subset=["结论"]), hide_index=True, width="stretch",
                 height=table_height(len(table), cap=None))
    # drawn on demand: fourteen copyable blocks inside a closed expander were still drawn on every load
    if st.toggle("显示可直接引用的表述（每项指标一句，可复制）", key="trends_sentences"):
        for r in proj.itertuples():
            st.code(r.sentence + (r.sentence_recent or ""), language=None, wrap_lines=True)
    rate_cols = [c for c in table.columns if c.endswith("率") or c.endswith("占全区目标")]
    numeric = table.assign(**{c: proj[src].to_numpy() for c, src in (
        ("当前累计", "value"), ("平均速度推算值", "proj_avg"), ("近一年速度推算值", "proj_recent"),
        ("完成率", "completion_rate"), ("平均速度达成率", "proj_avg_rate"), ("近一年速度达成率", "proj_recent_rate"),
        ("平均速度：占全区目标", "proj_avg_rate"), ("近一年速度：占全区目标", "proj_recent_rate")) if c in table})
    st.download_button("下载趋势与推算（Excel）", lambda: excel_bytes({
        "推算": numeric,
        "各期数值": series.assign(完成率=series["completion_rate"], 时间进度=series["time_progress"])[
            ["as_of", "indicator_code", "short_name", "value", "planned_value", "完成率", "时间进度", "status",
             "units_current", "units_carried", "units_missing", "carried_note", "missing_note"]].rename(columns={
                "as_of": "报告期末", "indicator_code": "编码", "short_name": "指标", "value": "累计值",
                "planned_value": "按时间进度应达到", "status": "状态", "units_current": "当期单位数",
                "units_carried": "沿用单位数", "units_missing": "未报单位数", "carried_note": "沿用说明",
                "missing_note": "未报单位"}),
    }, content="各项指标各报告期的累计值与按目前速度的推算", scope=scope, as_of=as_of,
        filters=f"填报单位：{scope}" if units else None,
        formats={"推算": {c: PERCENT for c in rate_cols}, "各期数值": {"完成率": PERCENT, "时间进度": PERCENT}},
        extra=[("推算方法", "平均速度：计划开始以来的平均速度直线外推；近一年速度：最近一年的速度外推")]),
        file_name=f"进度趋势_{as_of.isoformat()}.xlsx", icon=":material/download:", on_click="ignore")
else:
    with c2:
        axis = st.radio("纵轴", ["value", "rate"], key=filters.url_choice("trends", "axis", ["value", "rate"], "value", "纵轴"),
                        format_func={"value": "累计值", "rate": "完成率（%）"}.get, horizontal=True)
    filters.url_set("trends", "axis", axis)
    s = series[series["indicator_code"] == indicator]
    p = proj[proj["indicator_code"] == indicator]
    prow = p.iloc[0].to_dict() if len(p) else None
    show_chart(figure(F.trend_chart, s, prow, plan.start, plan.end, as_of, scope, mode=axis),
               key=f"trends_one_{indicator}_{axis}_{as_of}_{scope}")
    if prow:
        st.markdown(f"**{prow['sentence']}**")
        if prow.get("sentence_recent"):
            st.markdown(prow["sentence_recent"])
    measure = IND.loc[indicator, "unit"]
    st.subheader("各报告期数值")
    show_table(pd.DataFrame({
        "报告期末": s["as_of"].map(fmt_date),
        f"累计值（{measure}）": s["value"],
        f"按时间进度应达到（{measure}）": s["planned_value"].round(1),
        "完成率": s["completion_rate"].map(pct),
        "时间进度": s["time_progress"].map(pct),
        "差距（百分点）": s["gap_pp"].map(lambda g: "—" if pd.isna(g) else f"{g:+.1f}"),
        "状态": s["status"],
        "当期单位": s["units_current"],
        "沿用更早报告期": s["carried_note"].replace("", "—"),
        "未报单位": [n if k else "—" for n, k in zip(s["missing_note"], s["units_missing"])],
    }), hide_index=True, width="stretch")
    st.caption("累计值按截止日期规则汇总：每个单位取该日期及以前最近一期报送的数值；未报送当期的单位沿用更早报告期的数字，"
               "并在上表和图中（空心点）注明。")
