"""数据报送: download a template, upload returns, see what they would change, load on confirmation.

Checking reads the uploaded bytes and the database read-only; only the
confirmed load takes the write lock. Checked files live in session state,
keyed by content hash, so reruns do not re-check them.
"""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from pipelines import accounts, audit, queries, store
from pipelines.annotate import annotate_workbook
from pipelines.checks import file_hash
from pipelines.diff import (
    STATUS_DUPLICATE, STATUS_ERRORS, STATUS_OK, STATUS_WARNINGS, LoadRefused, Preview, check_upload, confirm_load,
    issues_table, preview,
)
from pipelines.normalise import parse_period
from pipelines.template import build_template, next_unreported, plan_periods
from pipelines.vocab import reporting_frequency
from ui import auth
from ui.common import data_key, db_path, esc, esc_table, fmt_date, log_failure, q, reference, show_table, table_height

CHECKED = "upload_checked"    # hash -> {"name", "data", "checked", "preview", "preview_key"}
DONE = "upload_done"          # hash -> what was loaded (for the success message)
MESSAGES = "upload_messages"  # messages from the last action, shown once
UPLOADER_GEN = "upload_uploader_gen"

BADGE = {
    STATUS_OK: ("green", "可以载入", ":material/check_circle:"),
    STATUS_WARNINGS: ("orange", "有提示", ":material/warning:"),
    STATUS_ERRORS: ("red", "有错误不能载入", ":material/error:"),
    STATUS_DUPLICATE: ("gray", "重复文件", ":material/content_copy:"),
}
KIND_ZH = {"H": "半年", "Q": "季度", "Y": "年度"}

ref = reference()
db = db_path()
for key, default in ((CHECKED, {}), (DONE, {}), (MESSAGES, []), (UPLOADER_GEN, 0)):
    st.session_state.setdefault(key, default)

st.title("数据报送")
st.caption("① 下载报表模板 → ② 填写后上传，系统逐项检查并显示将带来的变化 → ③ 核对无误后确认载入。"
           "同一单位同一报告期再次报送会成为新的当前版本，此前的版本和原始文件都保留在「版本历史」中。")
account = auth.login_required(accounts.LOAD)  # anonymous and 浏览 accounts: a notice, no controls
allowed_units = account.units(ref.unit_codes)


# --------------------------------------------------------------------------
# Demo data: a clear notice and a way to start for real (archived, never deleted)
def _ask_archive() -> None:
    st.session_state["upload_confirm_archive"] = True


def _cancel_archive() -> None:
    st.session_state["upload_confirm_archive"] = False


def _archive() -> None:
    st.session_state["upload_confirm_archive"] = False
    try:
        folder = store.archive_database(db, "demo", who=auth.current_account())
    except (store.BusyError, accounts.PermissionDenied) as exc:  # refused, or busy: say so, keep everything as it was
        st.session_state[MESSAGES].append(("error", f"未能清空演示数据：{exc}"))
        return
    except Exception as exc:
        st.session_state[MESSAGES].append(("error", f"未能清空演示数据：{log_failure(exc, 'archive demo')}"))
        return
    st.session_state[CHECKED] = {}
    st.session_state[DONE] = {}
    st.session_state[UPLOADER_GEN] += 1
    st.cache_data.clear()
    st.session_state[MESSAGES].append(
        ("success", f"演示数据已移到数据库所在文件夹下的 `archive/{folder.name}/`（未删除，如需可由管理员取回），"
                    "已建立空数据库，可以开始正式报送。账户和操作日志保留。"))


if q(queries.is_demo) and account.role != accounts.ADMIN:
    st.warning("**当前数据库中是演示数据**（系统生成，非真实报送）。可以用它试用上传和检查。", icon=":material/science:")
