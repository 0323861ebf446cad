"""报送情况: which unit sent which return, on time or late; completeness, timeliness, reminders."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from pipelines import figures, queries
from pipelines.export import PERCENT
from pipelines.figures import REPORTING_COLORS, REPORTING_TEXT_COLORS
from pipelines.reporting import STATE_LATE, STATE_MISSING, expected_periods, reminder_texts
from pipelines.vocab import FREQUENCY_WORDS, pct, quantity, reporting_frequency
from ui import filters
from ui.common import (
    demo_banner, esc, excel_bytes, figure, fmt_date, q, reference, show_chart, show_table, table_height,
)

# URL state, so a copied link restores the view: periods=2018H2-2019H2 (the
# whole range when absent), deadline_days=30 (data/settings.yaml when absent).
PERIODS_PARAM, DAYS_PARAM = "periods", "deadline_days"
PERIODS_KEY, DAYS_KEY = "rep_periods", "rep_deadline_days"


def _from_url(param: str, key: str, parse, default, label: str):
    """The widget's ``value=``: a pasted link's value the first time it is seen, else ``default``.

    The same rule as filters.url_choice (the link wins over the widget's last
    value), done through ``value=`` and by forgetting the widget's state, so the
    widget is never also set through the Session State API. A value that
    cannot be read is reported and ignored.
    """
    raw = st.query_params.get(param)
    if raw is None or raw == st.session_state.get(f"_url_{param}"):
        return default
    st.session_state[f"_url_{param}"] = raw
    value = parse(raw)
    if value is None:
        st.info(f"链接中的{label}「{esc(raw)}」无法识别，已改用默认值。", icon=":material/link:")
        return default
    if key in st.session_state:
        del st.session_state[key]
    return value


def _to_url(param: str, text: str | None) -> None:
    """Write the widget's value to the URL; ``None`` (the default) leaves the parameter out."""
    if text is None:
        if param in st.query_params:
            del st.query_params[param]
    else:
        st.query_params[param] = text
    st.session_state[f"_url_{param}"] = text


def _parse_days(raw: str) -> int | None:
    return int(raw) if raw.strip().isdigit() and 0 <= int(raw) <= 365 else None


ref = reference()
today = date.today()
default_days = ref.deadline_days
freq = reporting_frequency(ref)

st.title("报送情况")
st.caption(f"{ref.plan.name} · 各单位每{FREQUENCY_WORDS.get(freq, freq)}报送一次 · 统计日期 {fmt_date(today)}")
demo_banner()

if not q(queries.any_submissions):
    st.info("还没有任何报表报送记录，暂时无法统计报送情况。\n\n"
            "各单位在「数据报送」页上传报表后，这里会按单位和报告期列出按时、逾期和缺报情况，"
            "并生成催报清单。")
    st.stop()

periods = expected_periods(today, ref)
if not periods:
    st.info(f"{ref.plan.short_name}的第一个报告期尚未结束（计划自{fmt_date(ref.plan.start)}开始），还没有应报的报表。")
    st.stop()

flt = filters.sidebar(show=("unit",))
scope = flt.scope()

by_code = {p.code: p for p in periods}


def _parse_periods(raw: str):
    a, _, b = raw.partition("-")
    a, b = by_code.get(a.strip()), by_code.get((b or a).strip())
    return (a, b) if a and b and a.end <= b.end else None


days_value = _from_url(DAYS_PARAM, DAYS_KEY, _parse_days, default_days, "报送期限天数")
left, right = st.columns([3, 2])
with left:
    if len(periods) > 1:
        everything = (periods[0], periods[-1])
        first, last = st.select_slider(
            "报告期范围", options=periods, format_func=lambda p: p.label, key=PERIODS_KEY,
            value=_from_url(PERIODS_PARAM, PERIODS_KEY, _parse_periods, everything, "报告期范围"))
        _to_url(PERIODS_PARAM, None if (first, last) == everything
                else first.code if first == last else f"{first.code}-{last.code}")
    else:
        first = last = periods[0]
        st.markdown(f"**报告期**：{periods[0].label}")
with right:
    days = int(st.number_input(
        "报送期限：报告期结束后几天内算按时", min_value=0, max_value=365, value=days_value, step=1, key=DAYS_KEY,
        help=f"系统默认{default_days}天（data/settings.yaml 的 deadline_days）。在这里修改只影响本页的统计和催报清单，"
             "不改变系统设置。"))
_to_url(DAYS_PARAM, None if days == default_days else str(days))
example = periods[-1]
st.caption(f"按时：首次报送日期不晚于报告期最后一天之后第{days}天（例如{example.label}的报表应在"
           f"{fmt_date(example.end + timedelta(days=days))}前报送）。按首次报送计：按时报送后再更正不算逾期，"
           "逾期报送后再更正仍算逾期。" + ("" if days == default_days else f"（系统默认为{default_days}天）"))

units = tuple(flt.units)
args = dict(today=today, deadline_days=days, units=units or None, start=first.end, end=last.end)
t = q(queries.reporting_tables, **args)  # every table below, derived once per view and cached
m = t["matrix"]
span = first.label if first == last else f"{first.label}至{last.label}"
overall = t["overall"].iloc[0]

