"""Build store contents in tests without workbooks (the store's own API, not SQL)."""
from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import pandas as pd

from pipelines.checks import CheckedReturn
from pipelines.normalise import parse_period
from pipelines.store import save_checked

ITEM_COLUMNS = ["row", "item_name", "item_type", "indicator_code", "sector_code", "partners",
                "partner_institutions", "local_institution", "start_date", "status", "is_live", "funding_wan", "note"]


def load_values(db: Path, unit: str, period: str, values: dict[str, int], items: list[dict] | None = None,
                received_at: datetime | None = None, tag: str = "") -> object:
    """Load a return with these 表1 values (and optional 表2 items) through save_checked."""
    p = parse_period(period)
    ind = pd.DataFrame([{"indicator_code": k, "value": v, "increase": None, "note": None, "row": i + 4}
                        for i, (k, v) in enumerate(values.items())],
                       columns=["indicator_code", "value", "increase", "note", "row"])
    ind["value"] = ind["value"].astype("Int64")
    ind["increase"] = ind["increase"].astype("Int64")
    rows = []
    for i, it in enumerate(items or []):
        base = {"row": i + 3, "partners": [], "partner_institutions": None, "local_institution": None,
                "start_date": None, "status": None, "is_live": True, "funding_wan": None, "note": None,
                "indicator_code": None, "sector_code": "S01"}
        base.update(it)
        rows.append(base)
    items_df = pd.DataFrame(rows, columns=ITEM_COLUMNS)
    ip = items_df[["row", "partners"]].explode("partners").dropna(subset=["partners"]).rename(
        columns={"partners": "partner_code"})
    ip["partner_kind"] = ip["partner_code"].map(lambda c: "domestic" if str(c).startswith("CN-") else "foreign")
    data = f"{unit}|{period}|{sorted(values.items())}|{items}|{tag}".encode()
    checked = CheckedReturn(file_name=f"{unit}_{period}{tag}.xlsx", file_hash=hashlib.sha256(data).hexdigest(),
                            unit_code=unit, period=p, indicators=ind, items=items_df,
                            item_partners=ip.reset_index(drop=True))
    return save_checked(db, checked, data, who="test", source="test", received_at=received_at, on_wait=None)


PASSWORD = "Zhang-ming-2024!"  # test accounts only


def make_user(db: Path, user_name: str, role: str = "admin", unit: str | None = None,
              password: str = PASSWORD, display_name: str | None = None):
    """An account made as ``python -m pipelines.users add`` makes it (no-op if it exists)."""
    from pipelines import accounts, store

    store.init_db(db)
    with store.connect(db, write=True, on_wait=None) as con:
        if con.execute("SELECT count(*) FROM users WHERE user_name = ?", [user_name]).fetchone()[0]:
            return
        accounts.add_user(con, accounts.Account.local("测试"), user_name, role, password, unit_code=unit,
                          display_name=display_name)


def login(at, user_name: str, password: str = PASSWORD):
    """Log in through the 登录 page of the running AppTest ``at`` (the sidebar has the same form, but
    AppTest shows app.py's sidebar only before the first switch_page)."""
    at.switch_page("pages/login.py").run()
    at.text_input(key="page_login_user").input(user_name)
    at.text_input(key="page_login_password").input(password)
    at.button(key="page_login_submit").click().run()
    assert not at.exception, at.exception
    return at
