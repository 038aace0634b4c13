"""The one extension point for kinds of edge: the adapter protocol, the `EdgeKind` base class and its registry."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import ClassVar, Protocol, Self, TypeVar

import httpx

from cache.invalidation.settings import InvalidatorSettings
from cache.invalidation.targets import EdgeId
from edge_config import Edge, Region


class EdgeError(Exception):
    """A delivery that failed and is retried with backoff (the edge refused, throttled or could not be reached)."""


class EdgeAdapter(Protocol):
    """Purges one edge: the keys (and URLs) of one region's purge; answers how many objects it removed."""

    name: str

    async def purge(self, region: str, keys: Sequence[str], urls: Sequence[str], *, soft: bool) -> int: ...


class EdgeKind(ABC):
    """A kind of edge, chosen by `kind` in `regions.toml`: its fields there, and its targets and adapters.

    A subclass is one module in this package, registered with `@register`; it is configured once per
    invalidator from the invalidator's settings and the environment (its credentials).
    """

    kind: ClassVar[str]
    ref_field: ClassVar[str] = ""  # the regions.toml field that names one edge of this kind (its EdgeId ref)
    optional_fields: ClassVar[frozenset[str]] = frozenset()
    # Whether key purges go out a second time: an edge with no guard of its own may store a page whose fetch
    # started before the purge.
    followup: ClassVar[bool] = True
    # False: the edge purges paths only, and its adapter turns keys into the paths that may carry them.
    by_key: ClassVar[bool] = True

    @classmethod
    @abstractmethod
    def configure(cls, settings: InvalidatorSettings, env: Mapping[str, str]) -> Self | None:
        """This kind set up for one invalidator, or None when it is off (not the chosen edge, no credentials)."""

    @classmethod
    def check(cls, region: str, edge: Edge) -> None:
        """Refuse an edge entry without this kind's fields, or with fields it does not know."""
        given = {name for name, _ in edge.fields}
        required = {cls.ref_field} if cls.ref_field else set()
        if missing := sorted(required - given):
            raise ValueError(f"region {region}: a {cls.kind} edge needs {', '.join(missing)}")
        if unknown := sorted(given - required - cls.optional_fields):
            raise ValueError(f"region {region}: a {cls.kind} edge has no field {', '.join(unknown)}")

    def edge_ids(self, region: Region) -> tuple[EdgeId, ...]:
        """The edges of this kind that a purge in `region` goes to."""
        return tuple(EdgeId(self.kind, edge.get(self.ref_field)) for edge in region.edges_of(self.kind))

    @abstractmethod
    def adapter(self, edge: EdgeId, client: httpx.AsyncClient) -> EdgeAdapter:
        """The adapter that purges `edge`, built once per invalidator."""

    def page_url(self, edge: EdgeId) -> str:
        """Where `edge` serves pages, for a receipt's check; empty when it cannot be asked directly."""
        return ""


KINDS: dict[str, type[EdgeKind]] = {}
K = TypeVar("K", bound=type[EdgeKind])


def register(kind: K) -> K:
    if kind.kind in KINDS:
        raise ValueError(f"edge kind {kind.kind!r} registered twice")
    KINDS[kind.kind] = kind
    return kind


def check_response(response: httpx.Response, edge: str) -> None:
    if response.status_code >= 300:
        raise EdgeError(f"{edge}: HTTP {response.status_code} {response.text[:120]}")