cols = st.columns(6)
cols[0].metric("应报", quantity(int(overall.expected), "份"), help=f"{m['unit_code'].nunique()}个单位 × {m['period_code'].nunique()}个报告期")
cols[1].metric("完整率", pct(overall.completeness), help=f"已报 {int(overall.received)} 份 ÷ 应报 {int(overall.expected)} 份")
cols[2].metric("及时率", pct(overall.timeliness), help=f"按时 {int(overall.on_time)} 份 ÷ 应报 {int(overall.expected)} 份")
cols[3].metric("逾期", quantity(int(overall.late), "份"))
cols[4].metric("缺报", quantity(int(overall.missing), "份"))
cols[5].metric("入库时有提示", quantity(int(m['has_warnings'].sum()), "份"),
               help="当前版本入库时带有提示（警告）的报表，建议核实")
if int(overall.pending):
    st.info(f"另有 {int(overall.pending)} 份报表尚未收到，但还没到截止日期（显示为「待报」），不计入缺报。")

show_chart(figure(figures.reporting_matrix, m, today, scope, days, extra=span), key="rep_matrix")
st.caption("绿色：按时；黄色：逾期（格中为晚于截止日期的天数）；红色：缺报；灰色：待报（未到截止日期）。"
           "格角紫色标记和「有提示」：当前版本入库时有提示。鼠标停在格上可看报送日期、版本和未通过检查的次数。")


def _colour(v: str) -> str:
    for state, color in REPORTING_COLORS.items():
        if isinstance(v, str) and v.startswith(state):
            return f"background-color: {color}; color: {REPORTING_TEXT_COLORS[state]}"
    return ""


def _numeric_rates(table: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """A rate table as exported: 完整率 and 及时率 as numbers (shown as % in Excel)."""
    return table.assign(完整率=rates["completeness"].to_numpy(), 及时率=rates["timeliness"].to_numpy())


RATE_FORMATS = {"完整率": PERCENT, "及时率": PERCENT}


def _download(label: str, sheets, file_name: str, key: str, content: str) -> None:
    """The workbook is written only when the button is clicked (writing it on every rerun cost ~0.3 s)."""
    st.download_button(label, lambda: excel_bytes(
        sheets(), content=content, scope=scope, filters=f"填报单位：{scope}" if units else None,
        formats={"按报告期": RATE_FORMATS, "按单位": RATE_FORMATS},
        extra=[("报告期", span), ("统计日期", fmt_date(today)), ("报送期限", f"报告期结束后{days}天内为按时")]),
        file_name=file_name,
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       icon=":material/download:", key=key, on_click="ignore")


grid = t["grid"]
# one view at a time (tabs draw all three on every load)
view = filters.one_of("reporting", "view", {"table": "报送情况表", "period": "按报告期统计", "unit": "按单位统计"},
                      "查看")
if view == "table":
    show_table(grid.style.map(_colour), width="stretch", height=table_height(len(grid), cap=None))
    st.caption("格中日期为首次报送日期；「第N版」为当前有效版本（多次报送时）；「未通过」为没有通过检查、未入库的报送次数。")
    _download("下载报送情况明细（Excel）",
              lambda: {"报送情况表": grid.reset_index(), "逐份明细": t["details"],
                       "按报告期": _numeric_rates(t["rate_period"], t["by_period"]),
                       "按单位": _numeric_rates(t["rate_unit"], t["by_unit"])},
              f"报送情况_{today.isoformat()}.xlsx", "rep_dl_all", "各单位各报告期的报送情况、完整率和及时率")
elif view == "period":
    show_chart(figure(figures.reporting_rates, t["by_period"], "period", today, scope, days), key="rep_rates_period")
    show_table(t["rate_period"], hide_index=True, width="stretch")
else:
    show_chart(figure(figures.reporting_rates, t["by_unit"], "unit", today, scope, days), key="rep_rates_unit")
    show_table(t["rate_unit"], hide_index=True, width="stretch")
st.caption("完整率 = 已报 ÷ 应报；及时率 = 按时报送 ÷ 应报。"
           "同一单位同一报告期多次报送只算一份，按首次报送时间判断是否按时。")

st.subheader("催报清单：缺报与逾期")
todo = t["reminders"]
if todo.empty:
    st.success(f"{scope}{span}的报表都已按时报送，没有需要催报的单位。")
    st.stop()
n_miss = int((todo["state"] == STATE_MISSING).sum())
n_late = int((todo["state"] == STATE_LATE).sum())
st.markdown(f"共 **{n_miss}** 份缺报、**{n_late}** 份逾期报送，涉及 **{todo['unit_code'].nunique()}** 个单位。")
listing = t["listing"]
show_table(listing.style.map(_colour, subset=["情况"]), hide_index=True, width="stretch")
st.caption(f"逾期天数：缺报的，从截止日期算到今天（{fmt_date(today)}）；逾期报送的，为首次报送晚于截止日期的天数。")

due = st.date_input("补报截止日期（写入催报文字）", value=today + timedelta(days=7), min_value=today,
                    format="YYYY-MM-DD", key="rep_due")
texts = reminder_texts(todo, due, today)
# drawn on demand (each copyable block costs the browser as much as a chart); also in the download
if st.toggle(f"显示催报文字（{len(texts)}个单位，每个单位一段，可复制）", key="rep_texts",
             help="催报文字也在下方下载的催报清单（Excel）中"):
    for r in texts.itertuples():
        st.markdown(f"{r.unit_name}：缺报{r.missing}份，逾期{r.late}份")
        st.code(r.text, language=None, wrap_lines=True)
_download("下载催报清单（Excel）",
          lambda: {"催报清单": listing, "催报文字": texts.rename(columns={
              "unit_name": "单位", "missing": "缺报份数", "late": "逾期份数", "text": "催报文字"})
              .drop(columns="unit_code")},
          f"催报清单_{today.isoformat()}.xlsx", "rep_dl_todo", "缺报与逾期报送的催报清单和催报文字")
