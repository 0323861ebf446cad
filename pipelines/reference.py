"""Reference data (files under data/) loaded once, and name lookups over it.

Everything the product knows about units, the plan, item types, sectors,
statuses and partners comes from data/*.csv and data/plans/*.yaml; nothing
here is a copy of those tables. An administrator extends the product by
editing those files (a new alias, a new partner, the next plan).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from .textkey import norm_key  # noqa: F401  (kept here: reference.norm_key is used everywhere)
from .vocab import DATA_DIR, read_yaml


def _split_aliases(value: str | None) -> list[str]:
    if not value:
        return []
    return [a.strip() for a in str(value).split("|") if a.strip()]


def _read_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA_DIR / name, dtype=str, keep_default_na=False)


@dataclass(frozen=True)
class Match:
    """Result of looking a user's text up in a vocabulary."""

    code: str | None
    name: str | None = None
    candidates: tuple[str, ...] = ()  # codes, when ambiguous
    suggestion: str | None = None  # a display name to propose
    note: str | None = None  # an explanation from data/ambiguous.csv

    @property
    def ok(self) -> bool:
        return self.code is not None


class Lookup:
    """Exact lookup by any accepted spelling, with fuzzy suggestions."""

    def __init__(self, field_name: str, entries: list[tuple[str, str, list[str]]],
                 ambiguous: dict[str, tuple[tuple[str, ...], str]] | None = None):
        # entries: (code, display name, spellings)
        self.field = field_name
        self.names: dict[str, str] = {}
        self._index: dict[str, str] = {}
        for code, name, spellings in entries:
            self.names[code] = name
            for s in [code, name, *spellings]:
                k = norm_key(s)
                if not k:
                    continue
                prev = self._index.get(k)
                if prev is not None and prev != code:
                    raise ValueError(f"{field_name}: spelling {s!r} maps to both {prev} and {code}")
                self._index[k] = code
        self._ambiguous = {norm_key(k): v for k, v in (ambiguous or {}).items()}
        self._choices = list(self._index.keys())
        self._cache: dict[str, Match] = {}

    def __contains__(self, code: str) -> bool:
        return code in self.names

    def owner(self, text: object) -> str | None:
        """The code a spelling already stands for (None: not known, or only ambiguous)."""
        return self._index.get(norm_key(text))

    def add_spelling(self, text: object, code: str) -> None:
        """Accept one more spelling of ``code`` (an alias an administrator added); refuses a collision."""
        k = norm_key(text)
        if not k or code not in self.names:
            raise ValueError(f"{self.field}: cannot add {text!r} for {code!r}")
        prev = self._index.get(k)
        if prev is not None and prev != code:
            raise ValueError(f"{self.field}: spelling {text!r} maps to both {prev} and {code}")
        if prev is None:
            self._index[k] = code
            self._choices.append(k)
        self._ambiguous.pop(k, None)
        self._cache.clear()

    def resolve(self, text: object) -> Match:
        key = norm_key(text)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._resolve(key)
            self._cache[key] = hit
        return hit

    def _resolve(self, key: str) -> Match:
        if not key:
            return Match(None)
        amb = self._ambiguous.get(key)
        if amb is not None:
            cands, note = amb
            names = "、".join(self.names[c] for c in cands if c in self.names)
            return Match(None, candidates=cands, suggestion=names or None, note=note)
        code = self._index.get(key)
        if code is not None:
            return Match(code, self.names[code])
        return Match(None, suggestion=self.suggest(key))

    def suggest(self, key: str) -> str | None:
        """The display name of the closest spelling, if any is close enough."""
        if not key or not self._choices:
            return None
        from rapidfuzz import process  # only for a name not found (the command line starts without it)

        best = process.extractOne(key, self._choices, scorer=_score, score_cutoff=70)
        if best is None:
            return None
        return self.names[self._index[best[0]]]


def _score(a: str, b: str, **_: object) -> float:
    """Similarity for short Chinese names: whole-string ratio, or containment.

    「生态屏障」 is contained in 「生态屏障与荒漠化防治」; 「俄国」 shares its first
    character with 「俄罗斯」 and 「俄」.
    """
    from rapidfuzz import fuzz

    r = fuzz.ratio(a, b)
    if len(a) >= 2 and len(b) >= 2 and (a in b or b in a):
        r = max(r, 90.0)
    elif a and b and a[0] == b[0] and not a.isascii():
        r += 20
    return r


@dataclass(frozen=True)
class Plan:
    id: str
    name: str
    short_name: str
    start: date
    end: date
    indicators: pd.DataFrame  # code, name, unit, target, baseline, kind, sort
    allocations: pd.DataFrame  # unit_code, indicator_code, target, baseline
    wording: dict = field(default_factory=dict)  # sentence templates (plan file ``wording``)

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1


@dataclass
class Reference:
    units: pd.DataFrame
    plan: Plan
    item_types: pd.DataFrame
    sectors: pd.DataFrame
    statuses: pd.DataFrame
    partners: pd.DataFrame
    partner_groups: pd.DataFrame
    settings: dict
    lookups: dict[str, Lookup] = field(default_factory=dict)

    # convenience accessors -------------------------------------------------
    def unit_name(self, code: str | None) -> str:
        return self.lookups["unit"].names.get(code or "", code or "")

    def indicator_name(self, code: str) -> str:
        return self.lookups["indicator"].names.get(code, code)

    def sector_name(self, code: str) -> str:
        return self.lookups["sector"].names.get(code, code)

    def partner_name(self, code: str) -> str:
        return self.lookups["partner"].names.get(code, code)

    @property
    def unit_codes(self) -> list[str]:
        return self.units["code"].tolist()

    @property
    def map_unit_codes(self) -> list[str]:
        return self.units.loc[self.units["on_map"], "code"].tolist()

    @property
    def source_note(self) -> str:
        from .vocab import source_note

        return source_note(self)

    @property
    def deadline_days(self) -> int:
        from .vocab import deadline_days

        return deadline_days(self)


def _load_plan(plan_id: str) -> Plan:
    raw = read_yaml(DATA_DIR / "plans" / f"{plan_id}.yaml")
    ind = pd.DataFrame(raw["indicators"])
    ind["sort"] = range(1, len(ind) + 1)
    ind["target"] = ind["target"].astype(float)
    ind["baseline"] = ind.get("baseline", 0).fillna(0).astype(float) if "baseline" in ind else 0.0
    if "aliases" not in ind:
        ind["aliases"] = [[] for _ in range(len(ind))]
    alloc = pd.DataFrame(raw.get("allocations") or [], columns=["unit", "indicator", "target", "baseline"])
    alloc = alloc.rename(columns={"unit": "unit_code", "indicator": "indicator_code"})
    alloc["unit_code"] = alloc["unit_code"].astype(str)
    alloc["baseline"] = alloc["baseline"].fillna(0).astype(float)
    alloc["target"] = alloc["target"].astype(float)
    return Plan(
        id=str(raw["id"]), name=raw["name"], short_name=raw.get("short_name", raw["name"]),
        start=raw["start"], end=raw["end"], indicators=ind, allocations=alloc,
        wording=dict(raw.get("wording") or {}),
    )


@functools.lru_cache(maxsize=4)
def plan_file(plan_id: str) -> Plan:
    """The plan as its file says, before any change an administrator stored in the database
    (pipelines/admin.py lays those over ``load_reference().plan``; this one is never changed)."""
    return _load_plan(plan_id)


def _bool(col: pd.Series) -> pd.Series:
    return col.str.strip().str.lower().isin(["true", "1", "yes", "是"])


@functools.lru_cache(maxsize=1)
def load_reference() -> Reference:
    """Load every reference file once per process."""
    settings = read_yaml(DATA_DIR / "settings.yaml") or {}
    plan = _load_plan(str(settings.get("plan", "2018-2020")))

    units = _read_csv("units.csv")
    units["on_map"] = _bool(units["on_map"])
    units["sort"] = units["sort"].astype(int)
    units = units.sort_values("sort").reset_index(drop=True)
    item_types = _read_csv("item_types.csv")
    sectors = _read_csv("sectors.csv")
    statuses = _read_csv("statuses.csv")
    statuses["is_live"] = _bool(statuses["is_live"])
    partners = _read_csv("partners.csv")
    groups = _read_csv("partner_groups.csv")
    if "sort" in groups:
        groups["sort"] = pd.to_numeric(groups["sort"], errors="coerce")
    partners["groups_list"] = partners["groups"].map(_split_aliases)

    amb = _read_csv("ambiguous.csv")

    def ambiguous_for(field_name: str) -> dict[str, tuple[tuple[str, ...], str]]:
        rows = amb[amb["field"] == field_name]
        return {r.text: (tuple(_split_aliases(r.candidates)), r.note) for r in rows.itertuples()}

    lookups = {
        "unit": Lookup("unit", [(r.code, r.name, [r.short_name, *_split_aliases(r.aliases)])
                                for r in units.itertuples()], ambiguous_for("unit")),
        "indicator": Lookup("indicator", [(r.code, r.name, [r.short_name, *r.aliases])
                                          for r in plan.indicators.itertuples()]),
        "item_type": Lookup("item_type", [(r.name, r.name, _split_aliases(r.aliases))
                                          for r in item_types.itertuples()], ambiguous_for("item_type")),
        "sector": Lookup("sector", [(r.code, r.name, _split_aliases(r.aliases))
                                    for r in sectors.itertuples()], ambiguous_for("sector")),
        "status": Lookup("status", [(r.name, r.name, _split_aliases(r.aliases))
                                    for r in statuses.itertuples()]),
        "partner": Lookup("partner", [(r.code, r.name_zh, [r.name_en, *_split_aliases(r.aliases)])
                                      for r in partners.itertuples()], ambiguous_for("partner")),
    }
    return Reference(units=units, plan=plan, item_types=item_types, sectors=sectors,
                     statuses=statuses, partners=partners, partner_groups=groups,
                     settings=settings, lookups=lookups)
