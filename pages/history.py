"""版本历史: every version of every return, its original file, and making an earlier one current again.

URL: ``unit`` (the shared filter's parameter, a GB/T 2260 code; the first of
several) and ``period`` (a period code such as 2019H1) open one unit and
period, e.g. ``/history?unit=150200&period=2019H1`` from the upload page after a
load. Both are mirrored in the URL as the user changes them; an unknown value
is dropped with a notice.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pipelines import accounts, queries, store
from pipelines.diff import issues_table
from pipelines.normalise import parse_period, period_label
from pipelines.vocab import date_time_zh, rejected_retention_days, version_zh
from ui import auth, filters
from ui.common import db_path, esc, esc_table, fmt_date, page_header, q, reference, show_table

PENDING = "history_restore_pending"
MESSAGES = "history_messages"

ref = reference()
db = db_path()
st.session_state.setdefault(MESSAGES, [])

page_header("版本历史", "每个单位、每个报告期报送过的全部版本：何时、由谁报送、检查结果和原始文件。"
            "再次报送会成为新的当前版本；此前的版本和原始文件始终保留，管理员可把较早的版本重新设为当前版本。")

for kind, text in st.session_state[MESSAGES]:
    getattr(st, kind)(text)
st.session_state[MESSAGES] = []

account = auth.login_required(accounts.HISTORY)  # 填报员: only their own unit; 浏览 and visitors: none
units_with = [u for u in q(queries.submission_units) if account.can(accounts.HISTORY, u)]
if not units_with:
    st.info("还没有任何报送记录。请到「数据报送」页上传报表，载入后的每个版本都会出现在这里。")
    st.page_link("pages/upload.py", label="去数据报送", icon=":material/upload_file:")
    st.stop()


def _period_label(code: str | None, end) -> str:
    """「2019年上半年」 from the code; a return whose period was not recognised: by its end date."""
    p = parse_period(code) if isinstance(code, str) and code else None
    return p.label if p else period_label(end)


def _text(v, blank: str = "—") -> str:
    """A cell for display: never None or nan."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return blank
    s = str(v).strip()
    return s or blank


# --------------------------------------------------------------------------
# Unit and period: a link (URL) wins when it changed; otherwise the shared unit filter, then the first unit
options = [u for u in ref.unit_codes if u in units_with]
qp = st.query_params
raw_unit, raw_period = qp.get("unit"), qp.get("period")
# the URL as this page last wrote it; anything else is a link just opened (or pasted), and it wins
from_link = (raw_unit, raw_period) != st.session_state.get("_url_history") and (raw_unit or raw_period)
if from_link and raw_unit:
    codes = [c.strip() for c in raw_unit.split(",") if c.strip()]
    hit = next((c for c in codes if c in options), None)
    if hit is not None:
        st.session_state["history_unit"] = hit
    else:
        known = [c for c in codes if c in set(ref.unit_codes)]
        if known and not account.can(accounts.HISTORY, known[0]):
            st.warning(f"当前账户只能查看{ref.unit_name(account.unit_code)}的版本历史，"
                       f"不能查看{ref.unit_name(known[0])}的。", icon=":material/block:")
        else:
            what = f"「{ref.unit_name(known[0])}」还没有报送记录" if known else f"单位代码「{esc(raw_unit)}」无法识别"
            st.info(f"链接中的{what}，已改为显示下面所选单位的版本历史。", icon=":material/link:")
if st.session_state.get("history_unit") not in options:
    chosen = [u for u in filters.current().units if u in options]
    st.session_state["history_unit"] = chosen[0] if chosen else options[0]
c1, c2, c3 = st.columns([2, 2, 2])
unit = c1.selectbox("填报单位", options, format_func=ref.unit_name, key="history_unit")
periods = q(queries.submission_periods, unit)
ALL = "all"  # a value, not None: a selectbox holding None shows its placeholder
period_opts = [ALL] + [pd.Timestamp(e).date() for e in periods["period_end"]]
labels = {pd.Timestamp(r.period_end).date(): f"{_period_label(r.period_code, r.period_end)}（{r.submissions}次报送）"
          for r in periods.itertuples()}
codes_by_end = {pd.Timestamp(r.period_end).date(): r.period_code for r in periods.itertuples()
                if isinstance(r.period_code, str) and r.period_code}
period_key = f"history_period_{unit}"
if from_link and raw_period:
    wanted = parse_period(raw_period)
    if wanted is not None and wanted.end in labels:
        st.session_state[period_key] = wanted.end
    elif wanted is not None:
        st.info(f"{ref.unit_name(unit)}没有{wanted.label}的报送记录，已显示全部报告期。", icon=":material/link:")
        st.session_state[period_key] = ALL
    else:
        st.info(f"链接中的报告期「{esc(raw_period)}」无法识别，已显示全部报告期。", icon=":material/link:")
        st.session_state[period_key] = ALL
elif from_link:  # a link to a unit: all its periods
    st.session_state[period_key] = ALL
if st.session_state.get(period_key) not in period_opts:
    st.session_state[period_key] = ALL
choice = c2.selectbox("报告期", period_opts, format_func=lambda e: "全部报告期" if e == ALL else labels[e],
                      key=period_key)
