"""The shared fixture photographs (read in place, never copied into the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(
    os.environ.get("STOREFRONT_FIXTURES_DIR", Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "images")
)


@pytest.fixture(scope="session")
def fixtures() -> Path:
    if not (FIXTURES / "rocket.jpg").exists():
        message = f"fixture images not found at {FIXTURES} (set STOREFRONT_FIXTURES_DIR)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return FIXTURES