elif q(queries.is_demo):
    with st.container(border=True):
        st.warning("**当前数据库中是演示数据**（系统生成，非真实报送）。可以用它试用上传和检查；"
                   "正式报送前，请先清空演示数据，以免真实数字与演示数字混在一起。", icon=":material/science:")
        if not st.session_state.get("upload_confirm_archive"):
            st.button("清空演示数据，开始正式报送", icon=":material/restart_alt:", on_click=_ask_archive,
                      key="archive_ask")
        else:
            sources = q(queries.current_sources)
            real = sum(n for s, n in sources.items() if s != "demo")
            text = (f"将把当前数据库（{sum(sources.values())}份当前报表及全部历史版本、原始文件）整体移到数据库所在文件夹的 "
                    "`archive/demo-日期时间/` 中保存，然后建立一个空数据库。不会删除任何文件。")
            if real:
                text += f"\n\n**注意：其中有{real}份不是演示数据的报表，也会一起移走**，清空后需要重新上传。"
            st.error(text, icon=":material/help:")
            c1, c2, _ = st.columns([2, 1, 4])
            c1.button("确认清空演示数据", type="primary", on_click=_archive, key="archive_confirm")
            c2.button("取消", on_click=_cancel_archive, key="archive_cancel")

for kind, text in st.session_state[MESSAGES]:
    getattr(st, kind)(text)
st.session_state[MESSAGES] = []


# --------------------------------------------------------------------------
# Who is sending: the logged-in account (recorded on every version and in the 操作日志)
reporter = account.label
st.caption(f"报送人：**{esc(reporter)}**" + (f"；只能报送{ref.unit_name(account.unit_code)}的报表（以文件封面的「填报单位」为准）。"
                                    if account.role == accounts.FILER else "。"))


