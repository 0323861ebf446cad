"""data/partners.csv and data/partner_groups.csv, read with the csv module only."""
from __future__ import annotations

import csv
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
CONTINENTS = {"亚洲", "欧洲", "北美洲", "南美洲", "非洲", "大洋洲"}


def _key(text: str) -> str:
    """Case-insensitive, spaces stripped, full-width folded (as the app compares)."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split("|") if v.strip()]


def _read(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def partners() -> list[dict[str, str]]:
    return _read("partners.csv")


@pytest.fixture(scope="module")
def by_code(partners) -> dict[str, dict[str, str]]:
    return {r["code"]: r for r in partners}


@pytest.fixture(scope="module")
def spellings(partners) -> dict[str, set[str]]:
    """Every accepted spelling (normalised) -> the codes it names."""
    index: dict[str, set[str]] = {}
    for r in partners:
        for s in [r["code"], r["name_zh"], r["name_en"], *_split(r["aliases"])]:
            index.setdefault(_key(s), set()).add(r["code"])
    return index


def resolve(spellings: dict[str, set[str]], text: str) -> str | None:
    codes = spellings.get(_key(text), set())
    assert len(codes) <= 1, f"{text!r} names {sorted(codes)}"
    return next(iter(codes), None)


def test_header_and_kinds(partners):
    with open(DATA / "partners.csv", encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["code", "kind", "name_zh", "name_en", "aliases", "continent", "groups"]
    assert {r["kind"] for r in partners} == {"foreign", "domestic"}
    assert all(r["name_zh"] and r["name_en"] for r in partners)


def test_codes_unique(partners):
    codes = [r["code"] for r in partners]
    assert len(codes) == len(set(codes))
    assert len({_key(c) for c in codes}) == len(codes)


def test_every_spelling_names_one_row(spellings):
    clashes = {s: sorted(c) for s, c in spellings.items() if len(c) > 1}
    assert clashes == {}


def test_china_itself_is_not_a_partner(spellings):
    for text in ["中国", "China", "CHN", "CN", "中华人民共和国", "People's Republic of China"]:
        assert resolve(spellings, text) is None, text


def test_hk_macao_taiwan_are_domestic(by_code, spellings):
    expected = {"CN-HK": "中国香港", "CN-MO": "中国澳门", "CN-TW": "中国台湾"}
    for code, name in expected.items():
        row = by_code[code]
        assert row["kind"] == "domestic"
        assert row["name_zh"] == name
        assert "港澳台" in _split(row["groups"])
    for text, code in [("香港", "CN-HK"), ("HKG", "CN-HK"), ("Hong Kong", "CN-HK"),
                       ("澳门", "CN-MO"), ("MAC", "CN-MO"), ("Macau", "CN-MO"),
                       ("台湾", "CN-TW"), ("中国台湾省", "CN-TW"), ("TWN", "CN-TW"),
                       ("Taiwan", "CN-TW")]:
        assert resolve(spellings, text) == code, text


def test_no_foreign_row_for_china_or_its_regions(partners):
    foreign = {r["code"] for r in partners if r["kind"] == "foreign"}
    assert not foreign & {"CHN", "HKG", "MAC", "TWN"}
    assert len(foreign) == 245  # ISO 3166-1 (249) less those four


def test_domestic_rows_are_the_34_regions(partners):
    domestic = [r for r in partners if r["kind"] == "domestic"]
    assert len(domestic) == 34
    assert all(r["code"].startswith("CN-") and r["continent"] == "亚洲" for r in domestic)


def test_corridor_is_russia_and_mongolia_only(partners):
    members = {r["code"] for r in partners if "中俄蒙经济走廊" in _split(r["groups"])}
    assert members == {"RUS", "MNG"}


@pytest.mark.parametrize("text,code", [
    ("俄罗斯联邦", "RUS"), ("俄罗斯", "RUS"), ("Russia", "RUS"), ("rus", "RUS"), ("俄", "RUS"),
    ("蒙古", "MNG"), ("蒙古国", "MNG"), ("蒙", "MNG"),
    ("美利坚合众国", "USA"), ("美国", "USA"), ("USA", "USA"),
    ("大韩民国", "KOR"), ("南韩", "KOR"), ("韩国", "KOR"),
    ("朝鲜", "PRK"), ("UK", "GBR"), ("Holland", "NLD"), ("以色列", "ISR"),
    ("内蒙古", "CN-NM"), ("广东省", "CN-GD"), ("北京", "CN-BJ"), ("新疆维吾尔自治区", "CN-XJ"),
])
def test_known_spellings(spellings, text, code):
    assert resolve(spellings, text) == code


@pytest.mark.parametrize("text", ["俄国", "新", "澳", "刚果"])
def test_unknown_or_ambiguous_spellings_stay_unknown(spellings, text):
    # 俄国 must stay unknown: the example error file expects 「俄国」 -> did you mean 俄罗斯?
    assert resolve(spellings, text) is None


def test_groups_are_listed(partners):
    groups = _read("partner_groups.csv")
    assert [g["name"] for g in groups] and all(g["description"] for g in groups)
    kinds = {g["name"]: g["kind"] for g in groups}
    assert len(kinds) == len(groups)
    for r in partners:
        for g in _split(r["groups"]):
            assert kinds.get(g) == r["kind"], (r["code"], g)


def test_every_foreign_row_has_a_continent(partners):
    for r in partners:
        assert r["continent"] in CONTINENTS, r["code"]


def test_build_script_reproduces_the_file():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_partners.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
