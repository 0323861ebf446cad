"""Benchmark: checking and loading a return vs. just reading it.

Builds returns of 1,000, 10,000 and 50,000 item rows with the template writer,
then for each prints the time to check and load it into an empty database
(``ingest_bytes`` with ``--db`` in a temp folder; the schema is created before
the clock starts, as the app and the command line find it) next to two baselines
measured in the same run on the same file: ``python_calamine`` alone reading
every sheet, and ``pandas.read_excel(engine="openpyxl")`` reading the item
sheet. The ratios are what matter (target: check+load <= 1.5x calamine).

Then the same as whole processes, as an admin meets them: ``python -m pipelines ingest --db
<empty database> FILE`` against a process that only imports python-calamine and reads every
sheet of the same file, the two run in turns so that both meet the same load (target: <= 2.5x;
median and best of ``--repeat`` pairs; the project's bytecode is written first, as on any second
run), and the time of ``python -m pipelines <command> --help``
and of the module form ``python -m pipelines.<command> --help`` for every command (target:
<= 0.5 s; median of ``--repeat``).

    python bench/ingest.py [--sizes 1000 10000 50000] [--repeat 5] [--no-process]
"""
from __future__ import annotations

import argparse
import io
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from statistics import median
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
from python_calamine import CalamineWorkbook  # noqa: E402

from pipelines.ingest import ingest_bytes  # noqa: E402
from pipelines.normalise import Period  # noqa: E402
from pipelines.reference import load_reference  # noqa: E402
from pipelines.store import init_db  # noqa: E402
from pipelines.template import write_return  # noqa: E402

TODAY = date(2021, 3, 1)


def make_return(n: int, seed: int = 7) -> bytes:
    ref = load_reference()
    rng = random.Random(seed)
    types = ref.item_types
    foreign = ref.partners.loc[ref.partners["kind"] == "foreign", "code"].tolist()[:60]
    domestic = ref.partners.loc[ref.partners["kind"] == "domestic", "code"].tolist()
    sectors = ref.sectors["code"].tolist()
    statuses = ref.statuses["name"].tolist()
    rows = []
    for i in range(n):
        t = types.iloc[rng.randrange(len(types))]
        need = t["partner_required"]
        if need == "foreign":
            partners = rng.sample(foreign, rng.choice([1, 1, 2]))
        elif need == "domestic":
            partners = [rng.choice(domestic)]
        elif need == "any":
            partners = [rng.choice(foreign + domestic)]
        else:
            partners = []
        rows.append({
            "item_name": f"合作事项{i:06d}", "item_type": t["name"], "sector_code": rng.choice(sectors),
            "partners": partners, "partner_institutions": f"合作单位{rng.randrange(500)}",
            "local_institution": f"承担单位{rng.randrange(300)}",
            "start_date": date(2018, 1, 1) + timedelta(days=rng.randrange(900)),
            "status": rng.choice(statuses), "funding_wan": round(rng.uniform(1, 500), 1), "note": None,
        })
    items = pd.DataFrame(rows)
    live = items[items["status"] != "已终止"].merge(types[["name", "indicator_code"]], left_on="item_type",
                                                    right_on="name")
    values = live.groupby("indicator_code").size().to_dict()
    values.pop("", None)
    return write_return(unit_code="150200", period=Period("H", 2020, 2), values=values, items=items,
                        ref=ref, validation=False)


def read_calamine(data: bytes) -> None:
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    for name in wb.sheet_names:
        wb.get_sheet_by_name(name).to_python(skip_empty_area=False)


def read_openpyxl(data: bytes) -> None:
    pd.read_excel(io.BytesIO(data), sheet_name="表2 合作事项明细", engine="openpyxl", header=1)


def empty_database(folder: Path) -> Path:
    """A database with the schema in place, as the app and the command line find it."""
    db = folder / "bench.duckdb"
    init_db(db)
    return db


def check_and_load(data: bytes, db: Path) -> None:
    r = ingest_bytes(db, data, "bench.xlsx", today=TODAY, on_wait=None)
    assert r.status == "loaded", [e.message for e in r.errors][:5]


def best(fn, data: bytes, repeat: int, fresh_db: bool = False) -> float:
    """Fastest of ``repeat`` runs; with ``fresh_db`` each run loads into its own copy of an
    empty database in a temp folder (copied before the clock starts)."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        base = empty_database(Path(tmp) / "base") if fresh_db else None
        for k in range(repeat):
            args = ()
            if fresh_db:
                run = Path(tmp) / f"run{k}"
                shutil.copytree(base.parent, run)
                args = (run / base.name,)
            t0 = time.perf_counter()
            fn(data, *args)
            times.append(time.perf_counter() - t0)
    return min(times)


CALAMINE_ONLY = """import sys
from python_calamine import CalamineWorkbook
wb = CalamineWorkbook.from_path(sys.argv[1])
for name in wb.sheet_names:
    wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
