"""A clearly labelled demo data set, made by the real pipeline.

A deterministic generator writes plausible returns in the real format (the
same writer as the template download) for all 13 units and the half-years
2018H1-2020H2, then loads each through ``pipelines.ingest`` exactly as a
user's upload would be loaded. Every demo submission has source 'demo', and
every page says so while any are current.

Built in: one unit misses a period (阿拉善盟, 2019年下半年), some returns
arrive after the deadline, one is sent twice (a second version), and a few
carry the warnings real returns carry (full-width digits, 「5项」, totals that
disagree with the detail).

Example:
    python -m pipelines.demo --db var/kjhz.duckdb [--keep-files DIR]
"""
from __future__ import annotations

if __name__ == "__main__":  # `python -m pipelines.demo`: the command itself, before this module's imports
    from .cli import run_module

    run_module("demo")

import io
import json
import os
import random
import shutil
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from collections.abc import Sequence
from itertools import islice
from typing import Callable

import pandas as pd

from .normalise import Period
from .reference import Reference, load_reference

SEED = 20180101
PERIODS = [Period("H", y, n) for y in (2018, 2019, 2020) for n in (1, 2)]
TODAY = date(2021, 3, 1)  # the demo is checked as if loaded after the plan ended

# Demo-only flavour: unit weights and topics. Codes and names come from data/.
UNIT_WEIGHT = {"150100": 1.6, "150200": 1.5, "150300": 0.5, "150400": 0.9, "150500": 0.8, "150600": 1.3,
               "150700": 0.9, "150800": 0.7, "150900": 0.7, "152200": 0.5, "152500": 0.7, "152900": 0.4,
               "150000": 1.8}
# final share of target reached by 2020H2, and the curve's shape (<1 front-loaded, >1 late)
PACE = {"I01": (0.9, 1.0), "I02": (1.07, 0.8), "I03": (1.2, 0.7), "I04": (1.1, 0.9), "I05": (0.96, 1.2),
        "I06": (1.2, 0.8), "I07": (0.8, 1.5), "I08": (1.02, 1.0), "I09": (1.04, 0.6), "I10": (0.92, 1.1),
        "I11": (0.85, 1.4), "I12": (1.0, 0.5), "I13": (1.0, 1.0), "I14": (0.7, 1.6)}
TOPICS = {
    "S01": ["风电装备智能运维", "光伏组件效率提升", "储能储热系统集成", "新能源微电网示范", "智能电网调度"],
    "S02": ["煤炭分质分级利用", "煤化工高盐废水处理", "CO2捕集与封存", "煤层气开发", "煤气化净化"],
    "S03": ["高纯铝箔深加工", "石墨烯材料制备", "碳纤维复合材料", "多晶硅提纯", "镁合金轻量化"],
    "S04": ["稀土永磁材料", "稀土储氢材料", "稀土发光材料", "稀土抛光粉", "稀土钢应用", "稀土催化材料"],
    "S05": ["马铃薯种薯繁育", "乳业全产业链", "肉羊良种选育", "绒山羊遗传改良", "优质牧草种植", "设施农业"],
    "S06": ["工业机器人应用", "新能源汽车电驱动", "数控机床研发", "铁路车辆关键部件", "智能制造示范"],
    "S07": ["装配式建筑技术", "农村牧区建筑节能", "城市管网智能管控", "建筑防灾减灾"],
    "S08": ["大数据中心节能", "北斗导航应用", "卫星遥感监测", "浮空器试验", "物联网平台"],
    "S09": ["蒙医药现代化", "布病疫苗研发", "中蒙药材种植", "精准医学检测", "蒙医诊疗设备"],
    "S10": ["草原生态修复", "荒漠化防治", "沙产业开发", "水资源高效利用", "退化草地遥感监测"],
    "S11": ["粉煤灰综合利用", "尾矿资源化", "秸秆综合利用", "重金属污染修复", "工业废水处理"],
    "S12": ["科技成果转化服务", "众创空间建设", "科技扶贫示范", "科普基地建设", "人才引进培养"],
}
FOREIGN = {"RUS": 14, "MNG": 12, "KOR": 4, "ISR": 4, "DEU": 4, "JPN": 4, "SWE": 2, "GRC": 1, "ITA": 2, "HUN": 1,
           "NLD": 2, "NZL": 2, "USA": 3, "GBR": 2, "FRA": 2, "AUS": 2, "CAN": 1, "KAZ": 2, "BLR": 1, "SGP": 1,
           "THA": 1, "ZAF": 1, "EGY": 1}
