"""按盟市: the 12 leagues/cities on a map, ranked, unit x indicator, and one unit's own view.

URL: the shared filters (as_of, unit, sector, type, partner) plus ``measure``
(value | share | rate | items), ``indicator`` (I01..) and ``heatmap`` (completion | share_target |
share_region, the unit x indicator heatmap's measure). ``?unit=150200`` opens
that unit's view below the overview; a click on the map or the ranking sets it.
"""
from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from pipelines import figures as F, queries
from pipelines.export import PERCENT
from pipelines.normalise import parse_period
from pipelines.progress import STATUS_ORDER
from pipelines.queries import REGION_MEASURES
from pipelines.vocab import (
    BASIS_WORDS, NO_FIGURE_STATES, REPORT_MISSING, STATE_CARRIED, STATE_CURRENT, STATE_NO_RETURN, number, pct, version_zh,
)
from ui import filters
from ui.common import (
    excel_bytes, figure, fmt_date, on_demand, page_header, q, reference, require_data, show_chart,
    show_table, table_height,
)

ref = reference()
UNIT_NAMES = dict(zip(ref.units["code"], ref.units["name"]))
IND = ref.plan.indicators.set_index("code")

page_header("按盟市",
            "各盟市及自治区本级的指标进展与合作事项分布。点击地图或排名图中的单位，或在下方选择单位，查看该单位详情。")
require_data("盟市数据")

flt = filters.sidebar()
as_of = flt.as_of
item_filter = {k: v for k, v in flt.as_query().items() if k != "units"}


def _label(period_code) -> str:
    p = parse_period(period_code) if isinstance(period_code, str) else None
    return p.label if p else (period_code or "—")


def _picked(event) -> str | None:
    """The unit code a chart click selected (customdata[0], a map location or a bar's label)."""
    try:
        points = event.selection.points if event else []
    except AttributeError:
        return None
    by_name = {v: k for k, v in UNIT_NAMES.items()}
    for p in points or []:
        cd = p.get("customdata")
        code = cd[0] if isinstance(cd, (list, tuple)) and cd else (cd if isinstance(cd, str) else None)
        code = code or p.get("location") or by_name.get(p.get("y"))
        if code in UNIT_NAMES:
            return code
    return None


# ---------------------------------------------------------------- controls
codes = IND.index.tolist()
m_key = filters.url_choice("region", "measure", list(REGION_MEASURES), "value", "着色依据")
i_key = filters.url_choice("region", "indicator", codes, "I09" if "I09" in codes else codes[0], "指标")
c1, c2 = st.columns([3, 2])
with c1:
    measure = st.radio("地图和排名显示", list(REGION_MEASURES), format_func=REGION_MEASURES.get, horizontal=True,
                       key=m_key)
with c2:
    indicator = st.selectbox("指标", codes, format_func=lambda c: f"{c} {IND.loc[c, 'name']}", key=i_key,
                             disabled=measure == "items", help="「合作事项数」不按指标区分")
filters.url_set("region", "measure", measure)
filters.url_set("region", "indicator", indicator)

allocated = q(queries.allocated_indicators)
shown = measure
if measure == "rate" and indicator not in allocated:
    st.info(f"本计划尚未把「{IND.loc[indicator, 'name']}」的目标分解到各盟市（管理员可在「系统管理 → 计划目标」中把目标分解到各盟市），"
            "各盟市没有自己的目标，无法计算各盟市完成率。下面改为显示**各盟市占全区合计的比例**；也可改看「累计值」。"
            "全区的完成率见「总览」页。", icon=":material/info:")
    shown = "share"
if measure == "items":
    df = q(queries.unit_metric, as_of, "items", None, **item_filter)
else:
    df = q(queries.unit_metric, as_of, shown, indicator)

