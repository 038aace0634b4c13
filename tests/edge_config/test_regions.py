"""The region catalogue is data: adding a region is adding a TOML table."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_config import load_regions


def test_default_catalogue() -> None:
    regions = load_regions()
    eu = regions.get("eu")
    assert eu is not None and eu.currency == "EUR" and eu.prices_include_tax
    assert regions.get("us").prices_include_tax is False  # type: ignore[union-attr]
    assert regions.regions_showing_locale("de-DE") == ("eu",)


def test_a_new_region_is_one_entry(tmp_path: Path) -> None:
    path = tmp_path / "regions.toml"
    path.write_text(
        '[regions.uk]\nlocales = ["en-GB"]\ncurrency = "GBP"\ntax_mode = "vat_included"\n', encoding="utf-8"
    )
    regions = load_regions(path)
    assert regions.codes == ("uk",) and regions.get("uk").default_locale == "en-GB"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[regions.UK]\nlocales=["en-GB"]\ncurrency="GBP"\ntax_mode="vat_included"\n', "lowercase"),
        ('[regions.uk]\nlocales=[]\ncurrency="GBP"\ntax_mode="vat_included"\n', "locale"),
        ('[regions.uk]\nlocales=["en-GB"]\ncurrency="GBP"\ntax_mode="none"\n', "tax_mode"),
        ("", "no regions"),
    ],
)
def test_bad_catalogues_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "regions.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_regions(path)


def test_each_varnish_edge_runs_as_several_nodes_and_hosted_edges_stay_one(tmp_path: Path) -> None:
    path = tmp_path / "regions.toml"
    path.write_text(
        '[regions.uk]\nlocales = ["en-GB"]\ncurrency = "GBP"\ntax_mode = "vat_included"\n'
        'edges = [{ kind = "varnish", url = "http://127.0.0.1:8091" }, { kind = "fastly", service_id = "abc" }]\n',
        encoding="utf-8",
    )
    uk = load_regions(path).with_edge_nodes(3).get("uk")
    assert uk is not None
    assert [edge.get("url") for edge in uk.edges_of("varnish")] == [
        "http://127.0.0.1:8091",
        "http://127.0.0.1:8191",
        "http://127.0.0.1:8291",
    ]
    assert [edge.get("service_id") for edge in uk.edges_of("fastly")] == ["abc"]


def test_every_service_reads_the_same_nodes_from_the_environment() -> None:
    from stack.settings import Settings

    settings = Settings.from_env({"STOREFRONT_EDGE_NODES": "2"})
    us = [edge.get("url") for edge in settings.regions.get("us").edges_of("varnish")]  # type: ignore[union-attr]
    assert us == ["http://127.0.0.1:8081", "http://127.0.0.1:8181"]
    assert settings.invalidator.regions == settings.origin.regions == settings.regions
    with pytest.raises(ValueError, match="STOREFRONT_EDGE_NODES"):
        Settings.from_env({"STOREFRONT_EDGE_NODES": "0"})
