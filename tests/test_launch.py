"""ui.launch: Streamlit's chart bundle served with the app's fixes (each chart laid out once)."""
from __future__ import annotations

from pathlib import Path

import streamlit

from ui.launch import CHART_BUNDLE, CHART_FIXES, fixed_chart_bundle


def installed_bundle() -> Path:
    js = Path(streamlit.__file__).parent / "static" / "static" / "js"
    found = [p for p in js.iterdir() if CHART_BUNDLE.fullmatch(p.name)]
    assert len(found) == 1, f"Streamlit's chart bundle: {found}"
    return found[0]


def test_every_fix_applies_to_the_installed_streamlit():
    """A Streamlit upgrade that changes the bundle fails here, not silently in the browser."""
    data = installed_bundle().read_bytes()
    fixed = fixed_chart_bundle(data)
    assert fixed is not None
    for why, old, new in CHART_FIXES:
        assert old.encode() not in fixed and new.encode() in fixed, why
    assert len(fixed) - len(data) == sum(len(new.encode()) - len(old.encode()) for _, old, new in CHART_FIXES)


def test_a_changed_bundle_is_served_as_it_is(capsys):
    data = installed_bundle().read_bytes()
    old = CHART_FIXES[0][1].encode()
    assert fixed_chart_bundle(data.replace(old, old[:-1] + b"#")) is None
    assert "served as it is" in capsys.readouterr().err
