"""Purges and fetches racing. A purged copy is not served while the origin answers: shoppers wait on its refresh.
A page fetched while a purge runs is kept only for a moment: xkey skips objects still being fetched, so the VCL
keeps a response whose fetch started before the last purge for half a second and then revalidates it (instead of
a second purge later, and without sending every shopper to the origin while purges keep coming)."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from edge_config.varnish import Varnish
from tests.edge_config.conftest import EdgeFactory, eventually

PAGE = "/eu/de/p/race"


class SlowOrigin:
    """Renders what is true when a request arrives; the request named `hold` waits for `release` first."""

    def __init__(self) -> None:
        self.version = 1
        self.hold = -1  # which page request (counting from 0) to hold
        self.held = threading.Event()
        self.release = threading.Event()
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        if request["path"] == "/healthz":
            return 200, {}, b"{}"
        with self.lock:
            number, self.count = self.count, self.count + 1
            body = f"v{self.version}".encode()  # read before the change the purge is about
        if number == self.hold:
            self.held.set()
            assert self.release.wait(10)
        headers = {"Cache-Control": "public, max-age=0, s-maxage=60", "Content-Type": "text/html", "xkey": "product:7"}
        return 200, headers, body


def get(varnish: Varnish) -> httpx.Response:
    return httpx.get(f"{varnish.url}{PAGE}", timeout=15)


def purge(varnish: Varnish, soft: bool) -> None:
    headers = {"xkey-purge": "product:7", "xkey-soft": "1" if soft else "0"}
    assert httpx.request("PURGE", f"{varnish.url}/", headers=headers).status_code == 200


def in_background(call: Any) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    return thread, answers


@pytest.mark.parametrize("soft", [False, True], ids=["hard", "soft"])
def test_a_page_fetched_during_a_purge_is_fetched_again(edge_with: EdgeFactory, soft: bool) -> None:
    origin = SlowOrigin()
    origin.hold = 0
    varnish, _ = edge_with(origin)
    thread, answers = in_background(lambda: get(varnish))
    assert origin.held.wait(10)  # the fetch is in flight, holding the old content
    origin.version = 2  # the change commits, then its purge reaches the edge
    purge(varnish, soft)
    origin.release.set()
    thread.join(15)
    assert answers[0].text == "v1"  # the shopper who asked first still gets an answer
    kept = get(varnish)  # stored for a moment: the next shoppers do not all go to the origin
    assert (kept.headers["x-cache"] in ("HIT", "STALE"), kept.text) == (True, "v1")
    assert eventually(lambda: get(varnish).text == "v2")  # the raced copy is revalidated, not kept for its TTL
    assert eventually(lambda: get(varnish).headers["x-cache"] == "HIT")
    assert get(varnish).text == "v2"


def test_after_a_purge_shoppers_wait_for_the_new_copy_on_one_fetch(edge_with: EdgeFactory) -> None:
    """A purge means the copy shows something that changed (a price): nobody is served it while the origin
    answers; everyone asking meanwhile waits on the one fetch that refreshes it."""
    origin = SlowOrigin()
    varnish, backend = edge_with(origin)
    assert get(varnish).text == "v1"
    origin.version, origin.hold = 2, 1
    purge(varnish, soft=True)
    first, first_answer = in_background(lambda: get(varnish))
    assert origin.held.wait(10)  # the refresh is in flight
    waiting = varnish.counter("MAIN.busy_sleep")
    second, second_answer = in_background(lambda: get(varnish))
    assert eventually(lambda: varnish.counter("MAIN.busy_sleep") > waiting)  # on the refresh's waiting list
    origin.release.set()
    first.join(15)
    second.join(15)
    assert [first_answer[0].text, second_answer[0].text] == ["v2", "v2"]
    assert len(backend.seen(PAGE)) == 2  # the first fetch and the one refresh
    assert backend.seen(PAGE)[-1]["headers"].get("storefront-refresh") == "purged"  # admitted first when busy


def test_with_waiting_off_a_purged_copy_is_served_while_it_is_refreshed(edge_with: EdgeFactory) -> None:
    origin = SlowOrigin()
    varnish, _ = edge_with(origin, purged_waits=False)
    assert get(varnish).text == "v1"
    origin.version = 2
    purge(varnish, soft=True)
    stale = get(varnish)
    assert (stale.headers["x-cache"], stale.text) == ("STALE", "v1")
    assert eventually(lambda: get(varnish).text == "v2")


def test_a_refresh_under_way_during_a_later_purge_is_revalidated(edge_with: EdgeFactory) -> None:
    origin = SlowOrigin()
    varnish, _ = edge_with(origin)
    assert get(varnish).text == "v1"
    origin.hold = 1
    purge(varnish, soft=True)
    thread, answers = in_background(lambda: get(varnish))  # waits on the refresh
    assert origin.held.wait(10)  # that refresh read v1 and is still in flight
    origin.version = 2
    purge(varnish, soft=True)
    origin.release.set()
    thread.join(15)
    assert answers[0].text == "v1"  # what its fetch read

    def fresh() -> bool:
        answer = get(varnish)
        return (answer.headers["x-cache"], answer.text) == ("HIT", "v2")

    assert eventually(fresh)


def test_fetches_after_a_purge_are_cached_as_usual(edge_with: EdgeFactory) -> None:
    origin = SlowOrigin()
    varnish, backend = edge_with(origin)
    for version in (1, 2, 3):
        origin.version = version
        purge(varnish, soft=False)
        assert (get(varnish).headers["x-cache"], get(varnish).headers["x-cache"]) == ("MISS", "HIT")
    assert len(backend.seen(PAGE)) == 3