DOMESTIC = {"CN-BJ": 14, "CN-TJ": 4, "CN-HE": 3, "CN-GD": 4, "CN-SH": 3, "CN-JS": 3, "CN-ZJ": 2, "CN-LN": 2,
            "CN-JL": 1, "CN-HL": 1, "CN-SD": 1, "CN-HK": 1, "CN-TW": 1, "CN-MO": 1, "CN-SN": 1}
LOCAL = ["{u}稀土研究院", "内蒙古大学", "内蒙古农业大学", "内蒙古工业大学", "内蒙古科技大学", "{u}农牧科学院",
         "{u}某能源集团", "{u}某科技有限公司", "内蒙古医科大学", "{u}某制药公司", "内蒙古师范大学", "{u}某装备公司"]
MISSING = {("152900", "2019H2")}
LATE = {("150300", "2018H2"): 31, ("152200", "2019H1"): 24, ("150800", "2019H2"): 40, ("150900", "2020H1"): 19,
        ("152900", "2020H2"): 27}
RESEND = ("150200", "2019H1")


@dataclass
class DemoItem:
    unit: str
    type_name: str
    indicator: str | None
    sector: str
    name: str
    partners: list[str]
    start: date
    status: str
    funding: float | None
    partner_inst: str | None
    local: str
    born: int  # period index it first appears in
    ends: int | None = None  # period index from which it is 已终止


def _weighted(rng: random.Random, table: dict[str, float]) -> str:
    keys = list(table)
    return rng.choices(keys, weights=[table[k] for k in keys], k=1)[0]


def _random_date(rng: random.Random, p: Period) -> date:
    span = (p.end - p.start).days
    return p.start + timedelta(days=rng.randint(0, span))


