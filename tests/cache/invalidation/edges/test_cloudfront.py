"""CloudFront against a local HTTP server that checks what `CreateInvalidation` documents: SigV4, XML, limits."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from xml.etree import ElementTree

import httpx
import pytest

from cache.invalidation.edges.base import EdgeError
from cache.invalidation.edges.cloudfront import CloudFrontAdapter, key_paths, sigv4_headers
from tests.edge_config.conftest import Recorder, recorder  # noqa: F401 - the fixture

NS = {"cf": "http://cloudfront.amazonaws.com/doc/2020-05-31/"}
CREATED = (201, {"Content-Type": "text/xml"}, b"<Invalidation><Id>I1</Id><Status>InProgress</Status></Invalidation>")
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=AKID/(\d{8})/us-east-1/cloudfront/aws4_request, "
    r"SignedHeaders=host;x-amz-date(;x-amz-security-token)?, Signature=[0-9a-f]{64}"
)


def batch(request: dict[str, object]) -> tuple[list[str], str]:
    root = ElementTree.fromstring(request["body"])  # type: ignore[arg-type]
    paths = [item.text or "" for item in root.findall("cf:Paths/cf:Items/cf:Path", NS)]
    assert root.findtext("cf:Paths/cf:Quantity", namespaces=NS) == str(len(paths))
    return paths, root.findtext("cf:CallerReference", namespaces=NS) or ""


def adapter(client: httpx.AsyncClient, api: Recorder, **changes: str) -> CloudFrontAdapter:
    return CloudFrontAdapter("E2EXAMPLE", "AKID", "s3cr3t", client, api.url, **changes)


async def test_paths_go_in_signed_batches_of_at_most_3000(recorder: Callable[..., Recorder]) -> None:  # noqa: F811
    api = recorder(lambda request: CREATED)
    urls = [f"/us/en/p/item-{i}" for i in range(3500)]
    async with httpx.AsyncClient() as client:
        assert await adapter(client, api).purge("us", [], urls, soft=True) == 3500
    assert [(r["method"], r["path"]) for r in api.requests] == [
        ("POST", "/2020-05-31/distribution/E2EXAMPLE/invalidation")
    ] * 2
    (first, ref1), (second, ref2) = (batch(r) for r in api.requests)
    assert (len(first), len(second)) == (3000, 500) and sorted(first + second) == sorted(urls)
    assert ref1 and ref2 and ref1 != ref2  # a unique CallerReference: CloudFront would take a repeat as a replay
    for request in api.requests:
        headers = request["headers"]
        assert AUTHORIZATION.fullmatch(headers["authorization"])
        assert re.fullmatch(r"\d{8}T\d{6}Z", headers["x-amz-date"])
        assert headers["content-type"] == "text/xml"
        # The signature is over what was sent: signing the recorded request again gives the same header.
        sent = datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        again = sigv4_headers(
            "POST", f"{api.url}{request['path']}", request["body"], key_id="AKID", secret="s3cr3t", now=sent
        )
        assert again["authorization"] == headers["authorization"] and again["host"] == headers["host"]


async def test_no_request_carries_more_than_15_wildcards(recorder: Callable[..., Recorder]) -> None:  # noqa: F811
    api = recorder(lambda request: CREATED)
    urls = [f"/us/en/c/shoes-{i}/*" for i in range(20)] + ["/us/en/"]
    async with httpx.AsyncClient() as client:
        await adapter(client, api).purge("us", [], urls, soft=False)
    wildcards = [sum(p.endswith("*") for p in batch(r)[0]) for r in api.requests]
    assert wildcards == [15, 5]


def test_keys_become_the_paths_that_may_carry_them() -> None:
    region = ["/eu/*", "/regions", "/sitemap.xml", "/sitemaps/eu/*"]
    assert key_paths(["product:9", "nav", "price:S-1"], "eu") == region  # no key-to-URL index: the region
    assert key_paths(["page:home"], "eu") == region  # a shop page kind lives under the region's prefix
    assert key_paths(["page:robots"], "eu") == ["/robots.txt"]  # a page kind with one fixed path
    assert key_paths(["page:regions"], "eu") == ["/regions"]
    assert key_paths(["page:image"], "eu") == ["/img/*"]
    assert key_paths(["deploy"], "eu") == ["/*"]


async def test_keys_and_urls_in_one_invalidation_without_what_a_wildcard_covers(
    recorder: Callable[..., Recorder],  # noqa: F811
) -> None:
    api = recorder(lambda request: CREATED)
    async with httpx.AsyncClient() as client:
        purged = await adapter(client, api).purge("eu", ["product:9"], ["/eu/de/p/boot", "/img/a/640.webp"], soft=True)
    [request] = api.requests
    paths, _ = batch(request)
    assert paths == ["/eu/*", "/img/a/640.webp", "/regions", "/sitemap.xml", "/sitemaps/eu/*"] and purged == 5


async def test_a_session_token_is_sent_and_signed(recorder: Callable[..., Recorder]) -> None:  # noqa: F811
    api = recorder(lambda request: CREATED)
    async with httpx.AsyncClient() as client:
        await adapter(client, api, session_token="tok").purge("us", ["nav"], [], soft=True)
    headers = api.requests[0]["headers"]
    assert headers["x-amz-security-token"] == "tok" and "x-amz-security-token" in headers["authorization"]


@pytest.mark.parametrize(
    "answer",
    [
        (400, b"<ErrorResponse><Error><Code>TooManyInvalidationsInProgress</Code></Error></ErrorResponse>"),
        (429, b"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>"),
    ],
)
async def test_throttling_is_an_error_to_retry_and_the_retry_goes_through(
    recorder: Callable[..., Recorder],  # noqa: F811
    answer: tuple[int, bytes],
) -> None:
    answers = [(answer[0], {"Content-Type": "text/xml"}, answer[1]), CREATED]
    api = recorder(lambda request: answers.pop(0))
    async with httpx.AsyncClient() as client:
        edge = adapter(client, api)
        with pytest.raises(EdgeError, match="throttled"):
            await edge.purge("us", ["nav"], [], soft=True)
        assert await edge.purge("us", ["nav"], [], soft=True) == 4
    (first, ref1), (second, ref2) = (batch(r) for r in api.requests)
    assert first == second and ref1 != ref2


async def test_a_refused_invalidation_is_an_error(recorder: Callable[..., Recorder]) -> None:  # noqa: F811
    api = recorder(
        lambda request: (400, {}, b"<ErrorResponse><Error><Code>InvalidArgument</Code></Error></ErrorResponse>")
    )
    async with httpx.AsyncClient() as client:
        with pytest.raises(EdgeError, match=r"HTTP 400 .*InvalidArgument"):
            await adapter(client, api).purge("us", [], ["/us/en/"], soft=True)


def test_the_signer_matches_the_aws_sigv4_test_suite() -> None:
    # get-vanilla from AWS's published SigV4 test suite.
    headers = sigv4_headers(
        "GET",
        "https://example.amazonaws.com/",
        b"",
        key_id="AKIDEXAMPLE",
        secret="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
        service="service",
    )
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )
