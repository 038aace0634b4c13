"""Where a region's purges go: the configured edge kinds' delivery targets and adapters, from the registry."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpx

from cache.invalidation.edges import KINDS, EdgeAdapter, EdgeKind
from cache.invalidation.settings import InvalidatorSettings
from cache.invalidation.targets import EdgeId, Target
from edge_config import RegionCatalogue


def check_catalogue(catalogue: RegionCatalogue) -> None:
    """Refuse a region catalogue naming an edge kind nobody registered, or an edge without its kind's fields."""
    for region in catalogue:
        for edge in region.edges:
            kind = KINDS.get(edge.kind)
            if kind is None:
                raise ValueError(f"region {region.code}: edge kind must be one of {sorted(KINDS)}, not {edge.kind!r}")
            kind.check(region.code, edge)


@dataclass(frozen=True)
class Fanout:
    """The edge kinds one invalidator purges (each configured from its settings and environment)."""

    catalogue: RegionCatalogue
    kinds: tuple[EdgeKind, ...]

    @classmethod
    def from_settings(cls, settings: InvalidatorSettings, env: Mapping[str, str] | None = None) -> Fanout:
        check_catalogue(settings.regions)
        env = os.environ if env is None else env
        configured = (kind.configure(settings, env) for kind in KINDS.values())
        return cls(settings.regions, tuple(kind for kind in configured if kind is not None))

    def targets(self, regions: Iterable[str]) -> list[Target]:
        """One delivery target per region and edge; the kind says whether key purges get a second delivery."""
        return [
            Target(code, edge, followup=kind.followup)
            for code in regions
            if (region := self.catalogue.get(code)) is not None
            for kind in self.kinds
            for edge in kind.edge_ids(region)
        ]

    def adapters(self, client: httpx.AsyncClient) -> dict[EdgeId, EdgeAdapter]:
        """One adapter per edge, shared by the regions it serves."""
        adapters: dict[EdgeId, EdgeAdapter] = {}
        for kind in self.kinds:
            for region in self.catalogue:
                for edge in kind.edge_ids(region):
                    if edge not in adapters:
                        adapters[edge] = kind.adapter(edge, client)
        return adapters

    def page_url(self, edge: EdgeId) -> str:
        """Where an edge serves pages, for a receipt's check; empty for edges that cannot be asked directly."""
        kind = next((k for k in self.kinds if k.kind == edge.kind), None)
        return kind.page_url(edge) if kind is not None else ""

    def describe(self) -> dict[str, dict[str, bool]]:
        """The configured kinds, as the status endpoint shows them."""
        return {kind.kind: {"by_key": kind.by_key, "followup": kind.followup} for kind in self.kinds}