def generate_items(ref: Reference, seed: int = SEED) -> list[DemoItem]:
    rng = random.Random(seed)
    plan = ref.plan.indicators.set_index("code")
    types = ref.item_types
    short = dict(zip(ref.units["code"], ref.units["short_name"]))
    pname = dict(zip(ref.partners["code"], ref.partners["name_zh"]))
    items: list[DemoItem] = []
    used: set[tuple[str, str, str]] = set()
    n = len(PERIODS)
    for ind, (final, curve) in PACE.items():
        target = float(plan.loc[ind, "target"])
        totals = [round(target * final * ((k + 1) / n) ** curve) for k in range(n)]
        feeding = types[types["indicator_code"] == ind]
        prev = 0
        for k, tot in enumerate(totals):
            for _ in range(max(0, tot - prev)):
                row = feeding.sample(1, random_state=rng.randint(0, 10**6)).iloc[0]
                unit = _weighted(rng, UNIT_WEIGHT)
                sector = f"S{rng.randint(1, 12):02d}"
                need = row["partner_required"]
                partners: list[str] = []
                if need == "foreign" or (need == "any" and rng.random() < 0.6) or (need == "none" and rng.random() < 0.15):
                    partners = [_weighted(rng, FOREIGN)]
                    if rng.random() < 0.15:
                        partners.append(_weighted(rng, FOREIGN))
                elif need in ("domestic", "any"):
                    partners = [_weighted(rng, DOMESTIC)]
                partners = list(dict.fromkeys(partners))
                topic = rng.choice(TOPICS[sector])
                name = _item_name(row["name"], topic, partners, pname, short[unit])
                key = (unit, row["name"], name)
                serial = 2
                while key in used:
                    name2 = f"{name}（{serial}期）"
                    key = (unit, row["name"], name2)
                    serial += 1
                name = key[2]
                used.add(key)
                status = _status(row["name"], rng)
                funding = round(rng.uniform(20, 900), 1) if "项目" in row["name"] or "引进" in row["name"] else None
                inst = None
                if partners:
                    inst = f"{pname[partners[0]]}合作机构" if partners[0].startswith("CN-") is False else f"{pname[partners[0]]}某大学"
                local = rng.choice(LOCAL).format(u=short[unit])
                items.append(DemoItem(unit, row["name"], ind, sector, name, partners,
                                      _random_date(rng, PERIODS[k]), status, funding, inst, local, born=k))
            prev = max(prev, tot)
    # other cooperation (not counted by any indicator), a few per unit
    other = types[types["indicator_code"] == ""]
    for unit in UNIT_WEIGHT:
        for k in range(n):
            for _ in range(rng.randint(0, 3)):
                sector = f"S{rng.randint(1, 12):02d}"
                nm = f"{short[unit]}{rng.choice(TOPICS[sector])}交流活动（{PERIODS[k].code}）"
                if (unit, other.iloc[0]["name"], nm) in used:
                    continue
                used.add((unit, other.iloc[0]["name"], nm))
                items.append(DemoItem(unit, other.iloc[0]["name"], None, sector, nm, [],
                                      _random_date(rng, PERIODS[k]), "已完成", None, None,
                                      rng.choice(LOCAL).format(u=short[unit]), born=k))
    # two projects are terminated later (they stop counting)
    projects = [i for i in items if i.type_name == "国际科技合作项目" and i.born <= 2]
    for it in rng.sample(projects, k=min(2, len(projects))):
        it.ends = min(it.born + 2, n - 1)
    return items


def _item_name(type_name: str, topic: str, partners: list[str], pname: dict, unit_short: str) -> str:
    if partners:
        p = pname[partners[0]].replace("中国", "")
        lead = f"中{p[:1]}" if not partners[0].startswith("CN-") else f"{p[:2]}蒙"
    else:
        lead = unit_short
    suffix = {
        "国家级国际科技合作基地": "国际科技合作基地", "自治区级国际科技合作基地": "国际合作基地",
        "科技成果转化服务平台": "成果转化服务平台", "国际科技合作项目": "联合研究", "国内科技合作项目": "协同创新",
        "引进技术成果": "技术引进", "国际科技会议": "国际研讨会", "PCT专利申请": "PCT专利", "高层次人才流动岗位": "人才流动岗位",
        "院士专家工作站": "院士专家工作站", "引进院士": "引进院士团队", "院士领衔创新团队": "院士创新团队",
        "国际科技创新园": "国际科技创新园", "联合实验室": "联合实验室", "国别中心": "国别研究中心",
    }.get(type_name, "")
    return f"{lead}{topic}{suffix}"


def _status(type_name: str, rng: random.Random) -> str:
    if type_name in ("国际科技会议", "PCT专利申请", "引进院士"):
        return "已完成"
    if "基地" in type_name or "平台" in type_name or "工作站" in type_name or "中心" in type_name or "园" in type_name:
        return "已建成/已认定" if rng.random() < 0.8 else "在建/在研"
    return "在建/在研" if rng.random() < 0.85 else "已完成"


