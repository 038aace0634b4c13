"""The region catalogue: which regions exist, their locales, currency and tax mode, read from TOML."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_REGIONS_FILE = Path(__file__).with_name("regions.toml")
_TAX_MODES = frozenset({"sales_tax_added", "vat_included", "gst_included"})
NODE_PORT_STEP = 100  # node k of a Varnish edge listens k * 100 ports above the URL the catalogue gives it


@dataclass(frozen=True, slots=True)
class Edge:
    """One cache in front of a region: its kind and that kind's own fields (a Varnish URL, a Fastly service id).

    Which kinds exist and which fields each needs is the invalidator's edge registry's to say
    (`cache/invalidation/edges/`): the catalogue sits below it and only carries the entries.
    """

    kind: str
    fields: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, kind: str, **fields: object) -> Edge:
        return cls(kind, tuple(sorted((name, str(value)) for name, value in fields.items())))

    def get(self, name: str) -> str:
        return next((value for key, value in self.fields if key == name), "")


@dataclass(frozen=True, slots=True)
class Region:
    code: str
    name: str
    locales: tuple[str, ...]
    currency: str
    tax_mode: str
    country: str
    edges: tuple[Edge, ...] = ()

    def edges_of(self, kind: str) -> tuple[Edge, ...]:
        return tuple(edge for edge in self.edges if edge.kind == kind)

    @property
    def default_locale(self) -> str:
        return self.locales[0]

    @property
    def prices_include_tax(self) -> bool:
        return self.tax_mode != "sales_tax_added"


@dataclass(frozen=True, slots=True)
class RegionCatalogue:
    regions: tuple[Region, ...]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.regions)

    def get(self, code: str) -> Region | None:
        return next((r for r in self.regions if r.code == code), None)

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(r.code for r in self.regions)

    def regions_showing_locale(self, locale: str) -> tuple[str, ...]:
        return tuple(r.code for r in self.regions if locale in r.locales)

    def with_edge_nodes(self, nodes: int) -> RegionCatalogue:
        """Each Varnish edge run as `nodes` nodes, every one a purge target of its own; node k listens
        `k * NODE_PORT_STEP` ports above the catalogue's URL. Hosted edges (Fastly, Cloudflare, CloudFront) are
        one service however many machines serve them, so they stay as they are."""
        if nodes == 1:
            return self
        return RegionCatalogue(
            tuple(
                replace(region, edges=tuple(node for edge in region.edges for node in _nodes_of(edge, nodes)))
                for region in self.regions
            )
        )


def _nodes_of(edge: Edge, nodes: int) -> tuple[Edge, ...]:
    if edge.kind != "varnish":
        return (edge,)
    address = urlsplit(edge.get("url"))
    if address.port is None:
        raise ValueError(f"a Varnish edge run as several nodes needs a port in its url, got {edge.get('url')!r}")
    fields = dict(edge.fields)
    return tuple(
        Edge.of(
            "varnish",
            **fields
            | {"url": address._replace(netloc=f"{address.hostname}:{address.port + k * NODE_PORT_STEP}").geturl()},
        )
        for k in range(nodes)
    )


def load_regions(path: Path | str | None = None) -> RegionCatalogue:
    """Read and validate a region catalogue; raises ValueError naming the bad entry."""
    source = Path(path) if path else DEFAULT_REGIONS_FILE
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    regions = []
    for code, entry in data.get("regions", {}).items():
        if not code.isascii() or not code.isalnum() or not code.islower():
            raise ValueError(f"region code {code!r} must be lowercase ASCII letters and digits")
        if entry.get("tax_mode") not in _TAX_MODES:
            raise ValueError(f"region {code}: tax_mode must be one of {sorted(_TAX_MODES)}")
        locales = tuple(entry.get("locales") or ())
        if not locales:
            raise ValueError(f"region {code}: at least one locale is required")
        edges = []
        for edge in entry.get("edges", []):
            fields = dict(edge)
            kind = fields.pop("kind", None)
            if not isinstance(kind, str) or not kind:
                raise ValueError(f"region {code}: every edge needs a kind")
            edges.append(Edge.of(kind, **fields))
        regions.append(
            Region(
                code=code,
                name=entry.get("name", code),
                locales=locales,
                currency=entry["currency"],
                tax_mode=entry["tax_mode"],
                country=entry.get("country", ""),
                edges=tuple(edges),
            )
        )
    if not regions:
        raise ValueError(f"{source}: no regions defined")
    return RegionCatalogue(tuple(regions))
