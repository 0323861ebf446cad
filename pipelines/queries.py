"""Named queries over the public views -> DataFrames. Pages read only through here.

Every function takes an open DuckDB connection first; the UI runs them
through a cache keyed by the database's version (ui.common.q).
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from .vocab import (
    STATE_CARRIED, STATE_CURRENT, STATE_NO_RETURN, STATE_NOT_REPORTED, money_wan, number, period_label,
    verdict_min_coverage,
)
from .progress import carried_figures, progress_table, return_basis, trend_projection  # noqa: F401  (re-exported for pages)


def is_demo(con) -> bool:
    """True while the current data include generated demo returns."""
    return bool(con.execute("SELECT count(*) FROM v_submissions WHERE source = 'demo'").fetchone()[0])


def as_of_options(con) -> list[date]:
    """Period ends with current data, latest first."""
    rows = con.execute("SELECT DISTINCT period_end FROM v_submissions ORDER BY period_end DESC").fetchall()
    return [r[0] for r in rows]


# Reporting status (报送情况): the SQL lives in pipelines/reporting.py.
from .reporting import reporting_matrix, reporting_rates, reporting_reminders, reporting_tables  # noqa: E402,F401


def any_submissions(con) -> bool:
    """True once anything was ever sent, loaded or rejected (a fresh database has nothing)."""
    return bool(con.execute("SELECT count(*) FROM submissions").fetchone()[0])


# --------------------------------------------------------------------------
# Upload and version history (数据报送, 版本历史). Every version is kept in the
# submissions table; the public views show only current ones, so these read it.
SUBMISSION_STATE = {"current": "当前", "superseded": "已被取代", "rejected": "未通过"}
SOURCE_ZH = {"web": "网页报送", "cli": "命令行", "demo": "演示数据", "test": "测试"}
EVENT_ZH = {"loaded": "载入", "superseded": "被取代", "restored": "设为当前版本", "rejected": "未通过检查"}


def reported_period_ends(con, unit_code: str) -> list[date]:
    """Period ends for which the unit has a current loaded return, earliest first."""
    rows = con.execute("SELECT DISTINCT period_end FROM v_submissions WHERE unit_code = ? ORDER BY period_end",
                       [unit_code]).fetchall()
    return [r[0] for r in rows]


def submission_units(con) -> list[str]:
    """Unit codes with any submission (loaded or rejected)."""
    rows = con.execute("SELECT DISTINCT unit_code FROM submissions WHERE unit_code IS NOT NULL").fetchall()
    return sorted(r[0] for r in rows)


def submission_periods(con, unit_code: str) -> pd.DataFrame:
    """A unit's periods with submissions, latest first: period_end, period_code, versions, current_version."""
    return con.execute("""
        SELECT period_end,
               arg_max(period_code, submission_id) AS period_code,
               count(*) AS submissions,
               max(CASE WHEN is_current THEN version END) AS current_version
        FROM submissions WHERE unit_code = ? AND period_end IS NOT NULL
        GROUP BY period_end ORDER BY period_end DESC""", [unit_code]).df()


def submission_history(con, unit_code: str, period_end: date | None = None) -> pd.DataFrame:
    """Every submission of a unit (optionally one period), latest period and newest first.

    ``state`` is 当前 / 已被取代 / 未通过; ``source_zh`` says where it came from.
    """
    df = con.execute("""
        SELECT submission_id, unit_code, period_code, period_kind, period_end, version, received_at,
               received_by, source, status, is_current, n_errors, n_warnings, file_name, file_hash, file_size,
               filler, phone, fill_date
        FROM submissions
        WHERE unit_code = ? AND (CAST(? AS DATE) IS NULL OR period_end = CAST(? AS DATE))
        ORDER BY period_end DESC NULLS LAST, submission_id DESC""", [unit_code, period_end, period_end]).df()
    df["state"] = [SUBMISSION_STATE["rejected"] if s != "loaded" else
                   SUBMISSION_STATE["current"] if c else SUBMISSION_STATE["superseded"]
                   for s, c in zip(df["status"], df["is_current"])]
    df["source_zh"] = df["source"].map(lambda s: SOURCE_ZH.get(s, s or "—"))
    df["version"] = df["version"].astype("Int64")
    return df


def submission_issues(con, submission_id: int) -> list:
    """The Issues recorded when a submission was checked (``Issue.from_dict`` of the stored rows):
    errors first, then by sheet and row."""
    from .issues import Issue

    df = con.execute("""
        SELECT code, severity, sheet, row_no AS "row", column_name AS "column", value, message, suggestion, params
        FROM issues WHERE submission_id = ?
        ORDER BY severity = 'warning', sheet NULLS FIRST, row_no NULLS FIRST""", [int(submission_id)]).df()
    return [Issue.from_dict(r) for r in df.to_dict("records")]