def unit_return(items: list[DemoItem], unit: str, k: int, ref: Reference):
    """Values and item rows of a unit's return for period index k."""
    live_rows = []
    values: dict[str, int] = {}
    for it in items:
        if it.unit != unit or it.born > k:
            continue
        terminated = it.ends is not None and k >= it.ends
        live_rows.append({
            "item_name": it.name, "item_type": it.type_name, "sector_code": it.sector, "partners": it.partners,
            "partner_institutions": it.partner_inst, "local_institution": it.local, "start_date": it.start,
            "status": "已终止" if terminated else it.status, "funding_wan": it.funding, "note": None,
        })
        if it.indicator and not terminated:
            values[it.indicator] = values.get(it.indicator, 0) + 1
    for code in ref.plan.indicators["code"]:
        values.setdefault(code, 0)
    cols = ["item_name", "item_type", "sector_code", "partners", "partner_institutions", "local_institution",
            "start_date", "status", "funding_wan", "note"]
    return values, pd.DataFrame(live_rows, columns=cols)


def _tweak(data: bytes, edits: dict[tuple[str, str], object]) -> bytes:
    """Change a few cells the way staff do (full-width digits, a unit after a number)."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data))
    for (sheet, cell), value in edits.items():
        wb[sheet][cell] = value
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@dataclass
class _Spec:
    """One demo return to write, every random choice already made."""

    unit: str
    period: Period
    values: dict[str, int]
    rows: pd.DataFrame
    filler: str
    phone: str
    received: datetime
    name: str


def _specs(ref: Reference, seed: int) -> list[_Spec]:
    """Every demo return in load order, as what to write (the random draws, in one sequence)."""
    rng = random.Random(seed + 1)
    items = generate_items(ref, seed)
    names = dict(zip(ref.units["code"], ref.units["name"]))
    fillers = ["王芳", "李强", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周丽", "吴军", "徐娜", "孙浩", "马琳"]
    out = []
    for k, p in enumerate(PERIODS):
        for idx, unit in enumerate(UNIT_WEIGHT):
            if (unit, p.code) in MISSING:
                continue
            values, rows = unit_return(items, unit, k, ref)
            delay = LATE.get((unit, p.code), rng.randint(3, 14))
            received = datetime.combine(p.end + timedelta(days=delay), time(9 + rng.randint(0, 8), rng.randint(0, 59)))
            out.append(_Spec(unit, p, values, rows, fillers[idx], f"0471-{6000000 + idx * 1371 + k:07d}", received,
                             f"{names[unit]}_{p.label}_科技合作报表.xlsx"))
    return out


def _write(spec: _Spec, ref: Reference, guide) -> list[tuple[str, bytes, datetime]]:
    """The workbook(s) of one spec: (file_name, bytes, received_at); a resent return is two."""
    from .template import write_return

    unit, p, values, name, received = spec.unit, spec.period, spec.values, spec.name, spec.received
    data = write_return(unit_code=unit, period=p, values=values, items=spec.rows, filler=spec.filler,
                        phone=spec.phone, fill_date=received.date(), ref=ref, guide=guide)
    out = []
    if (unit, p.code) == RESEND:
        first = _tweak(data, {("表1 指标进展", "D12"): max(values["I09"] - 1, 0)})
        out.append((name.replace(".xlsx", "（初稿）.xlsx"), first, received - timedelta(days=2)))
    if (unit, p.code) == ("150400", "2019H2"):
        data = _tweak(data, {("表1 指标进展", "D7"): f"{values['I04']}项"})
    if (unit, p.code) == ("150500", "2020H1"):
        data = _tweak(data, {("表1 指标进展", "D10"): str(values["I07"]).translate(
            str.maketrans("0123456789", "０１２３４５６７８９"))})
    if (unit, p.code) == ("150600", "2020H2"):
        data = _tweak(data, {("表1 指标进展", "D8"): values["I05"] + 1})
    out.append((name, data, received))
    return out


_HELPER_GUIDE: list = []  # the helper process's filling guide, built once


def _write_in_helper(specs: list[_Spec]) -> list[list[tuple[str, bytes, datetime]]]:
    """Runs in the helper process (``DemoReturns``): the same reference data, the same writer."""
    from .template import guide_text

    ref = load_reference()
    if not _HELPER_GUIDE:
        _HELPER_GUIDE.append(guide_text(ref))
    return [_write(s, ref, _HELPER_GUIDE[0]) for s in specs]


class DemoReturns(Sequence):
    """(file_name, bytes, received_at) of every demo return, in load order, written as they are
    taken. Writing (openpyxl) costs about as much as checking and loading, so past the first
    ``HEAD`` returns a helper process writes the rest in chunks while the caller loads what is
    written: the two run on both cores. Same files as writing them all here (the random draws
    are made first, in one sequence); if the helper fails, the rest are written here."""

    HEAD = 16  # written here while the helper process starts
    CHUNK = 8

    def __init__(self, ref: Reference | None = None, seed: int = SEED):
        self._own_ref = ref is None or ref is load_reference()  # the helper loads the same
        self._ref = ref or load_reference()
        self._specs = _specs(self._ref, seed)

    def __len__(self) -> int:
        return len(self._specs) + sum((s.unit, s.period.code) == RESEND for s in self._specs)

    def __getitem__(self, i):
        """Only what is asked for is written: ``[:4]`` writes four returns, not all of them."""
        if isinstance(i, slice) and all(v is None or v >= 0 for v in (i.start, i.stop, i.step)):
            return list(islice(self, i.start, i.stop, i.step))
        return list(self)[i]

    def __iter__(self):
        from .template import guide_text

        guide = guide_text(self._ref)  # the same filling guide in every return: built once
        head, rest = self._specs[:self.HEAD], self._specs[self.HEAD:]
        chunks = [rest[i:i + self.CHUNK] for i in range(0, len(rest), self.CHUNK)]
        pool, jobs = self._helper(chunks) if chunks and self._own_ref else (None, [])
        try:
            for spec in head:
                yield from _write(spec, self._ref, guide)
            for k, chunk in enumerate(chunks):
                try:
                    written = jobs[k].result() if k < len(jobs) else None
                except Exception:  # noqa: BLE001 - the helper failed: the rest are written here
                    jobs = []
                    written = None
                for out in written if written is not None else (_write(s, self._ref, guide) for s in chunk):
                    yield from out
        finally:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    @staticmethod
    def _helper(chunks):
        """A helper process (spawned: safe from a server with many threads) given every chunk."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from .reader_pool import _main_hidden

        try:
            pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            with _main_hidden():
                return pool, [pool.submit(_write_in_helper, c) for c in chunks]
        except Exception:  # noqa: BLE001 - no helper: everything is written here
            return None, []


def demo_returns(ref: Reference | None = None, seed: int = SEED) -> DemoReturns:
    """(file_name, bytes, received_at) for every demo return, in load order (``DemoReturns``)."""
    return DemoReturns(ref, seed)


def build_demo(db_path: Path | str, progress: Callable[[int, int, str], None] | None = None,
               keep_dir: Path | None = None) -> int:
    """Create (or add to) a database with the demo returns. Returns the number loaded."""
    from .ingest import ingest_bytes
    from .store import held, init_db, set_meta

    ref = load_reference()
    init_db(db_path)
    returns = demo_returns(ref)
    loaded = 0
    with held(db_path):  # one connection for all the loads (each still its own transaction)
        for i, (name, data, received) in enumerate(returns, 1):
            if keep_dir is not None:
                keep_dir.mkdir(parents=True, exist_ok=True)
                (keep_dir / name).write_bytes(data)
            r = ingest_bytes(db_path, data, name, who="演示数据生成器", source="demo", ref=ref, today=TODAY,
                             received_at=received)
            if r.status == "rejected":
                raise RuntimeError(f"demo return {name} was rejected: {[e.message for e in r.errors]}")
            loaded += r.status == "loaded"
            if progress:
                progress(i, len(returns), name)
        set_meta(db_path, "dataset", "demo")
    return loaded


# --------------------------------------------------------------------------
# The demo database appears whole or not at all
def _building_dir(db_path: Path) -> Path:
    """Where a demo database is built before it is moved into place (same folder: renames are atomic)."""
    return db_path.parent / f".{db_path.name}.demo-building"


