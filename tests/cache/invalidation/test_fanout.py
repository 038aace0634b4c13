"""The edge registry: every kind one module, chosen by `kind` in regions.toml, configured from settings and env."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from cache.invalidation.edges import KINDS
from cache.invalidation.edges.cloudfront import CloudFrontAdapter
from cache.invalidation.fanout import Fanout, check_catalogue
from cache.invalidation.settings import InvalidatorSettings
from cache.invalidation.targets import EdgeId, Target
from edge_config import Edge, Region, RegionCatalogue, load_regions

CLOUDFRONT_ENV = {"STOREFRONT_CLOUDFRONT_ACCESS_KEY_ID": "AKID", "STOREFRONT_CLOUDFRONT_SECRET_ACCESS_KEY": "s3cr3t"}


def settings(*edges: Edge, edge: str = "origin") -> InvalidatorSettings:
    us = Region("us", "United States", ("en-US",), "USD", "sales_tax_added", "US", edges=edges)
    return InvalidatorSettings(
        name="invalidator",
        url="http://127.0.0.1:8105",
        database_url="",
        admin_token="t",
        regions=RegionCatalogue((us,)),
        edge=edge,
    )


def test_every_kind_is_registered_by_its_module() -> None:
    assert set(KINDS) == {"varnish", "origin", "fastly", "cloudflare", "cloudfront"}
    assert KINDS["cloudfront"].by_key is False and all(KINDS[k].by_key for k in set(KINDS) - {"cloudfront"})
    check_catalogue(load_regions())  # the shipped catalogue names only registered kinds, with their fields


def test_regions_toml_carries_each_kinds_own_fields(tmp_path: Path) -> None:
    path = tmp_path / "regions.toml"
    path.write_text(
        '[regions.us]\nlocales = ["en-US"]\ncurrency = "USD"\ntax_mode = "sales_tax_added"\n'
        'edges = [{ kind = "cloudfront", distribution_id = "E2EXAMPLE" }]\n',
        encoding="utf-8",
    )
    [edge] = load_regions(path).get("us").edges  # type: ignore[union-attr]
    assert edge == Edge.of("cloudfront", distribution_id="E2EXAMPLE") and edge.get("distribution_id") == "E2EXAMPLE"


@pytest.mark.parametrize(
    ("edge", "message"),
    [
        (Edge.of("akamai", host="x"), "edge kind must be one of .*'akamai'"),
        (Edge.of("cloudfront"), "a cloudfront edge needs distribution_id"),
        (Edge.of("fastly", service_id="s", zone_id="z"), "a fastly edge has no field zone_id"),
        (Edge.of("origin"), "the origin page cache is not an edge to list"),
    ],
)
def test_a_bad_edge_entry_is_refused_naming_the_region(edge: Edge, message: str) -> None:
    with pytest.raises(ValueError, match=f"region us: {message}"):
        Fanout.from_settings(settings(edge), env={})


def test_a_kind_without_credentials_gets_no_deliveries() -> None:
    config = settings(Edge.of("cloudfront", distribution_id="E1"), Edge.of("fastly", service_id="svc"))
    assert Fanout.from_settings(config, env={}).targets(("us",)) == [Target("us", EdgeId("origin"), followup=False)]
    with_keys = Fanout.from_settings(replace(config, fastly_token="f"), env=CLOUDFRONT_ENV)
    assert sorted(with_keys.targets(("us", "nowhere")), key=lambda t: t.edge) == [
        Target("us", EdgeId("cloudfront", "E1"), followup=True),
        Target("us", EdgeId("fastly", "svc"), followup=True),
        Target("us", EdgeId("origin"), followup=False),
    ]


async def test_one_adapter_per_edge_from_its_kind_and_the_urls_a_receipt_can_check() -> None:
    config = settings(Edge.of("varnish", url="http://127.0.0.1:8081"), Edge.of("cloudfront", distribution_id="E1"))
    fanout = Fanout.from_settings(config, env=CLOUDFRONT_ENV | {"STOREFRONT_CLOUDFRONT_API": "http://fake/"})
    async with httpx.AsyncClient() as client:
        adapters = fanout.adapters(client)
    assert set(adapters) == {EdgeId("origin"), EdgeId("cloudfront", "E1")}  # Varnish is not the chosen edge
    cloudfront = adapters[EdgeId("cloudfront", "E1")]
    assert isinstance(cloudfront, CloudFrontAdapter) and cloudfront.api == "http://fake"
    assert fanout.page_url(EdgeId("origin")) == "http://127.0.0.1:8000"
    assert fanout.page_url(EdgeId("cloudfront", "E1")) == ""
    varnish = Fanout.from_settings(replace(config, edge="varnish"), env={})
    assert varnish.page_url(EdgeId("varnish", "http://127.0.0.1:8081")) == "http://127.0.0.1:8081"
    assert fanout.describe()["cloudfront"] == {"by_key": False, "followup": True}


def test_edge_ids_keep_the_stored_spelling() -> None:
    for text in ("origin", "varnish:http://127.0.0.1:8081", "fastly:svc", "cloudfront:E1"):
        assert str(EdgeId.parse(text)) == text
    assert EdgeId.parse("varnish:http://127.0.0.1:8081") == EdgeId("varnish", "http://127.0.0.1:8081")
