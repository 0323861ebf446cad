"""报送情况: which unit sent which return, on time or late; completeness, timeliness, reminders."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from pipelines import figures
from pipelines.figures import REPORTING_COLORS, REPORTING_TEXT_COLORS, pct
from pipelines.reporting import (
    STATE_LATE, STATE_MISSING, STATE_ON_TIME, STATE_PENDING, expected_periods, frequency, rates, reminder_texts,
)
from ui import filters
from ui.common import demo_banner, excel_bytes, fmt_date, q, reference, show_chart

FREQ_WORDS = {"Q": "季度", "H": "半年", "Y": "年度"}

ref = reference()
today = date.today()
default_days = ref.deadline_days
freq = frequency(ref)

st.title("报送情况")
st.caption(f"{ref.plan.name} · 各单位每{FREQ_WORDS.get(freq, freq)}报送一次 · 统计日期 {fmt_date(today)}")
demo_banner()

if not q("any_submissions"):
    st.info("还没有任何报表报送记录，暂时无法统计报送情况。\n\n"
            "各单位在「数据报送」页上传报表后，这里会按单位和报告期列出按时、逾期和缺报情况，"
            "并生成催报清单。管理员也可用命令行批量载入：`python -m pipelines.ingest --db 数据库路径 报表文件夹/`")
    st.stop()

periods = expected_periods(today, ref)
if not periods:
    st.info(f"{ref.plan.short_name}的第一个报告期尚未结束（计划自{fmt_date(ref.plan.start)}开始），还没有应报的报表。")
    st.stop()

flt = filters.sidebar(show=("unit",))
scope = flt.scope()

left, right = st.columns([3, 2])
with left:
    if len(periods) > 1:
        first, last = st.select_slider(
            "报告期范围", options=periods, value=(periods[0], periods[-1]), format_func=lambda p: p.label,
            key="rep_periods")
    else:
        first = last = periods[0]
        st.markdown(f"**报告期**：{periods[0].label}")
with right:
    days = int(st.number_input(
        "报送期限：报告期结束后几天内算按时", min_value=0, max_value=365, value=default_days, step=1,
        key="rep_deadline_days",
        help=f"系统默认{default_days}天（data/settings.yaml 的 deadline_days）。在这里修改只影响本页的统计和催报清单，"
             "不改变系统设置。"))
example = periods[-1]
st.caption(f"按时：首次报送日期不晚于报告期最后一天之后第{days}天（例如{example.label}的报表应在"
           f"{fmt_date(example.end + timedelta(days=days))}前报送）。按首次报送计：按时报送后再更正不算逾期，"
           "逾期报送后再更正仍算逾期。" + ("" if days == default_days else f"（系统默认为{default_days}天）"))

units = tuple(flt.units)
args = dict(today=today, deadline_days=days, units=units or None, start=first.end, end=last.end)
m = q("reporting_matrix", **args)
span = first.label if first == last else f"{first.label}至{last.label}"
overall = rates(m, "all").iloc[0]

cols = st.columns(6)
cols[0].metric("应报", f"{int(overall.expected)} 份", help=f"{m['unit_code'].nunique()}个单位 × {m['period_code'].nunique()}个报告期")
cols[1].metric("完整率", pct(overall.completeness), help=f"已报 {int(overall.received)} 份 ÷ 应报 {int(overall.expected)} 份")
cols[2].metric("及时率", pct(overall.timeliness), help=f"按时 {int(overall.on_time)} 份 ÷ 应报 {int(overall.expected)} 份")
cols[3].metric("逾期", f"{int(overall.late)} 份")
cols[4].metric("缺报", f"{int(overall.missing)} 份")
cols[5].metric("入库时有提示", f"{int(m['has_warnings'].sum())} 份",
               help="当前版本入库时带有提示（警告）的报表，建议核实")
if int(overall.pending):
    st.info(f"另有 {int(overall.pending)} 份报表尚未收到，但还没到截止日期（显示为「待报」），不计入缺报。")

show_chart(figures.reporting_matrix(m, today, scope, days, extra=span), key="rep_matrix")
st.caption("绿色：按时；黄色：逾期（格中为晚于截止日期的天数）；红色：缺报；灰色：待报（未到截止日期）。"
           "格角紫色标记和「有提示」：当前版本入库时有提示。鼠标停在格上可看报送日期、版本和未通过检查的次数。")


def _cell(r) -> str:
    if r.state in (STATE_ON_TIME, STATE_LATE):
        first_day = pd.Timestamp(r.first_received_at)
        word = f"{r.state} {first_day.month}月{first_day.day}日"
        if r.state == STATE_LATE:
            word += f"（晚{int(r.days_late)}天）"
        if r.version and int(r.version) > 1:
            word += f" 第{int(r.version)}版"
    elif r.state == STATE_MISSING:
        word = f"{STATE_MISSING}（已逾期{int(r.days_overdue)}天）"
    else:
        word = STATE_PENDING
    if r.flag:
        word += f" · {r.flag}"
    if r.rejected_attempts:
        word += f" · 未通过{int(r.rejected_attempts)}次"
    return word


def _colour(v: str) -> str:
    for state, color in REPORTING_COLORS.items():
        if isinstance(v, str) and v.startswith(state):
            return f"background-color: {color}; color: {REPORTING_TEXT_COLORS[state]}"
    return ""


def _rate_table(r: pd.DataFrame, key: str, label: str) -> pd.DataFrame:
    return pd.DataFrame({
        label: r[key], "应报": r["expected"], "已报": r["received"], "按时": r["on_time"], "逾期": r["late"],
        "缺报": r["missing"], "待报": r["pending"],
        "完整率": r["completeness"].map(pct), "及时率": r["timeliness"].map(pct),
    })


details = pd.DataFrame({
    "单位": m["unit_name"], "报告期": m["period_label"], "报告期末": m["period_end"].map(fmt_date),
    "报送截止日期": m["deadline"].map(fmt_date), "状态": m["state"], "提示": m["flag"],
    "首次报送": m["first_received_at"].map(fmt_date), "晚于截止（天）": m["days_late"],
    "缺报已逾期（天）": m["days_overdue"], "当前版本": m["version"], "共几版": m["n_versions"],
    "当前版本入库": m["received_at"].map(fmt_date), "报送人": m["received_by"].fillna("—"),
    "文件名": m["file_name"].fillna("—"), "未通过次数": m["rejected_attempts"],
})
by_period = rates(m, "period")
by_unit = rates(m, "unit")

tab_table, tab_period, tab_unit = st.tabs(["报送情况表", "按报告期统计", "按单位统计"])
with tab_table:
    grid = m.assign(cell=[_cell(r) for r in m.itertuples()]).pivot(
        index="unit_name", columns="period_label", values="cell")
    grid = grid.reindex(index=m["unit_name"].unique(), columns=m.drop_duplicates("period_end")
                        .sort_values("period_end")["period_label"])
    grid.index.name = "单位"
    grid.columns.name = None
    st.dataframe(grid.style.map(_colour), width="stretch", height=38 + 35 * len(grid))
    st.caption("格中日期为首次报送日期；「第N版」为当前有效版本（多次报送时）；「未通过」为没有通过检查、未入库的报送次数。")
    st.download_button("下载报送情况明细（Excel）",
                       excel_bytes({"报送情况表": grid.reset_index(), "逐份明细": details,
                                    "按报告期": _rate_table(by_period, "period_label", "报告期"),
                                    "按单位": _rate_table(by_unit, "unit_name", "单位")}),
                       file_name=f"报送情况_{today.isoformat()}.xlsx", icon=":material/download:", key="rep_dl_all")
with tab_period:
    show_chart(figures.reporting_rates(by_period, "period", today, scope, days), key="rep_rates_period")
    st.dataframe(_rate_table(by_period, "period_label", "报告期"), hide_index=True, width="stretch")
with tab_unit:
    show_chart(figures.reporting_rates(by_unit, "unit", today, scope, days), key="rep_rates_unit")
    st.dataframe(_rate_table(by_unit, "unit_name", "单位"), hide_index=True, width="stretch")
st.caption("完整率 = 已报 ÷ 应报；及时率 = 按时报送 ÷ 应报（与 DHIS2 的 reporting rate / reporting rate on time 口径相同）。"
           "同一单位同一报告期多次报送只算一份，按首次报送时间判断是否按时。")

st.subheader("催报清单：缺报与逾期")
todo = q("reporting_reminders", **args)
if todo.empty:
    st.success(f"{scope}{span}的报表都已按时报送，没有需要催报的单位。")
    st.stop()
n_miss = int((todo["state"] == STATE_MISSING).sum())
n_late = int((todo["state"] == STATE_LATE).sum())
st.markdown(f"共 **{n_miss}** 份缺报、**{n_late}** 份逾期报送，涉及 **{todo['unit_code'].nunique()}** 个单位。")
listing = pd.DataFrame({
    "单位": todo["unit_name"], "报告期": todo["period_label"], "情况": todo["state"],
    "报送截止日期": todo["deadline"].map(fmt_date),
    "逾期天数": todo["days_overdue"],
    "首次报送日期": todo["first_received_at"].map(fmt_date),
    "未通过次数": todo["rejected_attempts"],
})
st.dataframe(listing.style.map(_colour, subset=["情况"]), hide_index=True, width="stretch")
st.caption(f"逾期天数：缺报的，从截止日期算到今天（{fmt_date(today)}）；逾期报送的，为首次报送晚于截止日期的天数。")

due = st.date_input("补报截止日期（写入催报文字）", value=today + timedelta(days=7), min_value=today,
                    format="YYYY-MM-DD", key="rep_due")
texts = reminder_texts(todo, due, today)
st.markdown("**催报文字**（每个单位一段，点右上角图标复制）")
for r in texts.itertuples():
    st.markdown(f"{r.unit_name}：缺报{r.missing}份，逾期{r.late}份")
    st.code(r.text, language=None, wrap_lines=True)
st.download_button("下载催报清单（Excel）",
                   excel_bytes({"催报清单": listing, "催报文字": texts.rename(columns={
                       "unit_name": "单位", "missing": "缺报份数", "late": "逾期份数", "text": "催报文字"})
                       .drop(columns="unit_code")}),
                   file_name=f"催报清单_{today.isoformat()}.xlsx", icon=":material/download:", key="rep_dl_todo")
