"""Figures stand alone: title, date and source inside the figure; static export works."""
from __future__ import annotations

import shutil
from datetime import date

import pytest

from pipelines.figures import export_image, progress_bars
from pipelines.progress import progress_table
from pipelines.store import connect
from tests.factories import load_values


@pytest.fixture
def fig(tmp_path):
    db = tmp_path / "f.duckdb"
    load_values(db, "150100", "2019H1", {"I09": 126, "I04": 10})
    with connect(db) as con:
        table = progress_table(con, date(2019, 6, 30))
    return progress_bars(table, date(2019, 6, 30), "全区", "1个单位当期报送")


def test_figure_carries_title_subtitle_and_source(fig):
    assert fig.layout.title.text == "全区科技创新合作指标完成率与时间进度"
    assert "截至2019年6月30日" in fig.layout.title.subtitle.text
    assert any("数据来源" in (a.text or "") for a in fig.layout.annotations)
    assert fig.layout.xaxis.title.text == "完成率（%）"


@pytest.mark.skipif(not shutil.which("chromium"), reason="kaleido needs Debian's chromium (scripts/setup.sh)")
def test_png_and_svg_export_keep_chinese_text(fig):
    png = export_image(fig, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    svg = export_image(fig, "svg").decode("utf-8")
    assert "科技创新合作指标完成率与时间进度" in svg and "数据来源" in svg