def _progress_file(db_path: Path) -> Path:
    return _building_dir(db_path) / "progress.json"


def demo_state(db_path: Path | str) -> str:
    """'ready' (a database is in place: a finished demo, real data, or empty after the demo
    was archived), 'missing' (nothing there yet) or 'incomplete' (a demo build that an
    earlier version left half-done: demo returns only, without the completion marker,
    the ``dataset = demo`` meta written as the build's last step)."""
    from .store import connect, get_meta, submission_sources

    db_path = Path(db_path)
    if not db_path.exists():
        return "missing"
    try:
        with connect(db_path, on_wait=None) as con:
            if get_meta(con, "dataset") == "demo":
                return "ready"
            sources = submission_sources(con)
    except Exception:  # not a database of ours, or no tables yet: leave it to init_db and the pages
        return "ready"
    return "incomplete" if sources == ["demo"] else "ready"


def build_progress(db_path: Path | str) -> tuple[int, int, str] | None:
    """(done, total, file name) of the demo build under way for ``db_path``, or None."""
    try:
        p = json.loads(_progress_file(Path(db_path)).read_text(encoding="utf-8"))
        return int(p["done"]), int(p["total"]), str(p["name"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build_demo_atomic(db_path: Path | str, progress: Callable[[int, int, str], None] | None = None) -> bool:
    """Build the demo database beside ``db_path`` and move it into place when it is complete.

    One builder at a time (a lock file beside the database); a second caller
    waits for the first and then finds the database ready. A build cut short
    (the process killed) leaves only its building folder, which the next build
    clears; a half-built demo from an earlier version is moved to
    ``archive/`` (not deleted) and built again. Progress is written to a file
    that any process can read (``build_progress``). Returns True when this call
    built the database, False when it was already there.
    """
    from filelock import FileLock

    from .store import archive_path, files_dir, set_meta

    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(db_path) + ".demo-lock"):
        state = demo_state(db_path)
        if state == "ready":
            return False
        if state == "incomplete":
            target = archive_path(db_path, "demo-incomplete")
            target.mkdir(parents=True)
            for src in (db_path, db_path.with_name(db_path.name + ".wal"), files_dir(db_path)):
                if src.exists():
                    os.replace(src, target / src.name)
        work = _building_dir(db_path)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        tmp_db = work / db_path.name

        def tick(done: int, total: int, name: str) -> None:
            tmp = _progress_file(db_path).with_suffix(".tmp")
            tmp.write_text(json.dumps({"done": done, "total": total, "name": name}, ensure_ascii=False),
                           encoding="utf-8")
            os.replace(tmp, _progress_file(db_path))
            if progress:
                progress(done, total, name)

        tick(0, len(PERIODS) * len(UNIT_WEIGHT), "")  # about right until the returns are made
        build_demo(tmp_db, progress=tick)  # ends with the completion marker (dataset = demo)
        set_meta(tmp_db, "demo_built_at", datetime.now().isoformat(timespec="seconds"))
        # originals first, then the database: the database appearing is what says "complete"
        _move_folder(files_dir(tmp_db), files_dir(db_path))
        os.replace(tmp_db, db_path)
        shutil.rmtree(work, ignore_errors=True)
    return True


def _move_folder(src: Path, dst: Path) -> None:
    """Move a folder of originals into place; into an existing one file by file (names are content hashes)."""
    if not src.exists():
        return
    try:
        os.replace(src, dst)  # absent or empty target
        return
    except OSError:
        pass
    for f in src.rglob("*"):
        if f.is_file():
            (dst / f.relative_to(src)).parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, dst / f.relative_to(src))


def main(argv: list[str] | None = None) -> int:
    """``python -m pipelines.demo`` in-process: the same as ``python -m pipelines demo``."""
    from .cli import run_command

    return run_command("demo", argv, prog="python -m pipelines.demo")
