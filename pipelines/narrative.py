"""The briefing's text (简报): Chinese sentences in the register of a government progress report.

Everything here is computed from the same queries the pages use (progress_table,
return_basis, unit_item_counts, items_by_sector_type, items_by_partner,
region_series), gathered once by ``gather`` into a ``BriefingData``; ``narrative``
turns that into sections of paragraphs, ``key_figures`` into the short list
under the text, ``briefing_figures`` into the charts. The words live in the plan
file (data/plans/*.yaml ``wording``, next to each indicator's ``sentence``), so
the next plan changes wording without code.

    with connect(db) as con:
        data = gather(con, date(2019, 6, 30))
    text = narrative(data)          # Narrative(title, subtitle, sections=[Section(heading, paragraphs)])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from .progress import (
    as_of_phrase, coverage_phrase, data_end, gap_phrase, indicator_sentence, pct_text, progress_table,
    return_basis, sentences_for,
)
from .reference import Reference, load_reference
from .vocab import (
    STATE_CARRIED, STATE_CURRENT, STATE_NO_RETURN, STATUS_AHEAD, STATUS_BEHIND, STATUS_DONE, STATUS_PARTIAL,
    STATUS_SLIGHT, STATUS_SUBSET, VERDICTS, date_phrase, date_zh, period_label, quantity,
)

TOP_N = 3  # units, partners and sectors named as leading / moving most


@dataclass
class BriefingData:
    """What the briefing says, for one as-of date and scope (the region, or one unit)."""
    as_of: date
    unit: str | None
    scope: str
    table: pd.DataFrame        # progress_table for the scope
    basis: pd.DataFrame        # return_basis, rows in scope
    prev_as_of: date | None    # the previous period end with data (for 「较上期」)
    units_now: pd.DataFrame    # unit_item_counts at as_of (all units: for ranks)
    units_prev: pd.DataFrame   # unit_item_counts at prev_as_of (empty without one)
    sectors_now: pd.DataFrame  # items per sector (scope)
    sectors_prev: pd.DataFrame
    partners_now: pd.DataFrame  # items per partner (scope; foreign and domestic)
    partners_prev: pd.DataFrame
    series: pd.DataFrame       # region_series up to as_of (scope)
    sectors_by_type: pd.DataFrame  # items_by_sector_type at as_of (the 按领域 chart's data)
    unit_items: pd.DataFrame   # unit_metric(measure="items") at as_of (the 按盟市 ranking's data)
    matrix: pd.DataFrame = field(default_factory=pd.DataFrame)  # unit_indicator_matrix (with 任务分解 only)
    is_demo: bool = False
    n_items: int = 0
    funding_wan: float = 0.0


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class Narrative:
    title: str
    subtitle: str
    sections: list[Section]
    key_figures: list[tuple[str, str]]  # (label, value) shown under the text

    def text(self) -> str:
        """Plain text: title, subtitle, headings and paragraphs (what the page shows and copies)."""
        out = [self.title, self.subtitle, ""]
        for s in self.sections:
            out.append(s.heading)
            out.extend(s.paragraphs)
            out.append("")
        out.append("关键数据")
        out.extend(f"{k}：{v}" for k, v in self.key_figures)
        return "\n".join(out).strip() + "\n"


# --------------------------------------------------------------------------
def scope_progress(con, as_of: date, unit: str | None, ref: Reference) -> pd.DataFrame:
    """The progress table the briefing uses: the region; a unit against its own allocated targets
    when the plan allocates any to it, else its share of the region's targets (as 总览 does)."""
    if unit is None:
        return progress_table(con, as_of, ref=ref)
    if (ref.plan.allocations["unit_code"] == unit).any():
        return progress_table(con, as_of, unit=unit, ref=ref)
    return progress_table(con, as_of, units=[unit], ref=ref)


