"""`storefront db`: every service's schema with its database, upgraded, reported and listed together."""

from __future__ import annotations

from collections.abc import Sequence

from backends.catalog.migrations import SCHEMA as CATALOG
from backends.checkout.migrations import SCHEMA as CHECKOUT
from backends.cms.migrations import SCHEMA as CMS
from backends.common.migrations import BASELINE, Schema, Upgrade, current, heads, history, unversioned, upgrade
from backends.pricing.migrations import SCHEMA as PRICING
from cache.invalidation.migrations import SCHEMA as INVALIDATOR
from stack.settings import Settings

# In the order `up` starts the services.
SCHEMAS: dict[str, Schema] = {s.name: s for s in (CHECKOUT, CATALOG, PRICING, CMS, INVALIDATOR)}


def _databases(settings: Settings, names: Sequence[str] | None) -> list[tuple[Schema, str]]:
    return [(SCHEMAS[name], getattr(settings, name).database_url) for name in names or SCHEMAS]


async def upgrade_all(settings: Settings, names: Sequence[str] | None = None, revision: str = "head") -> list[Upgrade]:
    """Upgrade each service's database (all of them by default), one after the other."""
    return [await upgrade(schema, url, revision) for schema, url in _databases(settings, names)]


async def describe_current(settings: Settings, names: Sequence[str] | None = None) -> list[str]:
    """One line per service: its database's revision and whether that is the head."""
    lines = []
    for schema, url in _databases(settings, names):
        revision = await current(schema, url)
        head = ", ".join(heads(schema))
        if revision is None:
            state = (
                f"unversioned (made by create_all; `storefront db upgrade` stamps it {BASELINE}, then upgrades)"
                if await unversioned(schema, url)
                else "empty"
            )
            lines.append(f"{schema.name}: {state}; head is {head}")
        else:
            lines.append(f"{schema.name}: {revision}" + (" (head)" if revision == head else f" (head is {head})"))
    return lines


def describe_history(names: Sequence[str] | None = None) -> list[str]:
    """Each service's revisions from the baseline up, with what each does."""
    lines = []
    for name in names or SCHEMAS:
        lines.append(f"{name}:")
        for revision, down, message in history(SCHEMAS[name]):
            summary = (message or "").partition("\n")[0]  # a revision's first line says what it does
            lines.append(f"  {down or 'base'} -> {revision}  {summary}")
    return lines