ind_name = IND.loc[indicator, "name"]
unit_of = IND.loc[indicator, "unit"]
if shown == "items":
    title = "内蒙古各盟市在库合作事项数"
    metric_title = "合作事项（项）"
    what = "在库合作事项（不含已终止）"
elif shown == "share":
    title = f"内蒙古各盟市{ind_name}占全区合计的比例"
    metric_title = "占全区合计（%）"
    what = f"{ind_name}累计值 ÷ 全区合计"
elif shown == "rate":
    title = f"内蒙古各盟市{ind_name}完成率（对各自分解目标）"
    metric_title = "完成率（%）"
    what = f"{ind_name}完成率"
else:
    title = f"内蒙古各盟市{ind_name}累计值"
    metric_title = f"累计值（{unit_of}）"
    what = f"{ind_name}累计值"
short = IND.loc[indicator, "short_name"]
# two lines: the ranking sits in a narrow column, where a one-line title would be cut off
rank_title = {"items": "各盟市在库合作事项数排名", "share": f"各盟市{short}<br>占全区合计比例排名",
              "rate": f"各盟市{short}<br>完成率排名", "value": f"各盟市{short}<br>累计值排名"}[shown]

n_units = len(df)
n_cur = int((df["state"] == STATE_CURRENT).sum())
carried = df.loc[df["state"] == STATE_CARRIED, "unit_name"].tolist()
absent = df.loc[df["state"].isin(NO_FIGURE_STATES), "unit_name"].tolist()
coverage = f"{n_cur}/{n_units}个单位当期报送" + (f"，{len(carried)}个沿用前期数字" if carried else "") + \
    (f"，{len(absent)}个未报" if absent else "")
desc = flt.describe() if shown == "items" else None
SCOPE = f"全区{len(ref.unit_codes)}个填报单位"
sub = F.subtitle(SCOPE, as_of, desc)
if shown != "items" and flt.any_item_filter:
    st.caption("侧栏的领域、事项类别、合作方筛选只作用于「合作事项数」和下方单位详情中的事项表；指标数值不按事项筛选。")

sel_key = ",".join(flt.units) or "all"
chart_key = f"{sel_key}_{measure}_{indicator}_{as_of}"

# ---------------------------------------------------------------- map | 自治区本级 + ranking
on_map = df[df["on_map"]]
off_map = df[~df["on_map"]]
left, right = st.columns([3, 2])
with left:
    if on_map["metric"].notna().any():
        ev_map = show_chart(figure(F.unit_map, on_map, title, sub, metric_title, selected=flt.units, note=coverage),
                            key=f"region_map_{chart_key}", on_select="rerun", selection_mode="points")
    else:
        ev_map = None
        show_chart(figure(F.empty_figure, title, sub, "各盟市均无可显示的数据（未报送或未分解目标）", height=480),
                   key=f"region_map_empty_{chart_key}")
    notes = [f"{coverage}。"]
    if carried:
        notes.append("沿用更早报告期：" + "、".join(carried) + "。")
    if absent:
        notes.append(("未报送该指标：" if shown != "items" else "截至该日期无报表：") + "、".join(absent) + "。")
    st.caption("数据依据：" + "".join(notes))
with right:
    for r in off_map.itertuples():
        with st.container(border=True):
            a, b_ = st.columns([3, 2], vertical_alignment="center")
            a.metric(r.unit_name, r.display, help=f"{what}；{r.detail}")
            a.caption("不在地图上" + ("" if pd.isna(r.rank) else f"；在{n_units}个单位中排第{int(r.rank)}"))
            if b_.button("详情", key=f"open_{r.unit_code}", icon=":material/open_in_new:",
                         help=f"查看{r.unit_name}的指标、合作事项和报送记录"):
                filters.set_filters(units=(r.unit_code,))
                st.rerun()
    rank_note = "<br>".join(x for x in (desc, coverage) if x)
    ev_rank = show_chart(figure(F.unit_ranking, df, rank_title, F.subtitle(SCOPE, as_of), metric_title,
                                selected=flt.units, by_status=shown == "rate", note=rank_note),
                         key=f"region_rank_{chart_key}", on_select="rerun", selection_mode="points")

