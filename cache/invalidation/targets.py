"""The typed names of where a purge goes: an edge (kind and reference) and a delivery target (region, edge)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class EdgeId:
    """One edge the invalidator purges: its kind and what names it within the kind (a URL, a service id).

    Stored as text in the purge log (`varnish:http://…`, `fastly:svc`, `origin`), the spelling receipts show.
    """

    kind: str
    ref: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}" if self.ref else self.kind

    @classmethod
    def parse(cls, text: str) -> EdgeId:
        kind, _, ref = text.partition(":")  # kinds never contain ":"; references (URLs) may
        return cls(kind, ref)


@dataclass(frozen=True, slots=True)
class Target:
    region: str
    edge: EdgeId
    # Key purges are delivered again after `followup_after` to edges that may store, after a purge, a page
    # whose fetch started before it (purges skip objects still being fetched).
    followup: bool = True
