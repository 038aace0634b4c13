"""Shared shapes of identifiers (slugs, SKUs) and the region check every backend applies."""

from __future__ import annotations

import re

from litestar.datastructures import State

from backends.common.problems import invalid
from edge_config import Region

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PROMO_CODE = r"^[A-Za-z0-9][A-Za-z0-9-]{2,31}$"


def region_of(state: State, code: str) -> Region:
    """The region named in a request, or a 422 naming the known ones."""
    found = state.settings.regions.get(code)
    if found is None:
        raise invalid("region", f"unknown region; known: {', '.join(state.settings.regions.codes)}")
    return found