period_end = None if choice == ALL else choice
# mirror the choice in the URL (a copied link opens the same view)
qp["unit"] = unit
code = None if period_end is None else codes_by_end.get(period_end) or period_end.isoformat()
if code is None:
    if "period" in qp:
        del qp["period"]
else:
    qp["period"] = code
st.session_state["_url_history"] = (unit, code)
operator = account.label
c3.markdown(f"操作人：**{esc(operator)}**")

history = q(queries.submission_history, unit, period_end)
st.markdown(f"**{ref.unit_name(unit)}**：{len(history)}次报送，涉及{history['period_end'].nunique()}个报告期。")


# --------------------------------------------------------------------------
def _ask_restore(sid: int) -> None:
    st.session_state[PENDING] = sid


def _cancel_restore() -> None:
    st.session_state[PENDING] = None


def _restore(sid: int, version: int, label: str) -> None:
    note = str(st.session_state.get(f"restore_note_{sid}") or "").strip()
    who = auth.current_account()  # at the time of the click: after a logout this is None, and it is refused
    st.session_state[PENDING] = None
    if not note:
        st.session_state[MESSAGES].append(("error", "请填写说明后再设为当前版本。"))
        return
    try:
        store.make_current(db, sid, who=who, note=note)
    except (ValueError, store.BusyError, accounts.PermissionDenied) as exc:
        st.session_state[MESSAGES].append(("error", f"未能设为当前版本：{exc}"))
        return
    st.session_state[MESSAGES].append(
        ("success", f"已把{label}的第{version}版设为当前版本（操作人：{who.label}）。原当前版本仍保留，可随时再切换回来。"))


def _issues(sid: int) -> None:
    issues = q(queries.submission_issues, sid)
    if not issues:
        st.caption("检查时没有发现问题。")
        return
    table = issues_table(issues)
    table["行"] = table["行"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    st.table(esc_table(table), hide_index=True, height="content" if len(table) <= 30 else 700)


def _version(r, label: str) -> None:
    sid = int(r.submission_id)
    ver = "未编号" if pd.isna(r.version) else f"第{int(r.version)}版"
    head = f"{ver} · {r.state} · {date_time_zh(r.received_at)} · {esc(r.received_by, '报送人未记录')}（{r.source_zh}）"
    with st.expander(head, expanded=bool(r.is_current) and period_end is not None):
        c = st.columns(4)
        c[0].markdown(f"**文件**：{esc(r.file_name)}")
        c[1].markdown(f"**填报人**：{esc(r.filler)}　**电话**：{esc(r.phone)}")
        n_err = 0 if pd.isna(r.n_errors) else int(r.n_errors)
        n_warn = 0 if pd.isna(r.n_warnings) else int(r.n_warnings)
        c[2].markdown(f"**错误/提示**：{n_err} / {n_warn}")
        path = store.original_path(db, r.file_hash)
        if path is not None:
            c[3].download_button("下载原始文件", data=auth.logged(f"原始文件：{r.file_name}", lambda p=path: p.read_bytes(),
                                                             unit_code=r.unit_code), file_name=r.file_name,
                                 key=f"orig_{sid}", on_click="ignore", icon=":material/download:")
        elif r.status == "rejected":
            c[3].caption(f"未通过检查的原始文件只保留{rejected_retention_days(ref):g}天，已清理")
        else:
            c[3].caption("原始文件不在文件夹中")
        _issues(sid)
        if r.status == "loaded" and not r.is_current and account.can(accounts.RESTORE, r.unit_code):
            st.markdown("**管理员操作**")
            st.text_input("说明（必填）", key=f"restore_note_{sid}",
                          placeholder="例如：第2版数字有误，经核实恢复第1版")
            note = str(st.session_state.get(f"restore_note_{sid}") or "").strip()
            missing = [w for w, v in (("说明", note),) if not v]
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
        "版本": group["version"].map(version_zh),
        "状态": group["state"],
        "报送时间": group["received_at"].map(date_time_zh),
        "报送人": group["received_by"].map(lambda v: _text(v, "未记录")),
        "来源": group["source_zh"].map(_text),
        "错误": group["n_errors"].fillna(0).astype(int),
        "提示": group["n_warnings"].fillna(0).astype(int),
        "文件名": group["file_name"].map(_text),
    })
    colours = {"当前": "background-color: #dcfce7; color: #14532d; font-weight: 600",
               "已被取代": "color: #6b7280", "未通过": "background-color: #fde2e4; color: #9b1c1c"}
    show_table(table.style.map(lambda v: colours.get(v, ""), subset=["状态"]), hide_index=True, width="stretch")
    for r in group.itertuples():
        _version(r, label)

st.divider()
st.subheader("操作记录")
events = q(queries.submission_events, unit, period_end)
if events.empty:
    st.caption("没有操作记录。")
else:
    show_table(pd.DataFrame({
        "时间": events["event_at"].map(date_time_zh),
        "操作": events["action_zh"],
        "报告期": [_period_label(c, e) for c, e in zip(events["period_code"], events["period_end"])],
        "版本": events["version"].map(version_zh),
        "操作人": events["by_user"].map(lambda v: _text(v, "未记录")),
        "说明": events["note"].map(lambda v: _text(v, "")),
        "文件名": events["file_name"].map(_text),
    }), hide_index=True, width="stretch")
