"""GET/PATCH /api/v1/settings: the retailer sees and sets its availability model and what a
cancellation and a sale are worth (issue 18), beside `auto_reroute`; a change republishes its
figures at once, is in the audit log, and bad input changes nothing."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
import sqlalchemy as sa

from network.catalog.models import RetailerItem
from network.clock import utcnow
from network.db import transaction
from network.partners import services as partners
from tests.builders import Api, availability, issue_token, make_item, make_variant, push_json
from tests.flag_helpers import Clock, controlled_clock

DEFAULTS = {
    "auto_reroute": False,
    "availability_model": "fixed",
    "cancellation_cost": 100.0,
    "margin_share": None,
}


def settings_of(retailer) -> dict:
    response = retailer.api.get("/api/v1/settings")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def patch(retailer, body) -> dict:
    response = retailer.api.patch("/api/v1/settings", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def changes_logged(retailer) -> list[tuple[dict, dict]]:
    log = retailer.api.get("/api/v1/audit-log?limit=100").get_json()["data"]
    return [(e["before"], e["after"]) for e in log if e["action"] == "settings.changed"]


def test_the_defaults_show_and_each_setting_round_trips(network):
    retailer, other = network.retailers
    assert settings_of(retailer) == DEFAULTS
    body = {"availability_model": "predictive", "cancellation_cost": 250, "margin_share": 0.3}
    assert patch(retailer, body) == {**DEFAULTS, **body, "cancellation_cost": 250.0}
    assert settings_of(retailer) == {**DEFAULTS, **body, "cancellation_cost": 250.0}
    # One at a time; the others stay; null margin share: from each item's price again.
    assert patch(retailer, {"margin_share": None})["margin_share"] is None
    assert patch(retailer, {"auto_reroute": True}) == {
        **DEFAULTS,
        "auto_reroute": True,
        "availability_model": "predictive",
        "cancellation_cost": 250.0,
    }
    assert settings_of(other) == DEFAULTS  # another retailer's are its own


def test_each_change_is_audited_with_before_and_after_and_a_repeat_logs_nothing(network):
    retailer = network.retailer
    patch(retailer, {"availability_model": "predictive", "cancellation_cost": 40.5})
    patch(retailer, {"availability_model": "predictive", "cancellation_cost": 40.5})  # no change
    patch(retailer, {"margin_share": 0.25, "availability_model": "predictive"})
    assert changes_logged(retailer) == [
        (
            {"availability_model": "fixed", "cancellation_cost": 100.0},
            {"availability_model": "predictive", "cancellation_cost": 40.5},
        ),
        ({"margin_share": None}, {"margin_share": 0.25}),
    ]
    log = retailer.api.get("/api/v1/audit-log?limit=100").get_json()["data"]
    assert log[-1]["actor"] == f"API client {retailer.client_id}"


def test_one_patch_changing_reroute_and_availability_is_one_audit_entry(network):
    """Every field one PATCH moved is in one `settings.changed`, before and after; a field given
    unchanged is not in it; a repeat records nothing."""
    retailer = network.retailer
    body = {"auto_reroute": True, "availability_model": "predictive", "cancellation_cost": 100.0}
    patch(retailer, body)
    patch(retailer, body)
    patch(retailer, {"auto_reroute": False, "margin_share": 0.4})
    patch(retailer, {"auto_reroute": True})
    assert changes_logged(retailer) == [
        (
            {"auto_reroute": False, "availability_model": "fixed"},
            {"auto_reroute": True, "availability_model": "predictive"},
        ),
        ({"auto_reroute": True, "margin_share": None}, {"auto_reroute": False, "margin_share": 0.4}),
        ({"auto_reroute": False}, {"auto_reroute": True}),
    ]
    assert settings_of(retailer) == {**DEFAULTS, **body, "margin_share": 0.4}


BAD = [
    ({"cancellation_cost": "a lot"}, "cancellation_cost"),
    ({"cancellation_cost": -1}, "cancellation_cost"),
    ({"cancellation_cost": None}, "cancellation_cost"),
    ({"cancellation_cost": True}, "cancellation_cost"),
    ({"cancellation_cost": 1e12}, "cancellation_cost"),
    ({"margin_share": 0}, "margin_share"),
    ({"margin_share": 1.01}, "margin_share"),
    ({"margin_share": -0.5}, "margin_share"),
    ({"margin_share": "half"}, "margin_share"),
    ({"availability_model": "psychic"}, "availability_model"),
    ({"availability_model": None}, "availability_model"),
    ({"availability_model": ["predictive"]}, "availability_model"),
    # A good field beside a bad one: nothing of either is saved.
    ({"availability_model": "predictive", "auto_reroute": True, "margin_share": 2}, "margin_share"),
    ({"cancellation_cost": 50, "availability_model": "Predictive"}, "availability_model"),
    ({"cancellation_cost": 50, "buffer": 2}, "buffer"),
]


@pytest.mark.parametrize(("body", "field"), BAD)
def test_a_bad_field_is_a_422_naming_it_and_nothing_changes(network, body, field):
    retailer = network.retailer
    response = retailer.api.patch("/api/v1/settings", json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert field in response.get_json()["errors"]
    assert settings_of(retailer) == DEFAULTS
    assert changes_logged(retailer) == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_cost_that_is_not_a_number_is_refused(network, literal):
    retailer = network.retailer
    for field in ("cancellation_cost", "margin_share"):
        response = retailer.api.patch(
            "/api/v1/settings",
            data=f'{{"{field}": {literal}}}',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 422, response.get_data(as_text=True)
        assert response.mimetype == "application/problem+json"
    assert settings_of(retailer) == DEFAULTS


def test_a_client_without_orders_write_reads_but_may_not_change(session, client, network):
    retailer = network.retailer
    with transaction(session):
        reader, secret = partners.create_api_client(
            session, org_id=retailer.id, scopes=["orders:read"], now=utcnow()
        )
    api = Api(client, issue_token(client, reader.client_id, secret))
    assert api.get("/api/v1/settings").get_json() == DEFAULTS
    response = api.patch("/api/v1/settings", json={"availability_model": "predictive"})
    assert response.status_code == 403
    assert settings_of(retailer) == DEFAULTS


def aged_fast_seller(session, network, monkeypatch) -> tuple[str, int, Clock]:
    """The first retailer on the predictive model, an item of one source selling 12 an hour on the
    vendor's other channels (a day of hourly counts, all through the API), its last count two hours
    old by the clock every service reads: (the item's SKU, the last count, the clock)."""
    clock = controlled_clock(monkeypatch)
    retailer, vendor = network.retailer, network.vendor
    variant = make_variant(session, vendor, "FAST-1", cost=Decimal(30), msrp=Decimal(50))
    sku = make_item(session, retailer, [variant])
    patch(retailer, {"availability_model": "predictive"})  # the model learns only for such retailers
    quantity = 1000
    for _ in range(25):
        assert push_json(vendor, [{"sku": "FAST-1", "quantity": quantity}], mode="full").status_code == 200
        quantity -= 12
        clock.advance(hours=1)
    clock.advance(hours=1)
    return sku, quantity + 12, clock


def test_the_model_a_retailer_picks_moves_a_fast_sellers_published_figure(session, network, monkeypatch):
    """A fast seller whose count ages: the predictive model hides what outside sales will probably
    have taken, the fixed model shows the count; each PATCH republishes at once."""
    retailer = network.retailer
    sku, last, _ = aged_fast_seller(session, network, monkeypatch)

    def published() -> int:
        session.expire_all()
        figure = session.scalar(
            sa.select(RetailerItem.published_available).where(
                RetailerItem.retailer_id == retailer.id, RetailerItem.retailer_sku == sku
            )
        )
        session.rollback()
        return figure

    patch(retailer, {"availability_model": "fixed"})
    assert published() == availability(retailer, sku)["available"] == last
    patch(retailer, {"availability_model": "predictive"})
    trimmed = published()
    assert trimmed == availability(retailer, sku)["available"]
    assert 30 <= last - trimmed <= 60  # about three hours of twelve an hour, a little more for safety
    # A cancellation that costs little: the hub may take more risk, and offers more.
    patch(retailer, {"cancellation_cost": 1})
    assert trimmed < published() <= last
    explained = retailer.api.get(f"/api/v1/availability/{sku}/explain").get_json()
    term = explained["sources"][0]["predicted_depletion"]
    assert term["units"] == last - published()
    assert term["probability"] == pytest.approx(1 / 21)
    assert math.isclose(term["rate_per_hour"], 12, rel_tol=0.15)
