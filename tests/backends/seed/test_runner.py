"""Seeding draws each look once, and a cap on drawn looks still gives every product pictures."""

from __future__ import annotations

from pathlib import Path

from backends.seed.pictures import VIEWS
from backends.seed.runner import _Photographer


def test_each_look_is_drawn_once_with_its_views_named(tmp_path: Path) -> None:
    photos = _Photographer(tmp_path, cap=None)
    first = photos("tent", "forest")
    assert [ref["view"] for ref in first] == list(VIEWS)
    assert photos("tent", "forest") is first and photos.originals == len(VIEWS)


def test_past_the_cap_a_product_shows_a_drawn_look_of_its_kind_else_the_first(tmp_path: Path) -> None:
    photos = _Photographer(tmp_path, cap=2)
    tent, watch = photos("tent", "forest"), photos("watch", "gold")
    assert photos("tent", "orange") == tent
    assert photos("cap", "navy") == tent
    assert photos.originals == 2 * len(VIEWS) and watch != tent
    assert _Photographer(tmp_path, cap=0)("tent", "forest") == []
