"""系统管理 (administrators only): accounts, the 操作日志, aliases for names uploads fail on, reporting settings,
the plan's baselines, targets and targets split to units.

Every change goes through a pipelines function that takes the acting account and
refuses anyone but an administrator (a direct URL to this page by anyone else is
refused here too), is validated, recorded in the audit log, and takes effect
without a restart.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import streamlit as st

from pipelines import accounts, admin, audit, store
from pipelines.export import XLSX_MIME, write_workbook
from pipelines.reference import plan_file
from pipelines.vocab import FREQUENCIES, FREQUENCY_WORDS, deadline_days, reporting_frequency
from ui import auth
from ui.common import db_path, esc, reference, show_table, table_height

ref = reference()
db = db_path()
MSG = "admin_messages"
st.session_state.setdefault(MSG, [])

st.title("系统管理")
account = auth.login_required(accounts.ADMINISTER)
st.caption("账户、操作日志、名称别名、报送设置和计划目标。每项修改立即生效，并记入操作日志。")
admin.apply_from(db, ref)

for kind, text in st.session_state[MSG]:
    getattr(st, kind)(text)
st.session_state[MSG] = []


def _do(fn, ok: str) -> bool:
    """Run one change in a write transaction as the account logged in at the time of the click; -> done."""
    who = auth.current_account()
    try:
        with store.connect(db, write=True, on_wait=None) as con:
            result = fn(con, who)
    except (ValueError, accounts.PermissionDenied, store.BusyError) as exc:
        st.session_state[MSG].append(("error", esc(exc)))
        return False
    st.cache_data.clear()
    st.session_state[MSG].append(("success", ok))
    if isinstance(result, list):  # warnings the change leaves (allocations that do not add up)
        st.session_state[MSG].extend(("warning", esc(w)) for w in result)
    return True


# after a save the page is built anew (the messages above move the tabs): open the tab the change was made in
tab_users, tab_log, tab_alias, tab_settings, tab_plan = st.tabs(["账户", "操作日志", "名称别名", "报送设置", "计划目标"],
                                                                default=st.session_state.pop("admin_tab", None))

# --------------------------------------------------------------------------
with tab_users:
    with store.connect(db) as con:
        users = accounts.list_users(con)
    if users.empty:
        st.info("还没有账户。")
    else:
        show_table(users.assign(
            role=users["role"].map(accounts.ROLE_ZH),
            unit_code=users["unit_code"].map(lambda c: ref.unit_name(c) if isinstance(c, str) else "—"),
            disabled=users["disabled"].map({True: "停用", False: "正常"}),
        ).rename(columns={"user_name": "用户名", "display_name": "姓名", "role": "角色", "unit_code": "单位",
                          "disabled": "状态", "created_at": "建立时间", "last_login_at": "最近登录",
                          "failed_count": "连续输错", "locked_until": "锁定至"}), key="admin_users")

    with st.expander("新建账户", icon=":material/person_add:"):
        with st.form("admin_add_user"):
            c1, c2 = st.columns(2)
            name = c1.text_input("用户名（登录名）", key="new_user")
            display = c2.text_input("姓名", key="new_display")
            role = c1.selectbox("角色", list(accounts.ROLE_ZH), format_func=accounts.ROLE_ZH.get, key="new_role")
            unit = c2.selectbox("所属单位（填报员必选）", [None] + ref.unit_codes, key="new_unit",
                                format_func=lambda c: "—" if c is None else ref.unit_name(c))
            pw1 = c1.text_input(f"初始口令（至少{accounts.MIN_PASSWORD}个字符）", type="password", key="new_pw1",
                                autocomplete="new-password")
            pw2 = c2.text_input("再输入一次", type="password", key="new_pw2", autocomplete="new-password")
            if st.form_submit_button("新建", type="primary", key="new_submit"):
                if pw1 != pw2:
                    st.session_state[MSG].append(("error", "两次输入的口令不一致。"))
                else:
                    _do(lambda con, who: accounts.add_user(con, who, name, role, pw1, unit_code=unit,
                                                           display_name=display or None),
                        f"已新建账户「{esc(name)}」。")
                st.rerun()

    names = users["user_name"].tolist() if not users.empty else []
    if names:
        with st.expander("修改账户", icon=":material/manage_accounts:"):
            who_name = st.selectbox("账户", names, key="edit_user")
            row = users.set_index("user_name").loc[who_name]
            c1, c2, c3 = st.columns(3)
            new_role = c1.selectbox("角色", list(accounts.ROLE_ZH), format_func=accounts.ROLE_ZH.get,
                                    index=list(accounts.ROLE_ZH).index(row["role"]), key=f"edit_role_{who_name}")
            units = [None] + ref.unit_codes
            new_unit = c2.selectbox("单位", units, format_func=lambda c: "—" if c is None else ref.unit_name(c),
                                    index=units.index(row["unit_code"]) if row["unit_code"] in units else 0,
                                    key=f"edit_unit_{who_name}")
            if c3.button("保存角色", key="edit_role_save"):
                _do(lambda con, who: accounts.set_role(con, who, who_name, new_role, new_unit),
                    f"已修改「{esc(who_name)}」的角色。")
                st.rerun()
            b1, b2, b3 = st.columns(3)
            if row["disabled"]:
                if b1.button("重新启用", key="edit_enable"):
                    _do(lambda con, who: accounts.set_disabled(con, who, who_name, False), f"已启用「{esc(who_name)}」。")
                    st.rerun()
            elif b1.button("停用", key="edit_disable"):
                _do(lambda con, who: accounts.set_disabled(con, who, who_name, True), f"已停用「{esc(who_name)}」。")
                st.rerun()
            if b2.button("解除锁定", key="edit_unlock"):
                _do(lambda con, who: accounts.unlock(con, who, who_name), f"已解除「{esc(who_name)}」的锁定。")
                st.rerun()
            with b3.popover("重设口令"):
                pw = st.text_input("新口令", type="password", key="edit_pw", autocomplete="new-password")
                if st.button("确认重设", key="edit_pw_save"):
                    _do(lambda con, who: accounts.set_password(con, who, who_name, pw), f"已重设「{esc(who_name)}」的口令。")
                    st.session_state["edit_pw"] = ""
                    st.rerun()

# --------------------------------------------------------------------------
with tab_log:
    st.caption("每次登录、登录失败、上传、载入、未通过检查、版本变更、归档、数据导出、备份和管理操作。日志只能追加，平台中不能修改或删除。")
    with store.connect(db) as con:
        seen = audit.accounts_seen(con)
    c1, c2, c3, c4 = st.columns(4)
    today = date.today()
    span = c1.date_input("日期", (today - timedelta(days=30), today), key="log_dates")
    who_f = c2.multiselect("账户", seen, key="log_accounts")
    what_f = c3.multiselect("操作", list(audit.ACTION_ZH), format_func=audit.ACTION_ZH.get, key="log_actions")
    unit_f = c4.selectbox("单位", [None] + ref.unit_codes, key="log_unit",
                          format_func=lambda c: "全部" if c is None else ref.unit_name(c))
    text_f = st.text_input("对象或说明包含", key="log_text")
    start, end = (span[0], span[1]) if isinstance(span, (list, tuple)) and len(span) == 2 else (None, None)
    with store.connect(db) as con:
        log = audit.query(con, start=start, end=end, accounts=who_f, actions=what_f, unit_code=unit_f,
                          text=text_f or None)
    shown = audit.for_display(log, ref.unit_name)
    st.markdown(f"共 **{len(shown):,}** 条。")
    show_table(shown.head(2000), key="admin_log")

    def _export() -> bytes:
        notes = [("内容", "操作日志"), ("日期", f"{start} 至 {end}" if start else "全部"),
                 ("账户", "、".join(who_f) or "全部"), ("操作", "、".join(audit.ACTION_ZH[a] for a in what_f) or "全部"),
                 ("单位", ref.unit_name(unit_f) if unit_f else "全部"), ("包含", text_f or "—"),
                 ("行数", f"{len(shown)} 行"), ("导出人", account.label),
                 ("导出时间", datetime.now().strftime("%Y-%m-%d %H:%M"))]
        data = write_workbook({"操作日志": shown}, notes=notes)
        audit.log(db, account, "export", object="操作日志", detail=f"{len(shown)} 行")
        return data

    st.download_button("导出为 Excel", _export, file_name=f"操作日志_{today.isoformat()}.xlsx", mime=XLSX_MIME,
                       icon=":material/download:", on_click="ignore", key="log_export")

# --------------------------------------------------------------------------
with tab_alias:
    st.caption("上传的报表中最常无法识别的名称（来自历次检查记录）。为其增加别名后，以后的报表中这种写法即可识别；"
               "已是另一名称写法的别名会被拒绝，以免两个名称混淆。")
    with store.connect(db) as con:
        unknown = admin.unrecognised_names(con, ref)
        added = admin.alias_list(con, ref)
    if unknown.empty:
        st.info("检查记录中没有无法识别的名称。")
    else:
        show_table(unknown.rename(columns={"field_zh": "类别", "name": "写法", "count": "出现次数", "files": "文件数",
                                           "suggestion": "相近的规范名称"})[["类别", "写法", "出现次数", "文件数",
                                                                    "相近的规范名称"]], key="admin_unknown")
    fields = list(admin.FIELD_ZH)
    c1, c2, c3 = st.columns(3)
    field = c1.selectbox("类别", fields, format_func=admin.FIELD_ZH.get, key="alias_field")
    picks = [f"{r.field_zh}：{r.name}" for r in unknown.itertuples() if r.field == field]
    alias = c2.text_input("别名（报表中的写法）", key="alias_text",
                          placeholder=picks[0].split("：", 1)[1] if picks else "")
    names = ref.lookups[field].names
    target = c3.selectbox("对应的规范名称", list(names), format_func=names.get, key=f"alias_target_{field}")
    if st.button("增加别名", key="alias_add", type="primary"):
        _do(lambda con, who: admin.add_alias(con, who, field, alias, target, ref),
            f"已增加别名：「{esc(alias)}」→「{esc(names[target])}」。")
        st.rerun()
    if not added.empty:
        st.markdown("**已增加的别名**")
        show_table(added.rename(columns={"field_zh": "类别", "alias": "别名", "name": "规范名称", "added_at": "时间",
                                         "added_by": "操作人"})[["类别", "别名", "规范名称", "时间", "操作人"]],
                   key="admin_aliases")

# --------------------------------------------------------------------------
with tab_settings:
    st.caption("修改后立即用于「报送情况」等页面和之后的检查；原设置文件 data/settings.yaml 不变，修改保存在数据库中（备份包含）。")
    c1, c2 = st.columns(2)
    days = c1.number_input(admin.SETTINGS["deadline_days"][0], min_value=1, max_value=365,
                           value=deadline_days(ref), key="set_deadline")
    freqs = list(FREQUENCIES)
    freq = c2.selectbox(admin.SETTINGS["reporting_frequency"][0], freqs, index=freqs.index(reporting_frequency(ref)),
                        format_func=FREQUENCY_WORDS.get, key="set_frequency")
    if st.button("保存报送设置", key="settings_save", type="primary"):
        def change(con, who):
            if int(days) != deadline_days(ref):
                admin.set_setting(con, who, "deadline_days", days, ref)
            if freq != reporting_frequency(ref):
                admin.set_setting(con, who, "reporting_frequency", freq, ref)
        _do(change, "报送设置已保存。")
        st.rerun()
    st.caption("计划的基期值、目标值和任务分解在「计划目标」中修改。")

# --------------------------------------------------------------------------
with tab_plan:
    plan = ref.plan
    st.caption(f"{esc(plan.name)}的全区基期值、目标值和分解到各单位的目标（任务分解）。计划文件 data/plans/{esc(plan.id)}.yaml "
               "不变，修改保存在数据库中（备份包含），立即用于各页面、简报和命令行，并记入操作日志。清空一格即恢复计划文件中的值。")
    rev = st.session_state.setdefault("plan_rev", 0)  # a new editor after each save: no edits left over

    def _save_plan(edits: list, ok: str) -> None:
        """Save the edits of a table (kept in the editor when refused, to be corrected)."""
        st.session_state["admin_tab"] = "计划目标"
        if not edits:
            st.session_state[MSG].append(("info", "没有修改。"))
        elif _do(lambda con, who: admin.set_plan_values(con, who, ref, edits), ok):
            st.session_state["plan_rev"] = rev + 1
        st.rerun()
    with store.connect(db) as con:
        table = admin.plan_table(con, ref)
        changed = admin.plan_changes(con, ref)

    st.markdown("**全区基期值和目标值**")
    cols = {"indicator_code": "编码", "name": "指标", "measure": "计量单位", "kind": "类型",
            "file_baseline": "计划文件基期值", "baseline": "基期值", "file_target": "计划文件目标值", "target": "目标值",
            "changed_by": "修改人", "changed_at": "修改时间"}
    view = table.assign(kind=table["kind"].map({"stock": "存量", "flow": "新增"}).fillna(table["kind"]),
                        changed_by=table["changed_by"].fillna(""),
                        changed_at=table["changed_at"].map(lambda t: "" if pd.isna(t) else f"{t:%Y-%m-%d %H:%M}"))
    view = view[list(cols)].rename(columns=cols)
    whole = {"min_value": 0, "step": 1, "format": "%d"}
    edited = st.data_editor(
        view, key=f"plan_editor_{rev}", hide_index=True, width="stretch", num_rows="fixed",
        height=table_height(len(view), cap=None),
        disabled=[c for c in view.columns if c not in ("基期值", "目标值")],
        column_config={"基期值": st.column_config.NumberColumn("基期值", help="存量指标计划开始时的数量；新增指标为0", **whole),
                       "目标值": st.column_config.NumberColumn("目标值", help="计划期末全区应达到的数量", **whole),
                       "计划文件基期值": st.column_config.NumberColumn(format="%d"),
                       "计划文件目标值": st.column_config.NumberColumn(format="%d")})
    if st.button("保存基期值和目标值", key="plan_save", type="primary"):
        edits = admin.edits_of_plan_table(ref, edited.rename(columns={v: k for k, v in cols.items()}))
        _save_plan(edits, f"已保存{len(edits)}处修改。")

    st.markdown("**任务分解：各单位的分解目标**")
    st.caption("每行一个单位，每列一个指标；空格表示该单位没有这项指标的分解目标。各单位合计与全区目标不一致时可以保存，"
               "下方会提示相差多少。按盟市页的各单位完成率以这里的分解目标计算。")
    ind = plan.indicators
    labels = dict(zip(ind["code"], ind["short_name"]))
    matrix = admin.allocation_matrix(ref)
    alloc_view = matrix.rename(columns=labels)
    alloc_view.insert(0, "单位", [ref.unit_name(c) for c in matrix.index])
    edited_alloc = st.data_editor(
        alloc_view, key=f"alloc_editor_{rev}", width="stretch", num_rows="fixed", hide_index=True, disabled=["单位"],
        placeholder="",
        height=table_height(len(alloc_view), cap=None),
        column_config={labels[c]: st.column_config.NumberColumn(labels[c], help=ind.set_index("code").loc[c, "name"],
                                                                **whole) for c in ind["code"]})
    if st.button("保存任务分解", key="alloc_save", type="primary"):
        back = pd.DataFrame(edited_alloc.drop(columns="单位").to_numpy(), index=matrix.index, columns=matrix.columns)
        edits = admin.edits_of_allocation_matrix(ref, back)
        _save_plan(edits, f"已保存{len(edits)}处分解目标。")
    summary = admin.allocation_summary(ref)
    if summary.empty:
        st.info("本计划尚未把目标分解到各单位：按盟市页因此只显示各单位占全区的比例，不显示各单位完成率。")
    else:
        show_table(summary.rename(columns={"name": "指标", "target": "全区目标", "allocated": "各单位分解合计",
                                           "units": "已分解单位数", "difference": "相差"})
                   [["指标", "全区目标", "各单位分解合计", "已分解单位数", "相差"]], key="admin_alloc_summary",
                   hide_index=True)
        for w in admin.allocation_warnings(ref):
            st.warning(esc(w), icon=":material/warning:")
    file_alloc = admin.allocation_matrix(ref, plan_file(plan.id))
    if file_alloc.notna().any().any():
        with st.expander("计划文件中的任务分解"):
            show_table(file_alloc.dropna(how="all").dropna(axis=1, how="all").rename(index=ref.unit_name,
                                                                                   columns=labels),
                       key="admin_alloc_file")

    st.markdown("**已修改的值**")
    if changed.empty:
        st.caption("没有修改：各值均为计划文件中的值。")
    else:
        show_table(pd.DataFrame({
            "类别": changed["kind_zh"], "对象": changed["what"],
            "计划文件中的值": changed["file_value"].map(lambda v: "—" if v is None or pd.isna(v) else f"{v:,.0f}"),
            "现值": changed["value"].map(lambda v: f"{v:,.0f}"),
            "修改人": changed["changed_by"], "修改时间": changed["changed_at"],
        }), key="admin_plan_changes", hide_index=True)
        c1, c2 = st.columns([3, 1])
        pick = c1.selectbox("恢复为计划文件中的值", changed.index.tolist(), key="plan_reset_pick",
                            format_func=lambda i: changed.loc[i, "what"])
        if c2.button("恢复", key="plan_reset"):
            st.session_state["admin_tab"] = "计划目标"
            r = changed.loc[pick]
            if _do(lambda con, who: admin.reset_plan_value(con, who, ref, r["kind"], r["indicator_code"],
                                                           r["unit_code"]),
                   f"{esc(r['what'])}已恢复为计划文件中的值。"):
                st.session_state["plan_rev"] = rev + 1
            st.rerun()
