"""Carts over the checkout API: server-side prices, quotes, promotion codes, and refusals of bad input."""

from __future__ import annotations

from decimal import Decimal

import httpx

from tests.backends.checkout.conftest import US_ADDRESS, new_cart, ready_cart, set_stock


async def test_cart_lines_are_priced_by_the_server(client: httpx.AsyncClient) -> None:
    cart_id = await new_cart(client)
    price = (await client.get("/carts/" + cart_id)).json()
    assert price["lines"] == [] and price["item_count"] == 0
    added = await client.post(f"/carts/{cart_id}/lines", json={"sku": "SKU-00001-1", "quantity": 2, "price": "0.01"})
    assert added.status_code == 200, added.text
    body = added.json()
    [line] = body["lines"]
    unit = Decimal(line["unit"]["amount"])
    assert unit > Decimal("1") and line["subtotal"]["amount"] == str(unit * 2)
    assert line["slug"] and line["product_id"] == 1
    again = (await client.post(f"/carts/{cart_id}/lines", json={"sku": "SKU-00001-1"})).json()
    assert again["lines"][0]["quantity"] == 3
    changed = (await client.put(f"/carts/{cart_id}/lines/SKU-00001-1", json={"quantity": 1})).json()
    assert changed["lines"][0]["quantity"] == 1 and changed["version"] > body["version"]
    removed = (await client.delete(f"/carts/{cart_id}/lines/SKU-00001-1")).json()
    assert removed["lines"] == []


async def test_bad_lines_are_refused_and_change_nothing(client: httpx.AsyncClient) -> None:
    cart_id = await new_cart(client)
    await client.post(f"/carts/{cart_id}/lines", json={"sku": "SKU-00002-1", "quantity": 1})
    bad = [
        ({"sku": "SKU-99999-9", "quantity": 1}, 422),  # unknown SKU
        ({"sku": "SKU-00002-1", "quantity": 0}, 422),
        ({"sku": "SKU-00002-1", "quantity": -3}, 422),
        ({"sku": "SKU-00002-1", "quantity": 10**9}, 422),
        ({"sku": "SKU-00002-1", "quantity": 99}, 422),  # 1 + 99 is over the per-item limit
        ({"sku": "<script>", "quantity": 1}, 422),
        ({"sku": "SKU-00002-1", "quantity": "two"}, 422),
        ([], 422),
    ]
    for body, status in bad:
        response = await client.post(f"/carts/{cart_id}/lines", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    cart = (await client.get(f"/carts/{cart_id}")).json()
    assert [(line["sku"], line["quantity"]) for line in cart["lines"]] == [("SKU-00002-1", 1)]
    assert (await client.get("/carts/not-a-real-cart-token-at-all")).status_code == 404
    assert (await client.post("/carts", json={"region": "mars"})).status_code == 422


async def test_cannot_add_more_than_is_in_stock(client: httpx.AsyncClient) -> None:
    await set_stock(client, "SKU-00003-1", 2)
    cart_id = await new_cart(client)
    response = await client.post(f"/carts/{cart_id}/lines", json={"sku": "SKU-00003-1", "quantity": 3})
    assert response.status_code == 409 and response.json()["available"] == 2


async def test_quote_follows_the_address(client: httpx.AsyncClient) -> None:
    cart = await ready_cart(client)
    goods = Decimal(cart["subtotal"]["amount"]) - Decimal(cart["discount"]["amount"])
    assert cart["tax"]["rate"] == "7.25" and cart["tax"]["mode"] == "added"
    total = goods + Decimal(cart["shipping"]["amount"]["amount"]) + Decimal(cart["tax"]["amount"]["amount"])
    assert Decimal(cart["total"]["amount"]) == total
    oregon = {**US_ADDRESS, "state": "OR", "city": "Portland", "postal_code": "97201"}
    quoted = (await client.post(f"/carts/{cart['id']}/quote", json={"address": oregon})).json()
    assert quoted["tax"]["amount"]["amount"] == "0.00"
    assert (await client.get(f"/carts/{cart['id']}")).json()["address"]["state"] == "CA"  # a quote saves nothing
    alaska = {**US_ADDRESS, "state": "AK"}
    quoted = (await client.post(f"/carts/{cart['id']}/quote", json={"address": alaska, "method": "express"})).json()
    assert quoted["shipping"]["zone"] == "Alaska and Hawaii" and quoted["shipping"]["method"] == "express"


async def test_addresses_outside_the_region_or_malformed_are_refused(client: httpx.AsyncClient) -> None:
    cart = await ready_cart(client)
    bad = [
        {**US_ADDRESS, "country": "DE"},
        {**US_ADDRESS, "state": "ZZ"},
        {**US_ADDRESS, "postal_code": "<b>1</b>"},
        {**US_ADDRESS, "name": "x" * 500},
        {**US_ADDRESS, "extra": "field"},
        {k: v for k, v in US_ADDRESS.items() if k != "line1"},
    ]
    for address in bad:
        response = await client.put(f"/carts/{cart['id']}/address", json=address)
        assert response.status_code == 422, (address, response.text)
    assert (await client.put(f"/carts/{cart['id']}/shipping", json={"method": "teleport"})).status_code == 422
    assert (await client.put(f"/carts/{cart['id']}/contact", json={"email": "not an email"})).status_code == 422
    after = (await client.get(f"/carts/{cart['id']}")).json()
    assert after["address"]["state"] == "CA" and after["shipping_method"] == "standard"


async def test_promotion_code(client: httpx.AsyncClient) -> None:
    cart = await ready_cart(client)
    coded = await client.put(f"/carts/{cart['id']}/promotion", json={"code": "welcome10"})
    assert coded.status_code == 200, coded.text
    body = coded.json()
    assert body["promotion"]["code"] == "WELCOME10"
    assert Decimal(body["discount"]["amount"]) == (Decimal(body["subtotal"]["amount"]) / 10).quantize(Decimal("0.01"))
    assert Decimal(body["total"]["amount"]) < Decimal(cart["total"]["amount"])
    assert (await client.put(f"/carts/{cart['id']}/promotion", json={"code": "FREESTUFF"})).status_code == 422
    assert (await client.put(f"/carts/{cart['id']}/promotion", json={"code": "' OR 1=1"})).status_code == 422
    dropped = (await client.delete(f"/carts/{cart['id']}/promotion")).json()
    assert dropped["discount"]["amount"] == "0.00"


async def test_eu_cart_includes_vat(client: httpx.AsyncClient) -> None:
    cart_id = await new_cart(client, "eu")
    await client.post(f"/carts/{cart_id}/lines", json={"sku": "SKU-00001-1", "quantity": 1})
    address = {
        "name": "Grace",
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "postal_code": "10117",
        "country": "de",
    }
    body = (await client.put(f"/carts/{cart_id}/address", json=address)).json()
    assert body["currency"] == "EUR" and body["tax"]["label"] == "VAT" and body["tax"]["rate"] == "19"
    goods = Decimal(body["subtotal"]["amount"])
    assert Decimal(body["total"]["amount"]) == goods + Decimal(body["shipping"]["amount"]["amount"])