def gather(con, as_of: date, unit: str | None = None, ref: Reference | None = None) -> BriefingData:
    """Run the pages' queries once for the briefing."""
    from . import queries as Q

    ref = ref or load_reference()
    units = (unit,) if unit else ()
    table = scope_progress(con, as_of, unit, ref)
    # 「较上期」: the period end with data before the one the figures come from
    newest = min(as_of, data_end(table) or as_of)
    options = sorted(d for d in Q.as_of_options(con) if d < newest)
    prev = options[-1] if options else None
    basis = return_basis(con, as_of, ref)
    if unit:
        basis = basis[basis["unit_code"] == unit].reset_index(drop=True)

    def sectors(by_type):
        return by_type.groupby(["sector_code", "sector_name"], as_index=False)["items"].sum()

    by_type = Q.items_by_sector_type(con, as_of, units=units)

    def partners(d):
        return Q.items_by_partner(con, d, units=units)

    summary = Q.items_summary(con, as_of, units=units).iloc[0]
    empty = pd.DataFrame()
    return BriefingData(
        as_of=as_of, unit=unit, scope=ref.unit_name(unit) if unit else "全区",
        table=table, basis=basis, prev_as_of=prev,
        units_now=Q.unit_item_counts(con, as_of),
        units_prev=Q.unit_item_counts(con, prev) if prev else empty,
        sectors_now=sectors(by_type),
        sectors_prev=sectors(Q.items_by_sector_type(con, prev, units=units)) if prev else empty,
        partners_now=partners(as_of), partners_prev=partners(prev) if prev else empty,
        series=Q.region_series(con, units=list(units) or None, until=as_of),
        sectors_by_type=by_type, unit_items=Q.unit_metric(con, as_of, "items"),
        matrix=Q.unit_indicator_matrix(con, as_of) if len(ref.plan.allocations) and unit is None else empty,
        is_demo=Q.is_demo(con), n_items=int(summary["items"]), funding_wan=float(summary["funding_wan"]),
    )


# --------------------------------------------------------------------------
def _join(names: list[str]) -> str:
    return "、".join(names)


def _fmt(v) -> str:
    return f"{int(v):,}" if float(v).is_integer() else f"{v:,.1f}"


def overall_rate(table: pd.DataFrame) -> float | None:
    """平均完成率: the mean 完成率 of indicators with a target and figures, each capped at 100%
    (one indicator far over its target does not hide the others)."""
    rates = table["completion_rate"].dropna()
    return None if rates.empty else float(rates.clip(upper=1.0).mean())


def _overall(d: BriefingData, w: dict) -> list[str]:
    t = d.table
    when = as_of_phrase(d.as_of, data_end(t), w)
    tp = pct_text(t["time_progress"].iloc[0])
    if not t["value"].notna().any():
        return [w["brief_overall_no_data"].format(when=when, scope=d.scope, tp=tp)]
    counts = t["status"].value_counts()
    n = len(t)
    if counts.get(STATUS_SUBSET, 0):
        return [w["brief_overall_share"].format(when=when, scope=d.scope, n=int(t["value"].notna().sum()), tp=tp)]
    rate = overall_rate(t)
    verdicts = {s: int(counts.get(s, 0)) for s in VERDICTS}
    partial = int(counts.get(STATUS_PARTIAL, 0))
    if rate is None:
        return [w["brief_overall_no_target"].format(when=when, scope=d.scope, n=n, tp=tp)]
    paras = []
    if partial and not any(verdicts.values()):
        rep = t.loc[t["status"] == STATUS_PARTIAL, "units_reporting"]
        paras.append(w["brief_overall_partial"].format(
            when=when, scope=d.scope, n=n, rate=pct_text(rate), tp=tp, total=int(t["units_total"].iloc[0]),
            reporting=str(int(rep.max())) if rep.min() == rep.max() else f"{int(rep.min())}～{int(rep.max())}"))
        return paras
    gap = (rate - float(t["time_progress"].iloc[0])) * 100
    paras.append(w["brief_overall"].format(when=when, scope=d.scope, n=n, rate=pct_text(rate), tp=tp,
                                           gap=gap_phrase(gap, w)))
    if verdicts[STATUS_DONE] == n:
        paras.append(w["brief_all_done"].format(n=n))
    elif verdicts[STATUS_BEHIND] + verdicts[STATUS_SLIGHT] == n:
        paras.append(w["brief_all_behind"].format(n=n, behind=verdicts[STATUS_BEHIND],
                                                  slight=verdicts[STATUS_SLIGHT]))
    else:
        parts = [w["brief_count"].format(status=s, k=k) for s, k in verdicts.items() if k]
        if partial:
            parts.append(w["brief_count"].format(status=STATUS_PARTIAL, k=partial))
        paras.append(w["brief_counts"].format(parts="，".join(parts)))
    return paras


