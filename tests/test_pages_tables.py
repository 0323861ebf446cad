"""What every page shows in its tables and figures has no raw None/NaN (issue 12).

Each page of app.py's navigation (read from app.py: a new page is covered without a change here)
runs on the demo database with AppTest. A table cell without a value must show 「—」 (the table's
placeholder), never the grid's default 「None」; no cell, metric or text reads None/nan/NaT.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.dbfixtures import demo_db_copy
from tests.e2e.server import navigation

REPO = Path(__file__).resolve().parent.parent
PAGES = [(title, f) for _, entries in navigation().items() for f, title, _, _ in entries]
RAW = re.compile(r"(?<![A-Za-z])(None|nan|NaN|NaT|null|undefined)(?![A-Za-z])")
# the fullest view of each page: a unit's own view on 按盟市
PARAMS = {"pages/region.py": {"unit": "150200"}, "pages/overview.py": {}}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_db_copy(tmp_path_factory.mktemp("demo_tables"))


@pytest.mark.parametrize("title,page", PAGES)
def test_no_raw_missing_values(monkeypatch, demo, title, page):
    monkeypatch.setenv("KJHZ_DB", str(demo))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    for k, v in PARAMS.get(page, {}).items():
        at.query_params[k] = v
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    for i, d in enumerate(at.dataframe):
        df = d.value
        if df.isna().to_numpy().any():
            assert d.proto.placeholder == "—", f"{title}: table {i + 1} shows missing values as None"
        cells = df.astype(str).where(df.notna(), "").to_numpy().ravel()
        raw = sorted({c for c in cells if RAW.search(c)})
        assert not raw, f"{title}: table {i + 1} shows {raw[:5]}"
        heads = [str(c) for c in df.columns] + ([str(x) for x in df.index] if not isinstance(
            df.index, pd.RangeIndex) else [])
        assert not [h for h in heads if RAW.search(h)], f"{title}: table {i + 1} headers {heads}"
    texts = [m.value for m in at.metric] + [m.label for m in at.metric] + \
        [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.info] + \
        [e.value for e in at.warning] + [e.value for e in at.success]
    raw = [t for t in texts if RAW.search(str(t))]
    assert not raw, f"{title}: {raw[:3]}"
