"""SVG charts of the statistics page: well-formed, titled, escaped, suppressed cells drawn as
stubs without their number, and an empty series drawn as "No data"."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from app.supervision import charts

SVG = "{http://www.w3.org/2000/svg}"
XSS = '<script>alert(1)</script>"&'


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - our own output


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_columns_carry_title_desc_and_their_numbers() -> None:
    svg = charts.columns(
        chart_id="c1",
        title="Chats per day",
        desc="Joins per day",
        labels=["01 Nov", "02 Nov"],
        series=[charts.Series("Joins", (12, 30), "joins")],
    )
    root = _parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title"
    assert root.get("aria-describedby") == "c1-desc"
    assert root.find(f"{SVG}title").text == "Chats per day"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "Joins per day"  # type: ignore[union-attr]
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-joins"]
    tips = [r.find(f"{SVG}title").text for r in bars if r.find(f"{SVG}title") is not None]  # type: ignore[union-attr]
    assert tips == ["01 Nov, Joins: 12", "02 Nov, Joins: 30"]
    # The axis tops at 50 (a nice number above 30): the taller bar is 30/50 of the plot.
    heights = [float(r.get("height", 0)) for r in bars]
    assert heights[1] / heights[0] == pytest.approx(30 / 12, rel=0.01)  # to 0.1 px
    assert "50" in _texts(root)
    assert "style=" not in svg  # the CSP allows no inline style
    assert "<script" not in svg


def test_every_text_is_escaped() -> None:
    svg = charts.columns(
        chart_id="c2",
        title=XSS,
        desc=XSS,
        labels=[XSS],
        series=[charts.Series(XSS, (7,), "joins")],
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&amp;" in svg
    root = _parse(svg)  # still well-formed
    assert XSS in _texts(root)
    bars = charts.bars(chart_id="b", title=XSS, desc=XSS, labels=[XSS], values=[9], css="topic")
    assert "<script>" not in bars
    assert XSS in _texts(_parse(bars))


def test_suppressed_values_are_stubs_never_numbers() -> None:
    svg = charts.columns(
        chart_id="c3",
        title="t",
        desc="d",
        labels=["01 Nov", "02 Nov"],
        series=[charts.Series("Served", (None, 6), "served")],
    )
    root = _parse(svg)
    stubs = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "chart-suppressed"]
    # One stub at the baseline and one legend swatch.
    assert len(stubs) == 2
    assert stubs[0].get("height") == "3"
    assert stubs[0].find(f"{SVG}title").text == "01 Nov, Served: fewer than 5"  # type: ignore[union-attr]
    assert "fewer than 5 (not shown)" in _texts(root)

    bars = _parse(
        charts.bars(
            chart_id="b", title="t", desc="d", labels=["Police"], values=[None], css="referral"
        )
    )
    assert "fewer than 5" in _texts(bars)
    assert not [t for t in _texts(bars) if t.isdigit()]


def test_an_empty_series_says_no_data() -> None:
    for svg in (
        charts.columns(chart_id="e", title="t", desc="d", labels=[], series=[]),
        charts.bars(chart_id="e", title="t", desc="d", labels=[], values=[], css="topic"),
    ):
        root = _parse(svg)
        assert _texts(root) == ["No data"]
        assert root.find(f"{SVG}title") is not None


def test_all_suppressed_still_draws_an_axis() -> None:
    svg = charts.columns(
        chart_id="s",
        title="t",
        desc="d",
        labels=["a", "b"],
        series=[charts.Series("Joins", (None, None), "joins")],
    )
    assert "chart-joins" in svg  # the legend
    assert {"0", "5", "10"} <= set(_texts(_parse(svg)))


def test_unequal_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="one value per label"):
        charts.columns(
            chart_id="x", title="t", desc="d", labels=["a"], series=[charts.Series("s", (), "j")]
        )
    with pytest.raises(ValueError, match="one value per label"):
        charts.bars(chart_id="x", title="t", desc="d", labels=["a"], values=[], css="j")


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (1, 1), (3, 5), (12, 20), (30, 50), (100, 100), (101, 200)]
)
def test_nice_ceiling(value: float, top: float) -> None:
    assert charts.nice_ceiling(value) == top