# ---------------------------------------------------------------- unit x indicator heatmap
st.markdown("#### 各盟市 × 各指标")
matrix = q(queries.unit_indicator_matrix, as_of)
hm_modes = (["completion"] if allocated else []) + ["share_target", "share_region"]
hm_label = {"completion": "完成率（对分解目标）", "share_target": "占全区目标", "share_region": "占全区合计"}
hm_key = filters.url_choice("region", "heatmap", hm_modes, hm_modes[0], "热力图口径")
hm = st.radio("热力图口径", hm_modes, format_func=hm_label.get, horizontal=True, key=hm_key)
filters.url_set("region", "heatmap", hm)
if hm == "completion":
    hm_title = "内蒙古各盟市各项指标完成率（对各自分解目标）"
    hm_note = "完成率 =（累计值 − 分解基期值）÷（分解目标 − 分解基期值）；「—」该单位该指标未分解目标"
elif hm == "share_target":
    hm_title = "内蒙古各盟市各项指标累计值占全区目标的比例"
    hm_note = "格中为该单位累计值 ÷ 全区目标值" + ("" if allocated else "（计划未把目标分解到各盟市，故不显示各盟市完成率）")
else:
    hm_title = "内蒙古各盟市各项指标占全区合计的比例"
    hm_note = "格中为该单位累计值 ÷ 全区各单位合计"
show_chart(figure(F.unit_indicator_heatmap, matrix, hm, hm_title, F.subtitle(SCOPE, as_of), note=hm_note),
           key=f"region_heatmap_{hm}_{as_of}")
st.download_button(
    "下载各盟市各指标数据（Excel）",
    lambda: excel_bytes({"各盟市各指标": matrix[
        ["unit_name", "indicator_code", "indicator_name", "measure", "value", "period_label", "state",
         "share_of_region", "share_of_target", "alloc_target", "completion_rate", "status"]].rename(columns={
            "unit_name": "单位", "indicator_code": "编码", "indicator_name": "指标", "measure": "计量单位",
            "value": "累计值", "period_label": "数据来自", "state": "报送情况", "share_of_region": "占全区合计",
            "share_of_target": "占全区目标", "alloc_target": "分解目标", "completion_rate": "完成率",
            "status": "状态"})}, content="各盟市各项指标的累计值、占全区合计与占全区目标的比例", scope=SCOPE,
        as_of=as_of, formats={"各盟市各指标": {"占全区合计": PERCENT, "占全区目标": PERCENT, "完成率": PERCENT}},
        extra=[("数据依据", coverage), ("说明", "「报送情况」为结转的，数字沿用更早报告期的报表（见「数据来自」）")]),
    file_name=f"各盟市各指标_{as_of.isoformat()}.xlsx", icon=":material/download:", on_click="ignore")

clicked = _picked(ev_map) or _picked(ev_rank)
if clicked and flt.units != (clicked,):
    filters.set_filters(units=(clicked,))
    st.rerun()

# ---------------------------------------------------------------- one unit's view
st.divider()
st.subheader("单位详情")
current = flt.units[0] if len(flt.units) == 1 else None
choices = [None] + ref.unit_codes
pick = st.selectbox("选择单位（也可点击地图或排名图中的单位）", choices, index=choices.index(current),
                    format_func=lambda c: "—— 请选择单位 ——" if c is None else UNIT_NAMES[c], key=f"region_pick_{sel_key}")
if len(flt.units) > 1 and pick is None:
    st.info("侧栏选了多个单位（" + "、".join(UNIT_NAMES[u] for u in flt.units) + "）。请在上面选择其中一个查看详情。")
elif pick != current:
    filters.set_filters(units=(pick,) if pick else ())
    st.rerun()

