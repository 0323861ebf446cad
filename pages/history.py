"""版本历史: every version of every return, its original file, and making an earlier one current again."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pipelines import store
from pipelines.diff import issues_table
from pipelines.issues import Issue
from pipelines.normalise import parse_period
from ui import filters
from ui.common import db_path, fmt_date, q, reference

REPORTER = "reporter_name"  # shared with the upload page
PENDING = "history_restore_pending"
MESSAGES = "history_messages"

ref = reference()
db = db_path()
st.session_state.setdefault(MESSAGES, [])

st.title("版本历史")
st.caption("每个单位、每个报告期报送过的全部版本：何时、由谁报送、检查结果和原始文件。"
           "再次报送会成为新的当前版本；此前的版本和原始文件始终保留，管理员可把较早的版本重新设为当前版本。")

for kind, text in st.session_state[MESSAGES]:
    getattr(st, kind)(text)
st.session_state[MESSAGES] = []

units_with = q("submission_units")
if not units_with:
    st.info("还没有任何报送记录。请到「数据报送」页上传报表，载入后的每个版本都会出现在这里。")
    st.page_link("pages/upload.py", label="去数据报送", icon=":material/upload_file:")
    st.stop()


def _period_label(code: str | None, end) -> str:
    p = parse_period(code) if code else None
    return p.label if p else f"期末{fmt_date(end)}"


def _when(ts) -> str:
    if ts is None or pd.isna(ts):
        return "—"
    t = pd.Timestamp(ts)
    return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M}"


# --------------------------------------------------------------------------
# Unit and period
options = [u for u in ref.unit_codes if u in units_with]
chosen = [u for u in filters.current().units if u in options]
c1, c2, c3 = st.columns([2, 2, 2])
unit = c1.selectbox("填报单位", options, index=options.index(chosen[0]) if chosen else 0,
                    format_func=ref.unit_name, key="history_unit")
periods = q("submission_periods", unit)
period_opts = [None] + [pd.Timestamp(e).date() for e in periods["period_end"]]
labels = {pd.Timestamp(r.period_end).date(): f"{_period_label(r.period_code, r.period_end)}（{r.submissions}次报送）"
          for r in periods.itertuples()}
period_end = c2.selectbox("报告期", period_opts, format_func=lambda e: "全部报告期" if e is None else labels[e],
                          key=f"history_period_{unit}")
if "operator_input" not in st.session_state:
    st.session_state["operator_input"] = st.session_state.get(REPORTER, "")
operator = c3.text_input("操作人", key="operator_input", placeholder="设为当前版本时记录",
                         help="与「数据报送」页的报送人共用").strip()
if operator:
    st.session_state[REPORTER] = operator

history = q("submission_history", unit, period_end)
st.markdown(f"**{ref.unit_name(unit)}**：{len(history)}次报送，涉及{history['period_end'].nunique()}个报告期。")


# --------------------------------------------------------------------------
def _ask_restore(sid: int) -> None:
    st.session_state[PENDING] = sid


def _cancel_restore() -> None:
    st.session_state[PENDING] = None


def _restore(sid: int, version: int, label: str) -> None:
    note = str(st.session_state.get(f"restore_note_{sid}") or "").strip()
    who = str(st.session_state.get("operator_input") or "").strip()
    st.session_state[PENDING] = None
    if not note or not who:
        st.session_state[MESSAGES].append(("error", "请填写操作人和说明后再设为当前版本。"))
        return
    try:
        store.make_current(db, sid, who=who, note=note)
    except (ValueError, store.BusyError) as exc:
        st.session_state[MESSAGES].append(("error", f"未能设为当前版本：{exc}"))
        return
    st.session_state[MESSAGES].append(
        ("success", f"已把{label}的第{version}版设为当前版本（操作人：{who}）。原当前版本仍保留，可随时再切换回来。"))


def _issues(sid: int) -> None:
    iss = q("submission_issues", sid)
    if iss.empty:
        st.caption("检查时没有发现问题。")
        return
    issues = [Issue(code=r.code, severity=r.severity, sheet=None if pd.isna(r.sheet) else r.sheet,
                    row=None if pd.isna(r.row_no) else int(r.row_no),
                    column=None if pd.isna(r.column_name) else r.column_name,
                    value=None if pd.isna(r.value) else r.value, message=r.message,
                    suggestion=None if pd.isna(r.suggestion) else r.suggestion) for r in iss.itertuples()]
    table = issues_table(issues)
    table["行"] = table["行"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    st.table(table, hide_index=True, height="content" if len(table) <= 30 else 700)


def _version(r, label: str) -> None:
    sid = int(r.submission_id)
    ver = "未编号" if pd.isna(r.version) else f"第{int(r.version)}版"
    head = f"{ver} · {r.state} · {_when(r.received_at)} · {r.received_by or '报送人未记录'}（{r.source_zh}）"
    with st.expander(head, expanded=bool(r.is_current) and period_end is not None):
        c = st.columns(4)
        c[0].markdown(f"**文件**：{r.file_name}")
        c[1].markdown(f"**填报人**：{r.filler or '—'}　**电话**：{r.phone or '—'}")
        c[2].markdown(f"**错误/提示**：{int(r.n_errors or 0)} / {int(r.n_warnings or 0)}")
        path = store.original_path(db, r.file_hash)
        if path is not None:
            c[3].download_button("下载原始文件", data=lambda p=path: p.read_bytes(), file_name=r.file_name,
                                 key=f"orig_{sid}", on_click="ignore", icon=":material/download:")
        else:
            c[3].caption("原始文件不在文件夹中")
        _issues(sid)
        if r.status == "loaded" and not r.is_current:
            st.markdown("**管理员操作**")
            st.text_input("说明（必填）", key=f"restore_note_{sid}",
                          placeholder="例如：第2版数字有误，经核实恢复第1版")
            note = str(st.session_state.get(f"restore_note_{sid}") or "").strip()
            missing = [w for w, v in (("操作人", operator), ("说明", note)) if not v]
            if st.session_state.get(PENDING) != sid:
                st.button("设为当前版本", key=f"restore_{sid}", on_click=_ask_restore, args=(sid,),
                          disabled=bool(missing), icon=":material/settings_backup_restore:")
                if missing:
                    st.caption(f":orange[填写{'和'.join(missing)}后才能设为当前版本。]")
            else:
                cur = history[(history["period_end"] == r.period_end) & history["is_current"]]
                now = f"当前的第{int(cur['version'].iloc[0])}版" if len(cur) else "当前版本"
                st.warning(f"确认把{label}的**{ver}**设为当前版本？{now}将变为「已被取代」；"
                           "两个版本都保留，此操作会记入操作记录，可随时再切换回来。")
                b1, b2, _ = st.columns([2, 1, 4])
                b1.button("确认设为当前版本", key=f"restore_confirm_{sid}", type="primary", on_click=_restore,
                          args=(sid, int(r.version), label), disabled=bool(missing))
                b2.button("取消", key=f"restore_cancel_{sid}", on_click=_cancel_restore)


# --------------------------------------------------------------------------
for end, group in history.groupby("period_end", sort=False, dropna=False):
    label = _period_label(group["period_code"].iloc[0], end)
    cur = group[group["is_current"]]
    st.subheader(label)
    st.caption(("当前为第%d版" % int(cur["version"].iloc[0]) if len(cur) else "没有当前版本（全部未通过检查）")
               + f"，报告期末{fmt_date(end)}，共{len(group)}次报送。")
    table = pd.DataFrame({
        "版本": group["version"].map(lambda v: "—" if pd.isna(v) else f"第{int(v)}版"),
        "状态": group["state"],
        "报送时间": group["received_at"].map(_when),
        "报送人": group["received_by"].fillna("未记录"),
        "来源": group["source_zh"],
        "错误": group["n_errors"].fillna(0).astype(int),
        "提示": group["n_warnings"].fillna(0).astype(int),
        "文件名": group["file_name"],
    })
    colours = {"当前": "background-color: #dcfce7; color: #14532d; font-weight: 600",
               "已被取代": "color: #6b7280", "未通过": "background-color: #fde2e4; color: #9b1c1c"}
    st.dataframe(table.style.map(lambda v: colours.get(v, ""), subset=["状态"]), hide_index=True, width="stretch")
    for r in group.itertuples():
        _version(r, label)

st.divider()
st.subheader("操作记录")
events = q("submission_events", unit, period_end)
if events.empty:
    st.caption("没有操作记录。")
else:
    st.dataframe(pd.DataFrame({
        "时间": events["event_at"].map(_when),
        "操作": events["action_zh"],
        "报告期": [_period_label(c, e) for c, e in zip(events["period_code"], events["period_end"])],
        "版本": events["version"].map(lambda v: "—" if pd.isna(v) else f"第{int(v)}版"),
        "操作人": events["by_user"].fillna("未记录"),
        "说明": events["note"].fillna(""),
        "文件名": events["file_name"],
    }), hide_index=True, width="stretch")