def _indicators(d: BriefingData, w: dict, ref: Reference) -> list[str]:
    t = d.table
    paras = []
    named = {STATUS_DONE: "brief_done", STATUS_AHEAD: "brief_ahead", STATUS_SLIGHT: "brief_slight",
             STATUS_BEHIND: "brief_behind"}
    for status, key in named.items():
        rows = t[t["status"] == status]
        if rows.empty:
            continue
        if status == STATUS_DONE:
            items = [f"{r.short_name}（完成率{pct_text(r.completion_rate)}）" for r in rows.itertuples()]
        else:
            rows = rows.sort_values("gap_pp", ascending=status != STATUS_AHEAD)
            items = [f"{r.short_name}（完成率{pct_text(r.completion_rate)}，{gap_phrase(r.gap_pp, w)}）"
                     for r in rows.itertuples()]
        paras.append(w[key].format(k=len(rows), names=_join(items)))
    partial = t[t["status"] == STATUS_PARTIAL]
    if len(partial):
        paras.append(w["brief_partial"].format(k=len(partial), names=_join(partial["short_name"].tolist())))
    sents = sentences_for(ref)
    lines = [w["brief_indicator_item"].format(i=i, sentence=indicator_sentence(r, d.as_of, d.scope, sents, w))
             for i, r in enumerate(t.itertuples(), 1)]
    paras.append(w["brief_indicator_list"])
    paras.extend(lines)
    return paras


def _increase(now: pd.DataFrame, prev: pd.DataFrame, key: str, value: str = "items") -> pd.DataFrame:
    """now, prev and the change per key (missing = 0)."""
    a = now.set_index(key)[value].astype("float") if len(now) else pd.Series(dtype=float)
    b = prev.set_index(key)[value].astype("float") if len(prev) else pd.Series(dtype=float)
    out = pd.DataFrame({"now": a, "prev": b}).fillna(0.0)
    out["change"] = out["now"] - out["prev"]
    return out


def _units(d: BriefingData, w: dict, ref: Reference) -> list[str]:
    now = d.units_now
    have = now[now["items"].notna()]
    if have.empty:
        return [w["brief_units_none"]]
    prev_txt = date_phrase(d.prev_as_of) if d.prev_as_of else None
    if d.unit:
        row = now[now["unit_code"] == d.unit].iloc[0]
        if pd.isna(row["items"]):
            return [w["brief_unit_no_return"].format(scope=d.scope)]
        rank = int((have["items"] > row["items"]).sum()) + 1
        para = w["brief_unit_rank"].format(scope=d.scope, items=_fmt(row["items"]), n=len(have), rank=rank)
        if d.prev_as_of is not None and len(d.units_prev):
            ch = _increase(now.dropna(subset=["items"]), d.units_prev.dropna(subset=["items"]), "unit_code")
            if d.unit in ch.index:
                para += w["brief_unit_change"].format(prev=prev_txt, change=_fmt(ch.loc[d.unit, "change"]))
        return [para]
    names = dict(zip(now["unit_code"], now["unit_name"]))
    top = have.sort_values(["items", "unit_code"], ascending=[False, True]).head(TOP_N)
    paras = [w["brief_units_top"].format(names=_join(f"{names[c]}（{_fmt(v)}项）"
                                                     for c, v in zip(top["unit_code"], top["items"])))]
    if d.prev_as_of is not None and len(d.units_prev):
        ch = _increase(have, d.units_prev.dropna(subset=["items"]), "unit_code")
        ch = ch.loc[[c for c in have["unit_code"]]]
        most = ch.sort_values(["change", "now"], ascending=[False, False]).head(TOP_N)
        least = ch.sort_values(["change", "now"], ascending=[True, True]).head(TOP_N)
        paras.append(w["brief_units_moved"].format(
            prev=prev_txt,
            most=_join(f"{names[c]}（新增{_fmt(v)}项）" for c, v in zip(most.index, most["change"])),
            least=_join(f"{names[c]}（{'新增' + _fmt(v) + '项' if v > 0 else ('减少' + _fmt(-v) + '项' if v < 0 else '无新增')}）"
                        for c, v in zip(least.index, least["change"]))))
    paras.extend(_units_by_allocation(d, w))
    lag = d.basis[d.basis["state"] != STATE_CURRENT]
    if len(lag):
        paras.append(w["brief_units_not_current"].format(
            names=_join(f"{r.unit_name}（{'尚无报表' if r.state == STATE_NO_RETURN else '沿用' + period_label(r.period_code)}）"
                        for r in lag.itertuples())))
    return paras