if current is None:
    if len(flt.units) <= 1:
        st.caption("尚未选择单位。")
    st.stop()

code = current
name = UNIT_NAMES[code]
if st.button("返回全区（清除单位选择）", icon=":material/arrow_back:"):
    filters.set_filters(units=())
    st.rerun()

basis = q(queries.return_basis, as_of)
b = basis[basis["unit_code"] == code].iloc[0]
counts = q(queries.unit_item_counts, as_of, units=(code,), **item_filter)
n_items = counts["items"].iloc[0] if len(counts) else pd.NA
st.markdown(f"### {name}（{code}）")
cols = st.columns(4)
cols[0].metric("所用报表", "无" if b["state"] == STATE_NO_RETURN else _label(b["period_code"]),
               help="截至所选日期，该单位最近一期已入库报表的报告期")
cols[1].metric("报送情况", BASIS_WORDS[b["state"]],
               help=f"当期：报告期末为{fmt_date(as_of)}（含所选日期的报告期）的报表")
cols[2].metric("在库合作事项" + ("（已筛选）" if flt.any_item_filter else ""),
               "—" if pd.isna(n_items) else f"{number(n_items)} 项")
cols[3].metric("报表版本", version_zh(b["version"]))

if b["state"] == STATE_NO_RETURN:
    st.warning(f"截至{fmt_date(as_of)}，{name}还没有任何报表入库，没有可显示的指标和合作事项。下面是它的报送记录。",
               icon=":material/report:")
else:
    if b["state"] == STATE_CARRIED:
        st.info(f"{name}没有报送报告期末为{fmt_date(as_of)}（含所选日期）的报表，以下数字沿用"
                f"报告期末为{fmt_date(b['period_end'])}的报表（数据截至{fmt_date(b['period_end'])}）。",
                icon=":material/history:")
    st.markdown("#### 指标进展")
    table = q(queries.progress_table, as_of, unit=code)
    mrow = matrix[matrix["unit_code"] == code].set_index("indicator_code")
    has_alloc = table["target"].notna().any()
    if not has_alloc:
        st.caption("本计划尚未把目标分解到各盟市（管理员可在「系统管理 → 计划目标」中分解），因此该单位没有自己的目标和完成率；"
                   "「占全区目标」= 该单位累计值 ÷ 全区目标值，表示它对全区目标的贡献。")
    show = pd.DataFrame({
        "编码": table["indicator_code"],
        "指标": table["name"],
        "计量单位": table["measure"],
        "累计值": table["value"],
        "数据来自": [("未报送" if mrow.loc[c, "state"] in NO_FIGURE_STATES else
                      mrow.loc[c, "period_label"] + ("（沿用）" if mrow.loc[c, "state"] == STATE_CARRIED else ""))
                     for c in table["indicator_code"]],
        "占全区合计": [pct(mrow.loc[c, "share_of_region"]) for c in table["indicator_code"]],
        "占全区目标": [pct(mrow.loc[c, "share_of_target"]) for c in table["indicator_code"]],
        "分解目标": table["target"].map(lambda t: "未分解" if pd.isna(t) else number(t)),
        "完成率": table["completion_rate"].map(pct),
        "差距（百分点）": table["gap_pp"].map(lambda g: "—" if pd.isna(g) else f"{g:+.1f}"),
        "状态": table["status"],
    })
    if not has_alloc:
        show = show.drop(columns=["分解目标", "完成率", "差距（百分点）", "状态"])

    def _colour(v: str) -> str:
        c = F.STATUS_COLORS.get(v)
        return f"background-color: {c}; color: white; font-weight: 600" if c and v in STATUS_ORDER[:4] else ""

    show_table(show.style.map(_colour, subset=["状态"]) if has_alloc else show, hide_index=True, width="stretch",
                 height=table_height(len(show), cap=None))
    if table["value"].isna().all():
        st.info(f"{name}的报表中没有填写任何指标数值（表1为空）。")

    st.markdown("#### 合作事项")
    items = q(queries.unit_items, as_of, code, **item_filter)
    filters.filter_caption(flt)
    if items.empty:
        st.info(f"{name}截至{fmt_date(as_of)}的报表中没有" + ("符合筛选条件的" if flt.any_item_filter else "")
                + "合作事项。")
    else:
        with_ended = st.toggle("包含已终止的事项", value=False, key="region_items_ended")
        it = items if with_ended else items[items["is_live"]]
        st.caption(f"共{len(it)}项（来自{_label(items['period_code'].iloc[0])}报表第{int(items['version'].iloc[0])}版；"
                   "已终止的事项不计入指标）")
        view = pd.DataFrame({
            "事项名称": it["item_name"], "事项类别": it["item_type"], "所属领域": it["sector_name"],
            "合作国家（地区）": it["partner_names"], "合作单位": it["partner_institutions"].fillna(""),
            "本地承担单位": it["local_institution"].fillna(""), "起始日期": it["start_date"].map(fmt_date),
            "状态": it["status"], "投入经费（万元）": it["funding_wan"],
            "来源": [f"{f} 表2第{r}行" for f, r in zip(it["file_name"], it["source_row"])],
        })
        show_table(view, hide_index=True, width="stretch", height=table_height(len(view), cap=None, max_px=420))
        st.download_button(f"下载{name}合作事项（Excel）", lambda: excel_bytes(
            {"合作事项": view}, content=f"{name}的合作事项" + ("（含已终止）" if with_ended else "（在册）"),
            scope=name, as_of=as_of, filters=flt.describe(),
            extra=[("所用报表", f"{_label(items['period_code'].iloc[0])}报表第{int(items['version'].iloc[0])}版")]),
            file_name=f"{name}_合作事项_{as_of.isoformat()}.xlsx", icon=":material/download:", on_click="ignore")