def submission_events(con, unit_code: str, period_end: date | None = None) -> pd.DataFrame:
    """The event log of a unit's submissions (optionally one period), newest first."""
    df = con.execute("""
        SELECT e.event_at, e.action, e.by_user, e.note, s.submission_id, s.version, s.period_code,
               s.period_end, s.file_name
        FROM submission_events e JOIN submissions s USING (submission_id)
        WHERE s.unit_code = ? AND (CAST(? AS DATE) IS NULL OR s.period_end = CAST(? AS DATE))
        ORDER BY e.event_at DESC, e.action = 'superseded', s.submission_id DESC""",
        [unit_code, period_end, period_end]).df()
    df["action_zh"] = df["action"].map(lambda a: EVENT_ZH.get(a, a))
    df["version"] = df["version"].astype("Int64")
    return df


# ==========================================================================
# 按盟市 (by region) and 进度趋势 (trends): region_* / unit_* / trend_*.
# Every as-of rule is progress_table's (DOMAIN.md "Values at an as-of date").

def _region_item_filter(sectors=(), type_names=(), partner_codes=(), alias: str = "i") -> tuple[str, list]:
    """SQL conditions (" AND ...") and parameters for the sidebar's item filters."""
    conds, params = [], []
    if sectors:
        conds.append(f"{alias}.sector_code IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(sectors))
    if type_names:
        conds.append(f"{alias}.item_type IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(type_names))
    if partner_codes:
        conds.append(f"list_has_any({alias}.partners, ?::VARCHAR[])")
        params.append(list(partner_codes))
    return "".join(f" AND {c}" for c in conds), params


# Each unit's latest current return on or before the as-of date (its live items are that return's).
_LATEST_RETURN = """SELECT unit_code, max(period_end) AS period_end
                    FROM v_submissions WHERE period_end <= ? GROUP BY unit_code"""


def unit_item_counts(con, as_of: date, units=(), sectors=(), type_names=(), partner_codes=()) -> pd.DataFrame:
    """One row per reporting unit (data/units.csv): its live items at ``as_of`` matching the item
    filters, their funding, and the return they come from.

    ``items`` is <NA> for a unit with no return on or before ``as_of`` (unknown, not zero).
    state: 当期 / 结转 / 缺报 as in return_basis.
    """
    from .reference import load_reference

    ref = load_reference()
    where, params = _region_item_filter(sectors, type_names, partner_codes)
    counts = con.execute(f"""
        WITH latest AS ({_LATEST_RETURN})
        SELECT i.unit_code, count(*) AS items, sum(i.funding_wan) AS funding_wan
        FROM v_items i JOIN latest l ON i.unit_code = l.unit_code AND i.period_end = l.period_end
        WHERE i.is_live {where}
        GROUP BY i.unit_code""", [as_of, *params]).df()
    basis = return_basis(con, as_of, ref)
    out = basis[["unit_code", "unit_name", "period_code", "period_end", "state"]].merge(
        counts, how="left", on="unit_code")
    has_return = out["state"] != STATE_NO_RETURN
    out["items"] = out["items"].fillna(0).astype("Int64").where(has_return, pd.NA)
    out["funding_wan"] = out["funding_wan"].fillna(0.0).where(has_return)
    out["on_map"] = out["unit_code"].map(dict(zip(ref.units["code"], ref.units["on_map"]))).fillna(False)
    if units:
        out = out[out["unit_code"].isin(units)]
    return out.reset_index(drop=True)


def unit_indicator_matrix(con, as_of: date, units=()) -> pd.DataFrame:
    """One row per unit x plan indicator at ``as_of``.

    value / period_code / state (当期, 结转 = carried forward from an earlier period, 未报 = no figure for
    this indicator: no return, or its cell left blank; vocab.STATE_*) follow
    the as-of rules; region_value is the sum over all units (= progress_table's value);
    share_of_region = value / region_value; share_of_target = value / the region's target;
    alloc_target / alloc_baseline / completion_rate / gap_pp / status refer to the unit's own
    allocated target (plan ``allocations``) and are empty where none is set.
    """
    from .normalise import time_progress
    from .progress import is_current, status_of, unit_values, STATUS_NO_TARGET, STATUS_NONE
    from .reference import load_reference

    ref = load_reference()
    plan = ref.plan
    u = ref.units[["code", "name", "short_name", "on_map", "sort"]].rename(
        columns={"code": "unit_code", "name": "unit_name", "short_name": "unit_short", "sort": "unit_sort"})
    ind = plan.indicators[["code", "short_name", "name", "unit", "target", "baseline", "kind", "sort"]].rename(
        columns={"code": "indicator_code", "name": "indicator_name", "unit": "measure", "sort": "indicator_sort"})
    grid = u.merge(ind, how="cross")
    vals = unit_values(con, as_of)[["unit_code", "indicator_code", "value", "period_end", "period_code"]]
    out = grid.merge(vals, how="left", on=["unit_code", "indicator_code"])
    out["state"] = [STATE_NOT_REPORTED if pd.isna(p) else (STATE_CURRENT if is_current(p, as_of) else STATE_CARRIED)
                    for p in out["period_end"]]
    out["value"] = out["value"].astype("float")
    out["region_value"] = out.groupby("indicator_code")["value"].transform(lambda s: s.sum(min_count=1))
    out["share_of_region"] = (out["value"] / out["region_value"]).where(out["region_value"] > 0)
    out["share_of_target"] = (out["value"] / out["target"]).where(out["target"] > 0)
    alloc = plan.allocations.rename(columns={"target": "alloc_target", "baseline": "alloc_baseline"})
    out = out.merge(alloc, how="left", on=["unit_code", "indicator_code"])
    span = out["alloc_target"] - out["alloc_baseline"]
    ok = out["value"].notna() & span.notna() & (span != 0)
    tp = time_progress(plan.start, plan.end, as_of)
    out["time_progress"] = tp
    out["completion_rate"] = ((out["value"] - out["alloc_baseline"]) / span).where(ok)
    out["gap_pp"] = ((out["completion_rate"] - tp) * 100).where(ok)
    out["status"] = [
        status_of(c, g) if k else (STATUS_NO_TARGET if pd.notna(v) else STATUS_NONE)
        for c, g, k, v in zip(out["completion_rate"], out["gap_pp"], ok, out["value"])]
    out["period_label"] = out["period_code"].map(period_label).where(out["period_code"].notna())
    if units:
        out = out[out["unit_code"].isin(units)]
    cols = ["unit_code", "unit_name", "unit_short", "on_map", "indicator_code", "short_name", "indicator_name",
            "measure", "kind", "value", "period_code", "period_label", "period_end", "state", "region_value",
            "share_of_region", "target", "baseline", "share_of_target", "alloc_target", "alloc_baseline",
            "completion_rate", "time_progress", "gap_pp", "status"]
    return out.sort_values(["unit_sort", "indicator_sort"])[cols].reset_index(drop=True)


def allocated_indicators(con=None) -> list[str]:
    """Indicator codes for which the plan allocates a target to at least one unit (任务分解)."""
    from .reference import load_reference

    alloc = load_reference().plan.allocations
    return sorted(alloc["indicator_code"].unique().tolist()) if len(alloc) else []


def unit_items(con, as_of: date, unit: str, sectors=(), type_names=(), partner_codes=()) -> pd.DataFrame:
    """The items of ``unit``'s return for the latest period on or before ``as_of`` (live and
    terminated; ``is_live`` says which), matching the item filters, with Chinese names."""
    from .reference import load_reference

    ref = load_reference()
    where, params = _region_item_filter(sectors, type_names, partner_codes)
    df = con.execute(f"""
        WITH latest AS ({_LATEST_RETURN})
        SELECT i.item_name, i.item_type, i.indicator_code, i.sector_code, i.partners, i.partner_institutions,
               i.local_institution, i.start_date, i.status, i.is_live, i.funding_wan, i.note,
               i.period_code, i.version, i.file_name, i.source_row
        FROM v_items i JOIN latest l ON i.unit_code = l.unit_code AND i.period_end = l.period_end
        WHERE i.unit_code = ? {where}
        ORDER BY i.source_row""", [as_of, unit, *params]).df()
    df.insert(4, "sector_name", df["sector_code"].map(ref.sector_name))
    df.insert(6, "partner_names", df["partners"].map(
        lambda ps: "、".join(ref.partner_name(p) for p in ps) if ps is not None and len(ps) else ""))
    return df


SERIES_COLUMNS = ["as_of", "indicator_code", "short_name", "name", "measure", "kind", "value", "baseline",
                  "target", "time_progress", "planned_value", "completion_rate", "gap_pp", "status",
                  "units_reporting", "units_current", "units_carried", "units_missing",
                  "carried_note", "missing_note"]


def region_series(con, as_ofs=None, units=None, until: date | None = None) -> pd.DataFrame:
    """The region-wide value of every plan indicator at several as-of dates at once, by
    progress_table's rules (equal to progress_table(con, d, units=units) at each date d).

    ``as_ofs``: the dates (default: every period end with current data); ``until``: drop later
    dates; ``units``: sum over these units only (targets stay the region's).
    One row per date x indicator (ascending) with planned_value = baseline + (target - baseline)
    x 时间进度 (the straight path), counts of current / carried / missing units, and
    carried_note / missing_note naming them (「包头市（沿用2019年上半年）」).
    """
    from .normalise import time_progress
    from .progress import (
        has_coverage, status_of, STATUS_NO_TARGET, STATUS_PARTIAL, STATUS_SUBSET,
    )
    from .reference import load_reference

    ref = load_reference()
    plan = ref.plan
    dates = sorted(set(as_ofs if as_ofs is not None else as_of_options(con)))
    if until is not None:
        dates = [d for d in dates if d <= until]
    if not dates:
        return pd.DataFrame(columns=SERIES_COLUMNS)
    r_ends = dates  # a figure is current only when its period contains (ends on) the as-of date
    unit_list = list(units) if units else None
    picked = con.execute("""
        WITH ends AS (SELECT unnest(?::DATE[]) AS as_of, unnest(?::DATE[]) AS ref_end),
        ranked AS (
            SELECT e.as_of, e.ref_end, v.unit_code, v.indicator_code, v.value, v.period_end, v.period_code,
                   row_number() OVER (PARTITION BY e.as_of, v.unit_code, v.indicator_code
                                      ORDER BY v.period_end DESC) AS rn
            FROM ends e JOIN v_indicator_values v ON v.period_end <= e.as_of
            WHERE ?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], v.unit_code))
        SELECT as_of, indicator_code, unit_code, value, period_code, period_end = ref_end AS is_current
        FROM ranked WHERE rn = 1""", [dates, r_ends, unit_list, unit_list]).df()
    picked["as_of"] = pd.to_datetime(picked["as_of"]).dt.date
    universe = unit_list or ref.unit_codes
    ind = plan.indicators[["code", "short_name", "name", "unit", "kind", "baseline", "target", "sort"]].rename(
        columns={"code": "indicator_code", "unit": "measure"})
    grid = pd.DataFrame({"as_of": dates}).merge(ind, how="cross")
    rows = []
    groups = {k: g for k, g in picked.groupby(["as_of", "indicator_code"])} if len(picked) else {}
    for d, code in zip(grid["as_of"], grid["indicator_code"]):
        g = groups.get((d, code))
        if g is None:
            rows.append((pd.NA, 0, 0, 0, len(universe), "", "、".join(ref.unit_name(u) for u in universe)))
            continue
        carried = g[~g["is_current"]]
        missing = [u for u in universe if u not in set(g["unit_code"])]
        rows.append((
            int(g["value"].sum()), len(g), int(g["is_current"].sum()), len(carried), len(missing),
            "、".join(f"{ref.unit_name(u)}（沿用{period_label(p)}）"
                     for u, p in sorted(zip(carried["unit_code"], carried["period_code"]))),
            "、".join(ref.unit_name(u) for u in missing),
        ))
    stats = pd.DataFrame(rows, columns=["value", "units_reporting", "units_current", "units_carried",
                                        "units_missing", "carried_note", "missing_note"])
    out = pd.concat([grid.reset_index(drop=True), stats], axis=1)
    out["value"] = out["value"].astype("Int64")
    out["time_progress"] = [time_progress(plan.start, plan.end, d) for d in out["as_of"]]
    span = out["target"] - out["baseline"]
    out["planned_value"] = out["baseline"] + span * out["time_progress"]
    has = out["value"].notna() & (span != 0)
    v = out["value"].astype("float")
    out["completion_rate"] = ((v - out["baseline"]) / span).where(has)
    out["gap_pp"] = ((out["completion_rate"] - out["time_progress"]) * 100).where(has)
    out["status"] = [status_of(None if pd.isna(c) else c, None if pd.isna(g) else g)
                     for c, g in zip(out["completion_rate"], out["gap_pp"])]
    out.loc[out["value"].notna() & ~has, "status"] = STATUS_NO_TARGET
    if unit_list:  # part of the region against the region's target: a share, not a verdict
        out.loc[out["value"].notna(), "status"] = STATUS_SUBSET
    else:
        min_share = verdict_min_coverage(ref)
        short = [not has_coverage(r, len(universe), min_share) for r in out["units_reporting"]]
        out.loc[has & pd.Series(short, index=out.index), "status"] = STATUS_PARTIAL
    return out.sort_values(["as_of", "sort"])[SERIES_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------
# Items at an as-of date (按领域, 按国别, 明细查询).
#
# DOMAIN.md "Values at an as-of date": a unit's items at D are those of its
# current return for the latest period ending on or before D (carried
# forward when that period does not contain D; a unit with
# no return by D has none). `_items_sql` builds that set once, with the
# shared filters (units, sectors, item type names, partner codes); every
# item query below starts from it. Terminated items (is_live false) are left
# out unless live_only=False (the item explorer shows them, marked).
#
# Partner semantics: an item matches a partner filter when any of its
# partners is in it. Breakdowns by partner (country, province, group) then
# count only the partners inside the filter, so a click on 俄罗斯 shows
# 俄罗斯's items, not also their co-partners as separate bars.
from .read import SHEET_TITLES as _SHEET_TITLES  # noqa: E402
from .reference import load_reference as _load_reference  # noqa: E402

ITEMS_SHEET = _SHEET_TITLES["items"]


def _items_sql(as_of: date, units=(), sectors=(), type_names=(), partner_codes=(), *, live_only: bool = True,
               statuses=(), search: str | None = None, dates: str = "single",
               ended_only: bool = False) -> tuple[str, list]:
    """`WITH dates, latest, items AS (...)` for the items at ``as_of`` and its parameters.

    live_only: only items that count (not terminated); ended_only: only the
    terminated ones (with live_only=False).

    dates="single": one date, ``as_of``. dates="periods": every period end with
    current data up to ``as_of`` (for growth over time); column ``at_date``
    says which date a row belongs to.
    """
    params: list = []
    if dates == "single":
        dates_sql = "SELECT CAST(? AS DATE) AS at_date"
    else:
        dates_sql = "SELECT DISTINCT period_end AS at_date FROM v_submissions WHERE period_end <= CAST(? AS DATE)"
    params.append(as_of)
    unit_where = ""
    if units:
        unit_where = "WHERE list_contains(?::VARCHAR[], s.unit_code)"
        params.append(list(units))
    where = []
    if live_only:
        where.append("i.is_live")
    elif ended_only:
        where.append("NOT coalesce(i.is_live, TRUE)")
    for values, clause in ((sectors, "list_contains(?::VARCHAR[], i.sector_code)"),
                           (type_names, "list_contains(?::VARCHAR[], i.item_type)"),
                           (partner_codes, "list_has_any(i.partners, ?::VARCHAR[])"),
                           (statuses, "list_contains(?::VARCHAR[], coalesce(i.status, ''))")):
        if values:
            where.append(clause)
            params.append(list(values))
    for term in _search_terms(search):
        ors = ["contains(lower(coalesce(i.item_name, '')), ?)",
               "contains(lower(coalesce(i.partner_institutions, '')), ?)",
               "contains(lower(coalesce(i.local_institution, '')), ?)"]
        params += [term, term, term]
        code = _partner_code_for(term)
        if code:
            ors.append("list_contains(i.partners, ?)")
            params.append(code)
        where.append("(" + " OR ".join(ors) + ")")
    sql = f"""
        WITH dates AS ({dates_sql}),
        latest AS (
            SELECT at_date, submission_id FROM (
                SELECT d.at_date, s.submission_id,
                       row_number() OVER (PARTITION BY d.at_date, s.unit_code
                                          ORDER BY s.period_end DESC, s.received_at DESC, s.submission_id DESC) AS rn
                FROM dates d JOIN v_submissions s ON s.period_end <= d.at_date
                {unit_where})
            WHERE rn = 1),
        items AS (
            SELECT l.at_date, i.* FROM v_items i JOIN latest l USING (submission_id)
            {"WHERE " + " AND ".join(where) if where else ""})
    """
    return sql, params


def _search_terms(search: str | None) -> list[str]:
    """Words of a search box (space separated, all must match), lower-cased."""
    if not search:
        return []
    return [t.lower() for t in str(search).replace("\u3000", " ").split() if t]


def _partner_code_for(term: str) -> str | None:
    """A search word that names a partner (俄罗斯, 蒙古, 香港 …) also finds that partner's items."""
    m = _load_reference().lookups["partner"].resolve(term)
    return m.code if m.ok else None


ITEM_COLUMNS = ["unit_code", "unit_name", "period_code", "period_label", "period_end", "version", "item_name", "item_type",
                "sector_code", "sector_name", "partners", "partner_names", "partner_institutions",
                "local_institution", "start_date", "status", "is_live", "funding_wan", "note",
                "file_name", "sheet", "source_row", "submission_id"]


def items_at(con, as_of: date, units=(), sectors=(), type_names=(), partner_codes=(), *, live_only: bool = True,
             statuses=(), search: str | None = None, limit: int | None = None,
             ended_only: bool = False) -> pd.DataFrame:
    """Every item at ``as_of`` matching the filters, with its source (file, sheet, Excel row, version).

    Ordered by unit (data/units.csv order), then Excel row. ``limit`` keeps
    the first rows of that order (for display); the count is items_summary.
    """
    ref = _load_reference()
    sql, params = _items_sql(as_of, units, sectors, type_names, partner_codes, live_only=live_only,
                             statuses=statuses, search=search, ended_only=ended_only)
    order = ref.units["code"].tolist()
    sql += """
        SELECT unit_code, period_code, period_end, version, item_name, item_type, sector_code,
               coalesce(partners, []) AS partners,
               array_to_string(list_transform(coalesce(partners, []),
                   lambda x: coalesce(map_extract_value(MAP(?::VARCHAR[], ?::VARCHAR[]), x), x)), '、') AS partner_names,
               partner_institutions, local_institution, start_date, status, is_live, funding_wan, note,
               file_name, source_row, submission_id
        FROM items
        ORDER BY coalesce(list_position(?::VARCHAR[], unit_code), 9999), unit_code, source_row, item_name
    """
    # parameters of the SELECT list come before those of ORDER BY
    params += [ref.partners["code"].tolist(), ref.partners["name_zh"].tolist(), order]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    df = con.execute(sql, params).df()
    # names through small dicts of the distinct codes (hundreds of thousands of rows at bench scale)
    df["unit_name"] = df["unit_code"].map({c: ref.unit_name(c) for c in df["unit_code"].unique()})
    df["sector_name"] = df["sector_code"].map({c: ref.sector_name(c) for c in df["sector_code"].dropna().unique()})
    df["sheet"] = ITEMS_SHEET
    df["period_label"] = df["period_code"].map({c: period_label(c) if c else "" for c in df["period_code"].unique()})
    df["period_end"] = pd.to_datetime(df["period_end"]).dt.date
    df["start_date"] = pd.to_datetime(df["start_date"]).dt.date
    return df[ITEM_COLUMNS]


def items_summary(con, as_of: date, units=(), sectors=(), type_names=(), partner_codes=(), *,
                  live_only: bool = True, statuses=(), search: str | None = None,
                  ended_only: bool = False) -> pd.DataFrame:
    """One row: items, live items, funding (万元), items with funding, units, sectors, partners."""
    sql, params = _items_sql(as_of, units, sectors, type_names, partner_codes, live_only=live_only,
                             statuses=statuses, search=search, ended_only=ended_only)
    sql += """
        SELECT count(*) AS items, count(*) FILTER (WHERE is_live) AS live_items,
               coalesce(sum(funding_wan), 0) AS funding_wan, count(funding_wan) AS funded_items,
               count(DISTINCT unit_code) AS units, count(DISTINCT sector_code) AS sectors,
               (SELECT count(DISTINCT p) FROM (SELECT unnest(partners) AS p FROM items)) AS partners
        FROM items
    """
    return con.execute(sql, params).df()


def items_by_sector_type(con, as_of: date, units=(), sectors=(), type_names=(), partner_codes=()) -> pd.DataFrame:
    """Live items and funding (万元) per sector and item type at ``as_of``."""
    ref = _load_reference()
    sql, params = _items_sql(as_of, units, sectors, type_names, partner_codes)
    sql += """
        SELECT sector_code, item_type, count(*) AS items, coalesce(sum(funding_wan), 0) AS funding_wan,
               count(funding_wan) AS funded_items
        FROM items GROUP BY ALL
    """
    df = con.execute(sql, params).df()
    types = ref.item_types.reset_index(drop=True)
    df["sector_name"] = df["sector_code"].map(ref.sector_name)
    df["type_code"] = df["item_type"].map(dict(zip(types["name"], types["code"])))
    df["type_sort"] = df["item_type"].map(dict(zip(types["name"], types.index))).fillna(len(types))
    df = df.sort_values(["sector_code", "type_sort"]).drop(columns="type_sort").reset_index(drop=True)
    return df[["sector_code", "sector_name", "type_code", "item_type", "items", "funding_wan", "funded_items"]]


def items_by_sector_unit(con, as_of: date, units=(), sectors=(), type_names=(), partner_codes=()) -> pd.DataFrame:
    """Live items and funding (万元) per sector and unit at ``as_of`` (only non-empty cells)."""
    ref = _load_reference()
    sql, params = _items_sql(as_of, units, sectors, type_names, partner_codes)
    sql += """
        SELECT sector_code, unit_code, count(*) AS items, coalesce(sum(funding_wan), 0) AS funding_wan
        FROM items GROUP BY ALL ORDER BY sector_code, unit_code
    """
    df = con.execute(sql, params).df()
    df["sector_name"] = df["sector_code"].map(ref.sector_name)
    df["unit_name"] = df["unit_code"].map(ref.unit_name)
    return df[["sector_code", "sector_name", "unit_code", "unit_name", "items", "funding_wan"]]


def items_by_sector_period(con, as_of: date, units=(), sectors=(), type_names=(), partner_codes=()) -> pd.DataFrame:
    """Live items per sector at every period end up to ``as_of`` (each unit's latest return by then).

    Columns: at_date, sector_code, sector_name, items, units_with_return
    (how many units had any return by that date).
    """
    ref = _load_reference()
    sql, params = _items_sql(as_of, units, sectors, type_names, partner_codes, dates="periods")
    sql += """
        , counts AS (SELECT at_date, sector_code, count(*) AS items FROM items GROUP BY ALL),
        grid AS (SELECT at_date, sector_code FROM dates, (SELECT DISTINCT sector_code FROM items))
        SELECT g.at_date, g.sector_code, coalesce(c.items, 0) AS items,
               (SELECT count(*) FROM latest l WHERE l.at_date = g.at_date) AS units_with_return
        FROM grid g LEFT JOIN counts c USING (at_date, sector_code)
        ORDER BY g.at_date, g.sector_code
    """
    df = con.execute(sql, params).df()
    df["at_date"] = pd.to_datetime(df["at_date"]).dt.date
    df["sector_name"] = df["sector_code"].map(ref.sector_name)
    return df[["at_date", "sector_code", "sector_name", "items", "units_with_return"]]


def _partner_rows_sql(sql: str, partner_codes) -> str:
    """Append `pairs`: distinct (item, partner) of the live items, inside the partner filter if any."""
    inside = "WHERE list_contains(?::VARCHAR[], p.partner_code)" if partner_codes else ""
    return sql + f"""
        , pairs AS (
            SELECT DISTINCT it.submission_id, it.source_row, it.sector_code, it.funding_wan, p.partner_code
            FROM items it JOIN v_item_partners p
              ON p.submission_id = it.submission_id AND p.source_row = it.source_row
            {inside})
    """


def items_by_partner(con, as_of: date, units=(), sectors=(), type_names=(), partner_codes=(),
                     kind: str | None = None) -> pd.DataFrame:
    """Live items per partner at ``as_of``; an item counts once for each of its partners.

    kind: "foreign" (countries) or "domestic" (provinces of China, 港澳台
    included), as data/partners.csv says. Funding is the items' whole
    funding (万元), not split between partners. Sorted by items, descending.
    """
    ref = _load_reference()
    sql, params = _items_sql(as_of, units, sectors, type_names, partner_codes)
    sql = _partner_rows_sql(sql, partner_codes)
    if partner_codes:
        params.append(list(partner_codes))
    sql += """
        SELECT partner_code, count(*) AS items, coalesce(sum(funding_wan), 0) AS funding_wan
        FROM pairs GROUP BY partner_code
    """
    df = con.execute(sql, params).df()
    p = ref.partners.set_index("code")
    df["name"] = df["partner_code"].map(p["name_zh"]).fillna(df["partner_code"])
    df["kind"] = df["partner_code"].map(p["kind"]).fillna("unknown")
    df["continent"] = df["partner_code"].map(p["continent"]).fillna("")
    if kind is not None:
        df = df[df["kind"] == kind]
    df = df.sort_values(["items", "partner_code"], ascending=[False, True]).reset_index(drop=True)
    return df[["partner_code", "name", "kind", "continent", "items", "funding_wan"]]


def items_by_partner_kind(con, as_of: date, units=(), sectors=(), type_names=(), partner_codes=()) -> pd.DataFrame:
    """Per partner kind (foreign, domestic): live items with at least one such partner, and partners.

    Always two rows (zeros when none). Kind as data/partners.csv says: 港澳台 are domestic.
    """
    ref = _load_reference()
    sql, params = _items_sql(as_of, units, sectors, type_names, partner_codes)
    sql = _partner_rows_sql(sql, partner_codes)
    if partner_codes:
        params.append(list(partner_codes))
    sql += """
        , kinds AS (SELECT unnest(?::VARCHAR[]) AS partner_code, unnest(?::VARCHAR[]) AS kind)
        SELECT k.kind, count(DISTINCT (pr.submission_id, pr.source_row)) AS items,
               count(DISTINCT pr.partner_code) AS partners
        FROM pairs pr JOIN kinds k USING (partner_code) GROUP BY k.kind
    """
    params += [ref.partners["code"].tolist(), ref.partners["kind"].tolist()]
    counts = con.execute(sql, params).df().set_index("kind")
    out = pd.DataFrame({"kind": ["foreign", "domestic"]})
    out["items"] = out["kind"].map(counts["items"]).fillna(0).astype(int)
    out["partners"] = out["kind"].map(counts["partners"]).fillna(0).astype(int)
    return out


def _group_members(ref) -> tuple[list[str], list[str]]:
    gcode = dict(zip(ref.partner_groups["name"], ref.partner_groups["code"]))
    pcodes, gcodes = [], []
    for code, groups in zip(ref.partners["code"], ref.partners["groups_list"]):
        for g in groups:
            if g in gcode:
                pcodes.append(code)
                gcodes.append(gcode[g])
    return pcodes, gcodes


def items_by_partner_group(con, as_of: date, units=(), sectors=(), type_names=(), partner_codes=()) -> pd.DataFrame:
    """Live items per partner group of the plan (data/partner_groups.csv) at ``as_of``.

    An item counts once per group however many of the group's partners it
    has. Every group is listed (0 when none). Columns: group_code,
    group_name, kind, items, funding_wan.
    """
    ref = _load_reference()
    sql, params = _items_sql(as_of, units, sectors, type_names, partner_codes)
    sql = _partner_rows_sql(sql, partner_codes)
    if partner_codes:
        params.append(list(partner_codes))
    members = _group_members(ref)
    sql += """
        , members AS (SELECT unnest(?::VARCHAR[]) AS partner_code, unnest(?::VARCHAR[]) AS group_code),
        per_item AS (
            SELECT DISTINCT m.group_code, pr.submission_id, pr.source_row, pr.funding_wan
            FROM pairs pr JOIN members m USING (partner_code))
        SELECT group_code, count(*) AS items, coalesce(sum(funding_wan), 0) AS funding_wan
        FROM per_item GROUP BY group_code
    """
    params += [members[0], members[1]]
    counts = con.execute(sql, params).df().set_index("group_code")
    g = ref.partner_groups.sort_values("sort") if "sort" in ref.partner_groups else ref.partner_groups
    out = pd.DataFrame({"group_code": g["code"].tolist(), "group_name": g["name"].tolist(),
                        "kind": g["kind"].tolist()})
    out["items"] = out["group_code"].map(counts["items"]).fillna(0).astype(int)
    out["funding_wan"] = out["group_code"].map(counts["funding_wan"]).fillna(0.0)
    return out


def items_by_partner_sector(con, as_of: date, units=(), sectors=(), type_names=(), partner_codes=(),
                            top: int = 20) -> pd.DataFrame:
    """Live items per partner and sector at ``as_of``, for the ``top`` partners by items.

    Columns: partner_code, name, kind, sector_code, sector_name, items,
    partner_items (the partner's total, for ordering).
    """
    ref = _load_reference()
    sql, params = _items_sql(as_of, units, sectors, type_names, partner_codes)
    sql = _partner_rows_sql(sql, partner_codes)
    if partner_codes:
        params.append(list(partner_codes))
    sql += """
        , per AS (SELECT partner_code, sector_code, count(*) AS items FROM pairs GROUP BY ALL),
        tot AS (SELECT partner_code, sum(items) AS partner_items FROM per GROUP BY ALL
                ORDER BY partner_items DESC, partner_code LIMIT ?)
        SELECT per.partner_code, per.sector_code, per.items, CAST(tot.partner_items AS BIGINT) AS partner_items
        FROM per JOIN tot USING (partner_code)
        ORDER BY tot.partner_items DESC, per.partner_code, per.sector_code
    """
    params.append(int(top))
    df = con.execute(sql, params).df()
    p = ref.partners.set_index("code")
    df["name"] = df["partner_code"].map(p["name_zh"]).fillna(df["partner_code"])
    df["kind"] = df["partner_code"].map(p["kind"]).fillna("unknown")
    df["sector_name"] = df["sector_code"].map(ref.sector_name)
    return df[["partner_code", "name", "kind", "sector_code", "sector_name", "items", "partner_items"]]


def current_sources(con) -> dict[str, int]:
    """Number of current returns by source (demo, web, cli, ...)."""
    return {s: int(n) for s, n in con.execute(
        "SELECT coalesce(source, ''), count(*) FROM v_submissions GROUP BY 1").fetchall()}


REGION_MEASURES = {"value": "累计值", "share": "占全区合计的比例", "rate": "完成率（对分解目标）",
                   "items": "合作事项数"}


def unit_metric(con, as_of: date, measure: str, indicator: str | None = None,
                sectors=(), type_names=(), partner_codes=()) -> pd.DataFrame:
    """What the 按盟市 map and ranking show, one row per reporting unit (data/units.csv order).

    measure: ``value`` (the unit's value of ``indicator``), ``share`` (its share of the region's
    total, %), ``rate`` (完成率 against its allocated target, %; NaN where none is allocated) or
    ``items`` (live items at ``as_of`` matching the item filters).
    Columns: unit_code, unit_name, unit_short, on_map, metric (NaN = nothing to show),
    display (the text shown), detail (hover text: where the figure comes from), state
    (当期 / 结转 / 未报 for an indicator, 缺报 for ``items``: vocab.NO_FIGURE_STATES), status (for ``rate``), rank (1 = largest; NaN for no data).
    """
    from .reference import load_reference

    ref = load_reference()
    units = ref.units[["code", "short_name"]].rename(columns={"code": "unit_code", "short_name": "unit_short"})
    if measure == "items":
        c = unit_item_counts(con, as_of, sectors=sectors, type_names=type_names, partner_codes=partner_codes)
        out = c.merge(units, on="unit_code", how="left")
        out["metric"] = out["items"].astype("float")
        out["display"] = [("未报送" if pd.isna(n) else f"{number(n)}项") for n in out["items"]]
        out["detail"] = [
            "截至该日期没有报表" if s == STATE_NO_RETURN else
            f"来自{period_label(p)}报表" + ("（沿用：尚无含该日期的报告期的报表）" if s == STATE_CARRIED else "")
            + ("" if pd.isna(f) else f"；投入经费{money_wan(f)}")
            for s, p, f in zip(out["state"], out["period_code"], out["funding_wan"])]
        out["status"] = None
    else:
        if indicator is None:
            raise ValueError("indicator is required unless measure == 'items'")
        m = unit_indicator_matrix(con, as_of)
        out = m[m["indicator_code"] == indicator].copy()
        meas = out["measure"]
        src = [("未报送该指标" if s == STATE_NOT_REPORTED else f"来自{pl}" + ("（沿用更早报告期）" if s == STATE_CARRIED else ""))
               for s, pl in zip(out["state"], out["period_label"])]
        if measure == "value":
            out["metric"] = out["value"]
            out["display"] = [("未报送" if pd.isna(v) else f"{number(v)}{u}") for v, u in zip(out["value"], meas)]
            out["detail"] = [d if pd.isna(sh) else f"{d}；占全区合计{sh * 100:.1f}%"
                             for d, sh in zip(src, out["share_of_region"])]
        elif measure == "share":
            out["metric"] = out["share_of_region"] * 100
            out["display"] = [("未报送" if pd.isna(v) else ("—" if pd.isna(sh) else f"{sh * 100:.1f}%"))
                              for v, sh in zip(out["value"], out["share_of_region"])]
            out["detail"] = [d if pd.isna(v) else f"{number(v)}{u}，全区合计{number(rv)}{u}；{d}"
                             for d, v, u, rv in zip(src, out["value"], meas, out["region_value"].fillna(0))]
        elif measure == "rate":
            out["metric"] = out["completion_rate"] * 100
            out["display"] = [("未报送" if pd.isna(v) else ("未分解目标" if pd.isna(cr) else f"{cr * 100:.1f}%"))
                              for v, cr in zip(out["value"], out["completion_rate"])]
            out["detail"] = [d if pd.isna(t) else f"{d}；分解目标{number(t)}{u}，状态：{st}"
                             for d, t, u, st in zip(src, out["alloc_target"], meas, out["status"])]
        else:
            raise ValueError(f"unknown measure {measure!r}")
        if measure != "rate":
            out["status"] = None
    out["rank"] = out["metric"].rank(ascending=False, method="min")
    cols = ["unit_code", "unit_name", "unit_short", "on_map", "metric", "display", "detail", "state", "status", "rank"]
    return out[cols].reset_index(drop=True)


# --------------------------------------------------------------------------
# 简报 (briefing): the queries above, gathered once for one as-of date and scope.
def briefing_inputs(con, as_of: date, unit: str | None = None):
    """narrative.BriefingData: what the 简报 page, the Word pack and ``pipelines.briefing`` say."""
    from .narrative import gather

    return gather(con, as_of, unit)