def _units_by_allocation(d: BriefingData, w: dict) -> list[str]:
    """With 任务分解 (plan ``allocations``): the units ahead of and behind 时间进度 on their own
    targets, by their mean 完成率 over the allocated indicators (each capped at 100%), as 按盟市 shows."""
    m = d.matrix
    if m.empty or "completion_rate" not in m or m["completion_rate"].notna().sum() == 0:
        return []
    rates = (m.dropna(subset=["completion_rate"]).assign(r=lambda x: x["completion_rate"].clip(upper=1.0))
             .groupby(["unit_code", "unit_name"], as_index=False)["r"].mean())
    tp = float(m["time_progress"].iloc[0])
    ahead = rates[rates["r"] >= tp].sort_values("r", ascending=False).head(TOP_N)
    behind = rates[rates["r"] < tp].sort_values("r").head(TOP_N)
    say = lambda rows: _join(f"{n}（{pct_text(r)}）" for n, r in zip(rows["unit_name"], rows["r"]))  # noqa: E731
    return [w["brief_units_alloc"].format(
        ahead=say(ahead) if len(ahead) else w["brief_none"], behind=say(behind) if len(behind) else w["brief_none"],
        tp=pct_text(tp))]


def _moved(now: pd.DataFrame, prev: pd.DataFrame, key: str, name: str) -> list[tuple[str, float, float]]:
    """(name, change, now) of the rows that grew most, largest change first (only growth)."""
    if now.empty:
        return []
    ch = _increase(now, prev, key)
    labels = dict(zip(now[key], now[name]))
    ch = ch[ch["change"] > 0].assign(label=lambda x: x.index.map(lambda c: labels.get(c, c)))
    ch = ch.reset_index().sort_values(["change", "now", key], ascending=[False, False, True]).head(TOP_N)
    return list(zip(ch["label"], ch["change"], ch["now"]))


def _partners_sectors(d: BriefingData, w: dict) -> list[str]:
    if d.n_items == 0:
        return [w["brief_items_none"].format(scope=d.scope)]
    paras = []
    foreign = d.partners_now[d.partners_now["kind"] == "foreign"] if len(d.partners_now) else d.partners_now
    domestic = d.partners_now[d.partners_now["kind"] == "domestic"] if len(d.partners_now) else d.partners_now
    paras.append(w["brief_items_total"].format(
        scope=d.scope, items=_fmt(d.n_items), foreign=len(foreign), domestic=len(domestic),
        funding=f"{d.funding_wan:,.1f}"))
    if d.prev_as_of is None or d.partners_prev is None or (d.partners_prev.empty and d.sectors_prev.empty):
        paras.append(w["brief_first_period"])
        return paras
    prev_txt = date_phrase(d.prev_as_of)

    def say(rows, key):
        return _join(w["brief_moved_item"].format(name=n, change=_fmt(c), now=_fmt(v)) for n, c, v in rows)

    fp = d.partners_prev[d.partners_prev["kind"] == "foreign"] if len(d.partners_prev) else d.partners_prev
    dp = d.partners_prev[d.partners_prev["kind"] == "domestic"] if len(d.partners_prev) else d.partners_prev
    f_rows = _moved(foreign, fp, "partner_code", "name")
    d_rows = _moved(domestic, dp, "partner_code", "name")
    s_rows = _moved(d.sectors_now, d.sectors_prev, "sector_code", "sector_name")
    if f_rows:
        paras.append(w["brief_partners_moved"].format(prev=prev_txt, names=say(f_rows, "partner")))
    if d_rows:
        paras.append(w["brief_domestic_moved"].format(names=say(d_rows, "partner")))
    if s_rows:
        paras.append(w["brief_sectors_moved"].format(names=say(s_rows, "sector")))
    if not (f_rows or d_rows or s_rows):
        paras.append(w["brief_nothing_moved"].format(prev=prev_txt))
    return paras


def _coverage(d: BriefingData, w: dict) -> list[str]:
    paras = []
    b = d.basis
    cur = b[b["state"] == STATE_CURRENT]
    car = b[b["state"] == STATE_CARRIED]
    mis = b[b["state"] == STATE_NO_RETURN]
    end = data_end(d.table)
    if d.unit and len(b) == 1 and b["state"].iloc[0] != STATE_NO_RETURN:
        paras.append(w["brief_coverage_unit"].format(scope=d.scope, date=date_zh(d.as_of),
                                                     period=period_label(b["period_code"].iloc[0])))
    else:
        paras.append(w["brief_coverage"].format(coverage=coverage_phrase(b), date=date_zh(d.as_of)))
    if end is not None and end < d.as_of:
        paras.append(w["brief_stale"].format(date=date_zh(d.as_of), data_date=date_zh(end)))
    if len(car):
        paras.append(w["brief_carried"].format(names=_join(
            f"{r.unit_name}沿用{period_label(r.period_code)}报表" for r in car.itertuples())))
    if len(mis):
        paras.append(w["brief_missing"].format(names=_join(mis["unit_name"].tolist())))
    partial = d.table[d.table["status"] == STATUS_PARTIAL]
    if len(partial):
        paras.append(w["brief_no_verdict"].format(k=len(partial)))
    if (d.table["status"] == STATUS_SUBSET).any():
        paras.append(w["brief_share_note"].format(scope=d.scope))
    if len(cur) == len(b) and not len(partial) and (end is None or end >= d.as_of):
        paras.append(w["brief_all_current"])
    if d.is_demo:
        paras.append(w["brief_demo"])
    return paras