st.markdown("#### 报送记录")
hist = q(queries.reporting_matrix, today=date.today(), units=(code,), end=as_of)
if hist.empty:
    st.info("截至所选日期还没有应报的报告期。")
else:
    n_on = int((hist["state"] == "按时").sum())
    n_late = int((hist["state"] == "逾期").sum())
    n_miss = int((hist["state"] == REPORT_MISSING).sum())
    st.caption(f"截至{fmt_date(as_of)}应报{len(hist)}期：按时{n_on}期、逾期{n_late}期、缺报{n_miss}期"
               f"（报告期结束后{ref.deadline_days}天内报送为按时，按首次报送时间计）。")
    show_table(pd.DataFrame({
        "报告期": hist["period_label"],
        "报送截止": hist["deadline"].map(fmt_date),
        "状态": hist["state"] + hist["flag"].map(lambda f: f"（{f}）" if f else ""),
        "首次报送": hist["first_received_at"].map(fmt_date),
        "逾期天数": hist["days_late"],
        "当前版本": hist["version"].map(version_zh),
        "版本数": hist["n_versions"],
        "未通过检查": hist["rejected_attempts"],
    }), hide_index=True, width="stretch")
versions = q(queries.submission_history, code)
versions = versions[pd.to_datetime(versions["period_end"]).dt.date <= as_of] if len(versions) else versions
versions_box = on_demand(f"全部报送版本（{len(versions)}份）", key=f"region_versions_{code}")
if versions_box.open:
    with versions_box:
        if versions.empty:
            st.caption("没有报送记录。")
        else:
            show_table(pd.DataFrame({
                "报告期": versions["period_code"].map(_label),
                "版本": versions["version"], "接收时间": versions["received_at"], "状态": versions["state"],
                "来源": versions["source_zh"], "文件": versions["file_name"],
                "错误": versions["n_errors"], "提示": versions["n_warnings"],
            }), hide_index=True, width="stretch")
