"""The briefing pack (pipelines.briefing) and server-side images, with a real renderer.

Needs Debian's chromium and fonts-noto-cjk (scripts/setup.sh), like every image export.
"""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from pipelines.figures import finish
from pipelines.figures.images import DEMO_LABEL, mark_demo, render, render_batch
from tests.dbfixtures import demo_db_copy
from tests.factories import load_values

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not shutil.which("chromium"), reason="needs Debian's chromium (scripts/setup.sh)")
W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def title_band(png: bytes, top: int = 0, bottom: int = 60) -> np.ndarray:
    """Grey levels of the title's strip (top of the image, left half) of a 2x PNG."""
    img = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
    return img[top * 2:bottom * 2, : img.shape[1] // 2]


def chart_with_title(title: str) -> go.Figure:
    fig = go.Figure(go.Bar(x=[1, 2, 3], y=[3, 1, 2]))
    return finish(fig, title, "全区 · 截至2019年6月30日", height=400)


def test_chinese_title_renders_at_size_with_real_glyphs():
    zh, other_zh, missing = render_batch([chart_with_title("科技创新合作指标完成率"),
                                          chart_with_title("院士专家工作站累计数量"),
                                          chart_with_title("\ue000\ue001\ue002\ue003\ue004\ue005\ue006\ue007")])
    img = Image.open(io.BytesIO(zh))
    assert img.size == (2400, 800)  # 1200 x 400 at scale 2
    pixels = np.asarray(img.convert("L"))
    assert pixels.min() < 80 and pixels.std() > 10  # not blank
    band = title_band(zh)
    dark = band < 128
    assert dark.mean() > 0.01  # dark pixels where the title is
    # real glyphs: two different Chinese titles draw different shapes, and neither looks like the
    # boxes a font without the characters draws (the private-use title)
    assert (title_band(other_zh) < 128).astype(int).__sub__(dark.astype(int)).any()
    assert np.abs((title_band(missing) < 128).astype(int) - dark.astype(int)).sum() > 0.005 * dark.size


def test_demo_images_say_demo_in_the_image():
    fig = chart_with_title("演示图")
    marked = mark_demo(fig)
    assert any(DEMO_LABEL in (a.text or "") for a in marked.layout.annotations)
    assert not any(DEMO_LABEL in (a.text or "") for a in fig.layout.annotations)  # the original is untouched
    plain, demo = render(fig), render(fig, demo=True)
    a = np.asarray(Image.open(io.BytesIO(plain)).convert("RGB")).astype(int)
    b = np.asarray(Image.open(io.BytesIO(demo)).convert("RGB")).astype(int)
    # the red label at the bottom right
    corner = b[-120:, -700:]
    red = (corner[..., 0] > 150) & (corner[..., 1] < 90) & (corner[..., 2] < 90)
    assert red.sum() > 200 and not np.array_equal(a, b)
    svg = render(fig, "svg", demo=True).decode()
    assert "演示数据" in svg


@pytest.fixture(scope="module")
def pack_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pack")
    db = demo_db_copy(tmp)
    out = tmp / "out"
    subprocess.run([sys.executable, "-m", "pipelines.briefing", "--db", str(db), "--as-of", "2019-12-31",
                    "--out", str(out)], cwd=REPO, check=True, capture_output=True)
    return db, out


def test_cli_writes_docx_and_zip(pack_dir):
    _, out = pack_dir
    assert sorted(p.name for p in out.iterdir()) == ["简报_全区_2019-12-31.docx", "简报图表_全区_2019-12-31.zip"]


def test_docx_has_sections_table_images_fonts_a4_and_page_numbers(pack_dir):
    import docx

    db, out = pack_dir
    d = docx.Document(str(out / "简报_全区_2019-12-31.docx"))
    headings = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:5] == ["一、总体进展", "二、各项指标完成情况", "三、各地区进展", "四、合作国别与领域", "五、数据说明"]
    assert "六、指标进展表" in headings and "八、主要图表" in headings
    assert d.paragraphs[0].text == "内蒙古自治区科技创新合作三年行动计划（2018-2020年）实施进展简报"
    [table] = d.tables
    assert len(table.rows) == 15  # header + 14 indicators
    assert [c.text for c in table.rows[0].cells] == ["序号", "指标", "计量单位", "累计值", "目标值", "完成率", "时间进度",
                                                     "差距（百分点）", "状态"]
    assert table.rows[9].cells[1].text == "院士专家工作站"
    with zipfile.ZipFile(out / "简报图表_全区_2019-12-31.zip") as z:
        pngs = [n for n in z.namelist() if n.endswith(".png")]
    assert len(d.inline_shapes) == len(pngs) == 5  # one image per figure
    sec = d.sections[0]
    assert round(sec.page_width.mm) == 210 and round(sec.page_height.mm) == 297
    # East Asian fonts: 仿宋 body, 黑体 headings
    normal = d.styles["Normal"].element.rPr.rFonts
    assert normal.get(f"{W_NS}eastAsia") == "仿宋"
    heading_fonts = {r.element.rPr.rFonts.get(f"{W_NS}eastAsia") for p in d.paragraphs
                     if p.style.name.startswith("Heading") for r in p.runs}
    assert heading_fonts == {"黑体"}
    footer = sec.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and 'w:fldCharType="begin"' in footer
    # the region value of 院士专家工作站 in the text equals pipelines.progress --json
    doc = json.loads(subprocess.run([sys.executable, "-m", "pipelines.progress", "--db", str(db), "--as-of",
                                     "2019-12-31", "--json"], cwd=REPO, check=True, capture_output=True,
                                    text=True).stdout)
    i09 = {r["indicator_code"]: r for r in doc["indicators"]}["I09"]["value"]
    text = "\n".join(p.text for p in d.paragraphs)
    assert f"全区累计建成院士专家工作站{i09}家" in text
    assert table.rows[9].cells[3].text == str(i09)
    assert "演示数据" in text


def test_zip_has_every_figure_as_wide_png(pack_dir):
    _, out = pack_dir
    with zipfile.ZipFile(out / "简报图表_全区_2019-12-31.zip") as z:
        names = z.namelist()
        assert "说明.txt" in names and "演示数据" in z.read("说明.txt").decode()
        for n in [n for n in names if n.endswith(".png")]:
            img = Image.open(io.BytesIO(z.read(n)))
            assert img.format == "PNG" and img.width >= 1000, n


def test_one_unit_pack_and_bad_arguments(tmp_path):
    db = tmp_path / "u.duckdb"
    load_values(db, "150200", "2019H1", {"I09": 9})
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "pipelines.briefing", "--db", str(db), "--as-of", "2019-06-30",
                    "--unit", "包头", "--out", str(out)], cwd=REPO, check=True, capture_output=True)
    import docx

    d = docx.Document(str(out / "简报_包头市_2019-06-30.docx"))
    assert "包头市累计建成院士专家工作站9家" in "\n".join(p.text for p in d.paragraphs)
    assert d.tables[0].rows[0].cells[5].text == "占全区目标"
    bad = subprocess.run([sys.executable, "-m", "pipelines.briefing", "--db", str(db), "--as-of", "2019/6/30",
                          "--out", str(out)], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and "无法识别日期" in bad.stderr