def key_figures(d: BriefingData) -> list[tuple[str, str]]:
    t = d.table
    counts = t["status"].value_counts()
    out = [("截止日期", date_zh(d.as_of)), ("范围", d.scope), ("时间进度", pct_text(t["time_progress"].iloc[0]))]
    end = data_end(t)
    if end is not None and end < d.as_of:
        out.append(("数据截至", date_zh(end)))
    rate = overall_rate(t) if not (t["status"] == STATUS_SUBSET).any() else None
    if rate is not None:
        out.append(("平均完成率", pct_text(rate)))
    if any(counts.get(s, 0) for s in VERDICTS):
        out.append(("指标状态", "，".join(f"{s}{int(counts.get(s, 0))}项" for s in VERDICTS)))
    if counts.get(STATUS_PARTIAL, 0):
        out.append(("数据不全（未判断）", quantity(int(counts[STATUS_PARTIAL]), "项")))
    b = d.basis
    out.append(("当期报送单位", f"{int((b['state'] == STATE_CURRENT).sum())}/{len(b)}"))
    out.append(("在册合作事项", quantity(d.n_items, "项")))
    out.append(("投入经费", quantity(d.funding_wan, "万元", 1)))
    if len(d.partners_now):
        out.append(("合作国家", quantity(int((d.partners_now["kind"] == "foreign").sum()), "个")))
        out.append(("国内合作省（区、市）", quantity(int((d.partners_now["kind"] == "domestic").sum()), "个")))
    return out


def narrative(d: BriefingData, ref: Reference | None = None) -> Narrative:
    ref = ref or load_reference()
    w = ref.plan.wording
    sections = [
        Section(w["brief_h_overall"], _overall(d, w)),
        Section(w["brief_h_indicators"], _indicators(d, w, ref)),
        Section(w["brief_h_units"], _units(d, w, ref)),
        Section(w["brief_h_partners"], _partners_sectors(d, w)),
        Section(w["brief_h_coverage"], _coverage(d, w)),
    ]
    title = w["brief_title"].format(plan=ref.plan.name, scope=d.scope)
    sub = w["brief_subtitle"].format(when=as_of_phrase(d.as_of, data_end(d.table), w), scope=d.scope)
    if d.is_demo:
        sub += w["brief_demo_mark"]
    return Narrative(title=title, subtitle=sub, sections=sections, key_figures=key_figures(d))


# --------------------------------------------------------------------------
def briefing_figures(d: BriefingData, ref: Reference | None = None) -> list[tuple[str, object]]:
    """The key figures under the text, as (file name stem, plotly figure), in order."""
    from . import figures as F

    ref = ref or load_reference()
    n_cur = int((d.basis["state"] == STATE_CURRENT).sum())
    cov = coverage_phrase(d.basis) if n_cur < len(d.basis) else None
    extra = " · ".join(x for x in (F.basis_extra(d.basis),) if x) or None
    figs = [("01_指标完成率与时间进度", F.progress_bars(d.table, d.as_of, d.scope, cov))]
    if len(d.series):
        figs.append(("02_各项指标进度趋势", F.trend_small_multiples(d.series, d.as_of, d.scope,
                                                          plan_start=ref.plan.start, plan_end=ref.plan.end)))
    if d.unit is None:
        figs.append(("03_各盟市在册合作事项", F.unit_ranking(
            d.unit_items, "各盟市在册合作事项数", F.subtitle("全区", d.as_of, extra), "合作事项（项）")))
    sector_order = ref.sectors["name"].tolist()
    figs.append(("04_各领域合作事项", F.sector_bars(d.sectors_by_type, d.as_of, d.scope, extra,
                                                 sector_order=sector_order,
                                                 type_order=ref.item_types["name"].tolist())))
    foreign = d.partners_now[d.partners_now["kind"] == "foreign"] if len(d.partners_now) else d.partners_now
    figs.append(("05_主要合作国家", F.partner_top(foreign, d.as_of, d.scope, extra)))
    return figs