# --------------------------------------------------------------------------
# ① Template
st.subheader("① 下载报表模板")
with st.container(border=True):
    c1, c2, c3 = st.columns([2, 1, 2])
    unit = c1.selectbox("填报单位", allowed_units, format_func=ref.unit_name, key="tpl_unit")
    kinds = list(KIND_ZH)
    default_kind = reporting_frequency(ref)
    kind = c2.selectbox("报告期类型", kinds, index=kinds.index(default_kind) if default_kind in kinds else 0,
                        format_func=KIND_ZH.get, key="tpl_kind")
    periods = plan_periods(ref, kind)
    reported = q(queries.reported_period_ends, unit)
    if periods:
        # one widget whatever the unit (a period picked just after the unit, before the page has
        # caught up, is kept); its default is the unit's next unreported period, set anew when the
        # unit, the kind or the unit's returns change, unless the period was itself just picked
        context, chosen = (unit, kind, len(reported)), st.session_state.get("tpl_period")
        if chosen not in periods or (st.session_state.get("_tpl_context") != context
                                     and chosen == st.session_state.get("_tpl_shown")):
            st.session_state["tpl_period"] = periods[next_unreported(periods, reported)]
        st.session_state["_tpl_context"] = context
        period = c3.selectbox("报告期", periods, format_func=lambda p: p.label, key="tpl_period",
                              help="默认为该单位尚未报送的下一个报告期")
        st.session_state["_tpl_shown"] = period
        earlier = [d for d in reported if pd.Timestamp(d).date() < period.start]
        done_here = any(pd.Timestamp(d).date() == period.end for d in reported)
        if done_here:  # the template corrects that period's current version (template.template_source)
            per = q(queries.submission_periods, unit)
            cur = per.loc[per["period_end"].map(lambda e: pd.Timestamp(e).date()) == period.end, "current_version"]
            ver = f"第{int(cur.iloc[0])}版" if len(cur) and pd.notna(cur.iloc[0]) else "当前版本"
            note = (f"该单位已报送过{period.label}的报表（当前为{ver}）。模板已按{ver}预填全部指标值和事项，用于更正："
                    f"只需改正有误之处，不要删除仍然存在的事项；再次报送后成为新版本，{ver}仍保留在版本历史中。")
        elif earlier:
            note = (f"模板已预填该单位截至{fmt_date(max(earlier))}的报表中的事项清单，并在表1旁列出上期数供对照；"
                    "只需更新有变化的内容和各指标的累计值。")
        else:
            note = "该单位此前没有报送记录，模板为空白（封面已填好单位和报告期）。"
        st.caption(note)
        name = f"{ref.unit_name(unit)}_{period.label}_科技合作报表{'_更正' if done_here else ''}.xlsx"
        st.download_button("下载报表模板" + (f"（更正{ver}）" if done_here else ""),
                           data=auth.logged(f"预填模板：{name}", lambda u=unit, p=period: build_template(db, u, p, ref=ref),
                                            unit_code=unit), file_name=name,
                           icon=":material/download:", on_click="ignore", key="tpl_download",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        st.info("计划期内还没有可填报的报告期。")


# --------------------------------------------------------------------------
# ② Upload and check
st.subheader("② 上传报表并检查")
files = st.file_uploader("选择一个或多个报表文件（.xlsx、.xlsm、.xls），可一次选多个", type=["xlsx", "xlsm", "xls"],
                         accept_multiple_files=True, key=f"uploader_{st.session_state[UPLOADER_GEN]}",
                         help="每个文件是一个单位一个报告期的完整报表。上传后只做检查，不会写入数据库；确认后才载入。")

checked_store: dict = st.session_state[CHECKED]
done_store: dict = st.session_state[DONE]
entries: list[tuple[str, str]] = []  # (hash, file name) in upload order
seen: dict[str, str] = {}
repeats: list[tuple[str, str]] = []
for f in files or []:
    data = f.getvalue()
    h = file_hash(data)
    if h in seen:
        repeats.append((f.name, seen[h]))
        continue
    seen[h] = f.name
    entries.append((h, f.name))
    if h not in checked_store and h not in done_store:
        checked_store[h] = {"name": f.name, "data": data, "checked": None, "preview": None, "preview_key": None}

todo = [h for h, _ in entries if h in checked_store and checked_store[h]["checked"] is None]
if todo:
    bar = st.progress(0.0, text=f"正在检查 {len(todo)} 个文件…")
    for n, h in enumerate(todo, 1):
        e = checked_store[h]
        bar.progress((n - 1) / len(todo), text=f"正在检查第 {n}/{len(todo)} 个文件：{e['name']}")
        try:
            pv = check_upload(db, e["data"], e["name"], ref=ref)  # a fault of the checker: the file's error, logged
        except store.BusyError as exc:  # the database, not the file: say so; the next run checks it again
            bar.empty()
            st.error(f"暂时无法检查「{esc(e['name'])}」：{exc}。请稍后点「重新检查」。", icon=":material/hourglass_top:")
            st.button("重新检查", key="recheck", icon=":material/refresh:")  # a click reruns the page
            st.stop()
        e.update(checked=pv.checked, preview=pv, preview_key=data_key())
        try:
            audit.log(db, account, "upload", unit_code=pv.unit_code, object=e["name"],
                      detail=f"检查结果：{BADGE[pv.status][1]}（错误{len(pv.errors)}个，提示{len(pv.warnings)}个）")
        except store.BusyError:
            pass
    bar.empty()

# Previews depend on what is loaded: refresh them whenever the database changes.
key_now = data_key()
for h, _ in entries:
    e = checked_store.get(h)
    if e is not None and e["preview_key"] != key_now:
        try:
            e["preview"] = preview(db, e["checked"], ref=ref)
        except store.BusyError as exc:  # keep the previous preview; say why it may be stale
            st.warning(f"数据库正忙，「{esc(e['name'])}」的预览可能不是最新的：{exc}", icon=":material/hourglass_top:")
            continue
        e["preview_key"] = key_now
# forget files no longer in the uploader
for h in [h for h in checked_store if h not in seen]:
    del checked_store[h]

for name, first in repeats:
    st.info(f"「{esc(name)}」与「{esc(first)}」内容完全相同，只检查一次。")


def _load(hashes: list[str]) -> None:
    """Load confirmed files in upload order; record what happened for the next run."""
    msgs = st.session_state[MESSAGES]
    who = auth.current_account()  # at the time of the click: after a logout this is None, and the load is refused
    for h in hashes:
        e = st.session_state[CHECKED].get(h)
        if e is None:
            continue
        pv: Preview = e["preview"]
        try:
            r = confirm_load(db, pv, e["data"], who=who,
                             warnings_accepted=bool(st.session_state.get(f"accept_{h}")),
                             removals_accepted=bool(st.session_state.get(f"accept_removed_{h}")))
        except LoadRefused as exc:
            msgs.append(("warning", esc(exc)))
            continue
        except accounts.PermissionDenied as exc:
            msgs.append(("error", f"「{esc(pv.file_name)}」未载入：{esc(exc)}"))
            continue
        except store.BusyError as exc:
            msgs.append(("error", f"「{esc(pv.file_name)}」未载入：{exc}"))
            continue
        except Exception as exc:  # read-only database, full disk, a bug: a message, and the next file
            msgs.append(("error", f"「{esc(pv.file_name)}」未载入：{log_failure(exc, f'upload load {pv.file_name}')}"))
            continue
        if r.status == "duplicate":
            msgs.append(("info", f"「{esc(pv.file_name)}」与已载入的第{r.version}版完全相同，未重复载入。"))
        elif r.status != "loaded":
            msgs.append(("error", f"「{esc(pv.file_name)}」未载入：载入时发现错误，请重新检查。"))
            continue
        st.session_state[DONE][h] = {
            "name": pv.file_name, "unit": pv.unit_name, "period": pv.period_label, "status": r.status,
            "unit_code": pv.unit_code, "period_code": pv.period_code,
            "version": r.version, "replaced": pv.replaces.version if pv.replaces else None,
            "n_warnings": len(r.warnings), "at": datetime.now(), "who": who.label,
        }
        del st.session_state[CHECKED][h]


def _ready(h: str) -> bool:
    """Whether a pending file may be loaded now: no errors, warnings and removals confirmed."""
    pv: Preview = checked_store[h]["preview"]
    if pv.status not in (STATUS_OK, STATUS_WARNINGS):
        return False
    if pv.status == STATUS_WARNINGS and not st.session_state.get(f"accept_{h}"):
        return False
    return not pv.removes_items or bool(st.session_state.get(f"accept_removed_{h}"))


def _located(pv: Preview) -> list:
    """Issues that name a cell (sheet and row): only these can be marked in the workbook."""
    return [i for i in pv.issues if i.sheet and i.row is not None]


def _reset_uploads() -> None:
    st.session_state[CHECKED] = {}
    st.session_state[DONE] = {}
    st.session_state[UPLOADER_GEN] += 1


def _styled_issues(df: pd.DataFrame):
    colours = {"错误": "background-color: #fde2e4; color: #9b1c1c; font-weight: 600",
               "提示": "background-color: #fff4ce; color: #7a5b00; font-weight: 600"}
    return (df.style.map(lambda v: colours.get(v, ""), subset=["严重程度"])
            .map(lambda v: "white-space: nowrap", subset=["严重程度", "行"])
            .format({"行": lambda v: "" if pd.isna(v) else str(int(v))}))


def _summary(pv: Preview) -> None:
    if pv.duplicate is not None:
        becomes = f"已是第{pv.duplicate.version}版"
    elif pv.loadable and pv.version:
        becomes = f"第{pv.version}版"
    else:
        becomes = "—（有错误，不能载入）"
    st.markdown(f"填报单位：**{pv.unit_name or '未识别'}**　　报告期：**{pv.period_label or '未识别'}**　　"
                f"载入后成为：**{becomes}**　　错误 **{len(pv.errors)}** 个，提示 **{len(pv.warnings)}** 个")
    if pv.duplicate is not None:
        d = pv.duplicate
        st.info(f"与{fmt_date(d.received_at)}由{esc(d.received_by, '未记录')}载入的第{d.version}版（「{esc(d.file_name)}」）"
                f"内容完全相同{'，且该版本就是当前版本' if d.is_current else ''}，无需再次载入。"
                + ("" if d.is_current else "如需恢复该版本，请到「版本历史」页操作。"))
    elif pv.replaces is not None:
        r = pv.replaces
        st.markdown(f"将**取代当前的第{r.version}版**（「{esc(r.file_name)}」，{fmt_date(r.received_at)}"
                    f"由{esc(r.received_by, '未记录')}报送）；第{r.version}版仍保留在版本历史中。")
        old_period = parse_period(r.period_code) if r.period_code else None
        if old_period is not None and r.period_code != pv.period_code:
            st.warning(f"注意：第{r.version}版的报告期是**{old_period.label}**，本次是**{pv.period_label}**。"
                       f"两者都截至{fmt_date(pv.period_end)}，按同一报告期处理，载入后以本次报表为准。"
                       "如果报告期填错了，请改正封面的「报告期」后重新上传。", icon=":material/event:")
    elif pv.loadable:
        st.markdown("该单位该报告期**首次报送**。")


def _changes(pv: Preview) -> None:
    ind = pv.indicators
    if pv.replaces is None:
        if len(ind):
            with st.expander(f"本报表填报的指标值（{len(ind)}项）"):
                show_table(ind.rename(columns={"indicator_code": "编码", "name": "指标", "measure": "计量单位",
                                                 "after": "截至本期末累计值"})[["编码", "指标", "计量单位", "截至本期末累计值"]],
                             hide_index=True, width="stretch")
        return
    v = pv.replaces.version
    st.markdown(f"**与当前第{v}版相比的变化**：新增事项 {len(pv.added)} 项，删除事项 {len(pv.removed)} 项，"
                f"变更事项 {pv.n_changed_items} 项，指标值变化 {int(ind['change'].fillna(1).ne(0).sum())} 项。")
    tabs = st.tabs([f"指标值（前后对照）", f"新增事项（{len(pv.added)}）", f"删除事项（{len(pv.removed)}）",
                    f"变更事项（{pv.n_changed_items}）"])
    with tabs[0]:
        show = ind.rename(columns={"indicator_code": "编码", "name": "指标", "measure": "计量单位",
                                   "before": f"第{v}版", "after": "本次", "change": "变化"})
        for c in (f"第{v}版", "本次"):
            show[c] = show[c].map(lambda x: "（未填报）" if pd.isna(x) else f"{int(x)}")
        show["变化"] = show["变化"].map(lambda x: "" if pd.isna(x) else ("0" if x == 0 else f"{int(x):+d}"))
        show_table(show.style.map(lambda s: "color: #9b1c1c; font-weight: 600" if s.startswith("-") else
                                    ("color: #1a7f37; font-weight: 600" if s.startswith("+") else ""),
                                    subset=["变化"]),
                     hide_index=True, width="stretch", height=table_height(len(show), cap=None),
                     column_config={c: st.column_config.TextColumn(alignment="right")
                                    for c in (f"第{v}版", "本次", "变化")})
    item_cols = {"item_name": "事项名称", "item_type": "事项类别", "sector": "所属领域",
                 "partners": "合作国家（地区）", "status": "状态"}
    with tabs[1]:
        if pv.added.empty:
            st.caption("没有新增事项。")
        else:
            show_table(pv.added.rename(columns=item_cols), hide_index=True, width="stretch")
    with tabs[2]:
        if pv.removed.empty:
            st.caption("没有删除事项。")
        else:
            st.caption("这些事项在当前版本中有、在本次报表中没有。已结束的事项请保留并把状态改为「已完成」或「已终止」，不要直接删除。")
            show_table(pv.removed.rename(columns=item_cols), hide_index=True, width="stretch")
    with tabs[3]:
        if pv.changed.empty:
            st.caption("没有内容变更的事项（按事项名称和类别对应）。")
        else:
            show_table(pv.changed.rename(columns={"item_name": "事项名称", "item_type": "事项类别", "field": "变化项",
                                                    "before": f"第{v}版", "after": "本次"}),
                         hide_index=True, width="stretch")


def _card(h: str, name: str) -> None:
    if h in done_store:
        d = done_store[h]
        with st.container(border=True):
            st.markdown(f"**{esc(d['name'])}**  :green-badge[:material/task_alt: 已载入]")
            what = f"{d['unit']} {d['period']}"
            if d["status"] == "duplicate":
                st.info(f"{what}：与已载入的第{d['version']}版完全相同，未重复载入。")
            else:
                replaced = f"，取代第{d['replaced']}版" if d["replaced"] else ""
                st.success(f"已载入：{what} 第{d['version']}版（当前版本{replaced}）。"
                           f"报送人：{esc(d['who'])}，{d['at']:%Y-%m-%d %H:%M}。", icon=":material/task_alt:")
            c1, c2 = st.columns([1, 4])
            c1.page_link("pages/overview.py", label="查看总览", icon=":material/dashboard:")
            where = {k: v for k, v in (("unit", d.get("unit_code")), ("period", d.get("period_code"))) if v}
            c2.page_link("pages/history.py", label="查看版本历史", icon=":material/history:",
                         help=f"打开{what}的全部版本", query_params=where or None)
        return
    e = checked_store[h]
    pv: Preview = e["preview"]
    colour, label, icon = BADGE[pv.status]
    with st.container(border=True):
        st.markdown(f"**{esc(name)}**  :{colour}-badge[{icon} {label}]")
        _summary(pv)
        located = _located(pv)
        if pv.issues and not located:
            # the file as a whole (unreadable, wrong type, a sheet missing ...): no cell to mark, say it plainly
            for i in pv.issues:
                text = esc(i.message) + (f"\n\n**建议**：{esc(i.suggestion)}" if i.suggestion else "")
                (st.error if i.severity == "error" else st.warning)(
                    text, icon=":material/error:" if i.severity == "error" else ":material/warning:")
        elif pv.issues:
            st.markdown(f"**发现的问题**：错误 {len(pv.errors)} 个（必须修改），提示 {len(pv.warnings)} 个（请核对）")
            st.table(_styled_issues(esc_table(issues_table(pv.issues))), hide_index=True,
                     height="content" if len(pv.issues) <= 30 else 900)
            stem = name.rsplit(".", 1)[0]
            st.download_button(
                "下载标注了问题的工作簿", key=f"annotated_{h}", on_click="ignore", icon=":material/download:",
                data=lambda d=e["data"], n=name, i=tuple(pv.issues): annotate_workbook(d, n, list(i), log=log_failure),
                file_name=f"{stem}_问题标注.xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                help="红色单元格是错误，黄色是提示，鼠标移到单元格上可看说明；第一张工作表「问题清单」列出全部问题。")
        _changes(pv)
        if pv.status == STATUS_ERRORS:
            if located:
                st.error(f"有{len(pv.errors)}个错误，不能载入。请下载标注了问题的工作簿，按红色单元格的批注修改后重新上传。",
                         icon=":material/block:")
            else:
                st.caption(f":red[有{len(pv.errors)}个错误，不能载入。请按上面的说明处理后重新上传。]")
            return
        if pv.status == STATUS_DUPLICATE:
            return
        accepted = True
        if pv.status == STATUS_WARNINGS:
            accepted = st.checkbox("我已核对以上提示，确认无误", key=f"accept_{h}")
        removal_ok = True
        if pv.removes_items:
            names = pv.removed["item_name"].astype(str).tolist()
            shown = "、".join(f"「{esc(n)}」" for n in names[:10]) + (f"等{len(names)}项" if len(names) > 10 else "")
            st.warning(f"**本次报送将删除当前版本中的{len(names)}项事项**：{shown}。"
                       "如确属已撤销的事项，请勾选确认；仍然存在或已结束的事项请保留在表2中"
                       "（已结束的把状态改为「已完成」或「已终止」），改好后重新上传。",
                       icon=":material/delete_forever:")
            removal_ok = st.checkbox(f"确认删除这{len(names)}项事项（已撤销，不再列入）", key=f"accept_removed_{h}")
        why = None if account.can(accounts.LOAD, pv.unit_code) else (
            f"该文件的填报单位是{pv.unit_name}，当前账户只能报送{ref.unit_name(account.unit_code)}的报表")
        why = why or (None if accepted else "请先核对提示并勾选确认")
        why = why or (None if removal_ok else "请先核对将删除的事项并勾选确认")
        st.button(f"确认载入（成为第{pv.version}版）", key=f"load_{h}", type="primary", disabled=why is not None,
                  help=why, on_click=_load, args=([h],), icon=":material/publish:")
        if why:
            st.caption(f":orange[{why}后，才能确认载入。]")


if not entries:
    st.caption("还没有上传文件。可以一次选择多个文件（例如各盟市的报表），逐个检查后再确认载入。")
else:
    pending = [h for h, _ in entries if h not in done_store]
    counts = {s: 0 for s in BADGE}
    for h in pending:
        counts[checked_store[h]["preview"].status] += 1
    if len(entries) > 1:
        st.markdown(f"共 {len(entries)} 个文件：" + "，".join(
            [f"{BADGE[s][1]} {n} 个" for s, n in counts.items() if n]
            + ([f"已载入 {len(entries) - len(pending)} 个"] if len(pending) < len(entries) else [])))
    for h, name in entries:
        _card(h, name)

    # ③ Confirm all loadable files at once
    if len(pending) > 1:
        st.subheader("③ 全部确认载入")
        ready = [h for h in pending if _ready(h) and account.can(accounts.LOAD, checked_store[h]["preview"].unit_code)]
        waiting = [checked_store[h]["name"] for h in pending
                   if checked_store[h]["preview"].status == STATUS_WARNINGS and not st.session_state.get(f"accept_{h}")]
        removing = [checked_store[h]["name"] for h in pending if checked_store[h]["preview"].removes_items
                    and not st.session_state.get(f"accept_removed_{h}")]
        blocked = [checked_store[h]["name"] for h in pending if checked_store[h]["preview"].status == STATUS_ERRORS]
        if waiting:
            st.caption("有提示、尚未勾选确认的文件不会载入：" + "、".join(map(esc, waiting)))
        if removing:
            st.caption("将删除事项、尚未勾选确认的文件不会载入：" + "、".join(map(esc, removing)))
        if blocked:
            st.caption("有错误的文件不能载入：" + "、".join(map(esc, blocked)))
        st.button(f"确认载入全部可载入文件（{len(ready)}个）", key="load_all", type="primary",
                  disabled=not ready, on_click=_load, args=(ready,), icon=":material/done_all:")
    elif not pending:
        st.button("清空已上传文件列表，继续报送", on_click=_reset_uploads, key="reset_uploads",
                  icon=":material/restart_alt:")

# --------------------------------------------------------------------------
# For admins: the same check and load for a whole folder, from the server's command line
with st.expander("管理员：在服务器上批量载入报表", icon=":material/terminal:"):
    st.caption("在平台所在服务器的程序目录中运行（检查与本页相同；有错误的文件不载入，其余照常载入）：")
    st.code(f"python -m pipelines ingest --db {db_path()} 报表文件夹/", language="bash")
    st.caption("只检查不载入加 `--dry-run`；命令及参数的完整说明见 README.md 的「命令行」一节。")