"""


def process_times(cmd: list[str], repeat: int, before=None) -> list[float]:
    """Seconds of ``repeat`` runs of a whole process (``before()`` runs outside the clock)."""
    return [process_time(cmd, before) for _ in range(repeat)]


def process_time(cmd: list[str], before=None) -> float:
    if before:
        before()
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   cwd=Path(__file__).resolve().parent.parent)
    return time.perf_counter() - t0


def compile_project() -> None:
    """Write the project's bytecode (``__pycache__``), as Python itself does on a first run and
    pip does for installed packages such as python-calamine. Where PYTHONDONTWRITEBYTECODE is
    set (this machine's shell has it) every process would otherwise compile pipelines/ from source
    again (60-80 ms here), which an admin's second run never does."""
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "pipelines"), quiet=1)


def whole_process(data: bytes, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds of a calamine-only process and of ``python -m pipelines ingest`` on the same file,
    ``repeat`` of each, run in turns (the project's bytecode written first: ``compile_project``)."""
    compile_project()
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "包头市_2020年下半年.xlsx"
        f.write_bytes(data)
        base = empty_database(Path(tmp) / "base")
        run = Path(tmp) / "run"

        def fresh():
            shutil.rmtree(run, ignore_errors=True)
            shutil.copytree(base.parent, run)

        t_cal, t_ing = [], []
        for _ in range(repeat):
            t_cal.append(process_time([sys.executable, "-c", CALAMINE_ONLY, str(f)]))
            t_ing.append(process_time([sys.executable, "-m", "pipelines", "ingest", "--db", str(run / base.name),
                                       str(f)], before=fresh))
    return t_cal, t_ing


def help_times(repeat: int) -> dict[str, float]:
    """Median seconds of ``--help`` for every command, in both forms."""
    from pipelines.cli import COMMANDS

    out = {}
    for name in COMMANDS:
        out[name] = median(process_times([sys.executable, "-m", "pipelines", name, "--help"], repeat))
        out[f"pipelines.{name}"] = median(process_times([sys.executable, "-m", f"pipelines.{name}", "--help"], repeat))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 50000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-openpyxl", action="store_true", help="skip the slow openpyxl baseline")
    ap.add_argument("--no-process", action="store_true", help="skip the whole-process measurements")
    args = ap.parse_args(argv)
    load_reference()
    best(check_and_load, make_return(50), 1, fresh_db=True)  # warm imports, caches and the reader process
    print(f"{'rows':>8} {'file MB':>8} {'calamine s':>11} {'openpyxl s':>11} {'check+load s':>13} "
          f"{'vs calamine':>12} {'vs openpyxl':>12}")
    target = float("nan")
    for n in args.sizes:
        data = make_return(n)
        t_cal = best(read_calamine, data, args.repeat)
        t_opx = float("nan") if args.skip_openpyxl else best(read_openpyxl, data, 1)
        t_ing = best(check_and_load, data, args.repeat, fresh_db=True)
        target = t_ing / t_cal if n == max(args.sizes) else target
        print(f"{n:>8} {len(data) / 1e6:>8.2f} {t_cal:>11.3f} {t_opx:>11.3f} {t_ing:>13.3f} "
              f"{t_ing / t_cal:>11.2f}x {t_ing / t_opx:>11.2f}x")
    print(f"{max(args.sizes):,} rows: check+load costs {target:.2f}x the bare calamine read (target <= 1.5x)")
    if args.no_process:
        return 0
    n = max(args.sizes)
    t_cal, t_ing = whole_process(make_return(n), args.repeat)
    ratios = [i / c for c, i in zip(t_cal, t_ing)]
    print(f"\nwhole process, {n:,} rows, {args.repeat} pairs: calamine-only median {median(t_cal):.3f} s "
          f"(best {min(t_cal):.3f}), `python -m pipelines ingest` median {median(t_ing):.3f} s (best {min(t_ing):.3f}); "
          f"ratio median {median(ratios):.2f}x, best-to-best {min(t_ing) / min(t_cal):.2f}x (target <= 2.5x)")
    helps = help_times(args.repeat)
    print("--help (median): " + ", ".join(f"{k} {v:.2f} s" for k, v in helps.items())
          + f"; slowest {max(helps, key=helps.get)} {max(helps.values()):.2f} s (target <= 0.5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
