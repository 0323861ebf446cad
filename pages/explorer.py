"""明细查询: every item at the as-of date, filterable and searchable, with its source
(file, sheet, Excel row, version), and a download to Excel of exactly what is shown."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import auth, filters
from pipelines import queries
from pipelines.vocab import STATE_CARRIED, STATE_NO_RETURN
from ui.common import (
    esc, excel_bytes, fmt_date, page_header, q, reference, require_data, show_table, table_height, write_csv,
)

SHOW_MAX = 2000  # rows drawn in the page; the download always has every row
BIG_EXCEL = 20_000  # above this many rows, writing Excel takes long: offer CSV as well
LIVE_CHOICES = {"all": "全部", "live": "在册", "ended": "已终止"}
BLANK_STATUS = "（未填写）"
# Page-only state in the URL, beside the shared filters (ui/filters.py).
P_SEARCH, P_STATUS, P_LIVE = "search", "status", "live"

ref = reference()
page_header("明细查询",
            "各单位截至所选日期最近一期报表中的全部合作事项，每一行注明来源：报表文件、工作表、Excel 行号和版本。"
           "可按左侧条件筛选，并在下方按名称、合作单位、本地承担单位或合作国家搜索。")
require_data("合作事项")

flt = filters.sidebar()
filters.filter_caption(flt)
as_of, scope, kw = flt.as_of, flt.scope(), flt.as_query()

# ---- page filters, kept in the URL ----------------------------------------
qp = st.query_params
status_names = ref.statuses["name"].tolist() + [BLANK_STATUS]
url_now = tuple(qp.get(k) or "" for k in (P_SEARCH, P_STATUS, P_LIVE))
if "explorer_search" not in st.session_state or url_now != st.session_state.get("_explorer_url", url_now):
    # first visit, or a pasted link that differs from what this page last wrote: the URL wins
    st.session_state["explorer_search"] = url_now[0]
    raw = [s for s in url_now[1].split(",") if s]
    bad = [s for s in raw if s not in status_names]
    if bad:
        st.info(f"链接中的状态 {'、'.join(map(esc, bad))} 无法识别，已忽略。", icon=":material/link:")
    st.session_state["explorer_status"] = [s for s in raw if s in status_names]
    st.session_state["explorer_live"] = url_now[2] if url_now[2] in LIVE_CHOICES else "all"

c1, c2, c3 = st.columns([4, 3, 2])
search = c1.text_input("搜索", key="explorer_search", placeholder="事项名称、合作单位、本地承担单位或合作国家，多个词用空格分开",
                       help="所有词都要出现（不区分大小写）。输入国家或地区名称（如「俄罗斯」「香港」）也会找到以其为合作方的事项。")
statuses = c2.multiselect("状态", status_names, key="explorer_status", placeholder="全部状态")
live = c3.segmented_control("是否计入统计", list(LIVE_CHOICES), format_func=LIVE_CHOICES.get, key="explorer_live",
                           help="已终止的事项仍列在报表中，但不计入任何统计")
live = live or "all"
search = search.strip()
written = (search, ",".join(statuses), "" if live == "all" else live)
for key, val in zip((P_SEARCH, P_STATUS, P_LIVE), written):
    if val:
        qp[key] = val
    elif key in qp:
        del qp[key]
st.session_state["_explorer_url"] = written

args = dict(kw, live_only=(live == "live"), ended_only=(live == "ended"),
            statuses=tuple("" if s == BLANK_STATUS else s for s in statuses), search=search or None)
summary = q(queries.items_summary, as_of, **args).iloc[0]
total = int(summary["items"])
rows = q(queries.items_at, as_of, **args, limit=SHOW_MAX)


def to_display(df: pd.DataFrame) -> pd.DataFrame:
    """The columns users see and download, in Chinese."""
    return pd.DataFrame({
        "事项名称": df["item_name"],
        "单位": df["unit_name"],
        "报告期": df["period_label"],
        "事项类别": df["item_type"],
        "所属领域": df["sector_name"],
        "合作国家（地区）": df["partner_names"],
        "合作单位": df["partner_institutions"],
        "本地承担单位": df["local_institution"],
        "起始日期": df["start_date"],
        "状态": df["status"],
        "计入统计": df["is_live"].map({True: "是", False: "否（已终止）"}),
        "投入经费（万元）": df["funding_wan"],
        "备注": df["note"],
        "来源文件": df["file_name"],
        "工作表": df["sheet"],
        "行号": df["source_row"],
        "版本": df["version"].map(lambda v: f"第{int(v)}版"),
    })


def describe_page() -> str:
    parts = [flt.describe() or ""]
    if search:
        parts.append(f"搜索：{search}")
    if statuses:
        parts.append("状态：" + "、".join(statuses))
    if live != "all":
        parts.append({"live": "只含在册（计入统计）的事项", "ended": "只含已终止的事项"}[live])
    return "；".join(p for p in parts if p) or "无"


basis = q(queries.return_basis, as_of)
if flt.units:
    basis = basis[basis["unit_code"].isin(flt.units)]
older = basis[basis["state"] == STATE_CARRIED]
none = basis[basis["state"] == STATE_NO_RETURN]

if total == 0:
    st.info("没有符合条件的事项。可以换一个搜索词、放宽左侧的筛选条件，或选择其他截止日期。", icon=":material/search_off:")
else:
    line = f"截至{fmt_date(as_of)}，{scope}共 **{total:,}** 项符合条件的事项"
    ended = total - int(summary["live_items"])
    if ended:
        line += f"（其中已终止 {ended} 项，不计入统计）"
    st.markdown(line + "。")
    if total > SHOW_MAX:
        st.warning(f"结果较多，页面只显示前 {SHOW_MAX:,} 行（按单位、行号排列）；下载的 Excel 包含全部 {total:,} 行。"
                   "也可以用搜索或左侧筛选缩小范围。", icon=":material/table_rows:")
    shown = to_display(rows)
    key_cols = [c for c in ("事项名称", "单位", "事项类别", "所属领域", "合作国家（地区）", "状态", "投入经费（万元）",
                            "来源文件") if c in shown.columns]
    show_table(shown, hide_index=True, height=table_height(len(shown), cap=None, max_px=640), key_columns=key_cols,
               key="explorer_all_columns",
                 column_config={
                     "事项名称": st.column_config.TextColumn(pinned=True),
                     "起始日期": st.column_config.DateColumn(format="YYYY-MM-DD"),
                     "投入经费（万元）": st.column_config.NumberColumn(format="localized"),
                     "行号": st.column_config.NumberColumn(help="该事项在报表「工作表」中的 Excel 行号", format="%d"),
                 })

    def download() -> bytes:
        everything = to_display(q(queries.items_at, as_of, **args))
        basis = "各单位截至该日期最近一期报表中的事项；「计入统计」为“否”的事项已终止，不计入各项统计"
        return excel_bytes({"合作事项明细": everything}, content="合作事项明细", scope=scope, as_of=as_of,
                           filters=describe_page(), extra=[("行数", f"{len(everything)} 行"), ("统计口径", basis)])

    big = total > BIG_EXCEL
    cols = st.columns(2 if big else 1)
    cols[0].download_button(
        f"下载以上 {total:,} 行（Excel）", auth.logged("合作事项明细（Excel）", download),
        file_name=f"合作事项明细_{as_of.isoformat()}.xlsx",
        icon=":material/download:", on_click="ignore",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        help=(f"行数较多，生成 Excel 文件可能需要一分钟左右；急用可下载 CSV。" if big else
              "第一个工作表「说明」写明截止日期和筛选条件"))
    if big:
        cols[1].download_button(
            f"下载以上 {total:,} 行（CSV，较快）",
            auth.logged("合作事项明细（CSV）", lambda: write_csv(to_display(q(queries.items_at, as_of, **args)))),
            file_name=f"合作事项明细_{as_of.isoformat()}.csv", icon=":material/download:", on_click="ignore",
            mime="text/csv", help="CSV 可直接用 Excel 或 WPS 打开；筛选条件见本页，不写入文件")

if len(older) or len(none):
    notes = [f"{r.unit_name}：沿用{r.period_code}报表" for r in older.itertuples()]
    notes += [f"{r.unit_name}：截至该日期尚无报表" for r in none.itertuples()]
    st.caption(f"没有报告期末为{fmt_date(as_of)}的报表（数字和事项沿用更早报表或缺报）的单位 — " + "；".join(notes) + "。")
