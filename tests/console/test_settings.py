"""The console's Settings page: an owner or an admin picks the availability model and sets what a
cancellation and a sale are worth; every other role reads them; bad input changes nothing; the
Availability page shows the predictive term with its inputs."""

from __future__ import annotations

import html as html_lib

import pytest

import console.availability
from tests.api.test_availability_settings import DEFAULTS, aged_fast_seller, changes_logged, settings_of
from tests.console.test_vendors import sign_in_as
from tests.portal.conftest import csrf_of, submit

GOOD = {"availability_model": "predictive", "cancellation_cost": "250", "margin_share": "30"}


def text_of(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_an_owner_or_admin_sets_the_model_and_costs_and_the_change_is_audited(client, session, network, role):
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, role)
    page = text_of(client.get("/console/settings"))
    assert "Save the availability settings" in page
    assert "The trade:" in page and 'value="100.0"' in page  # the explanation, and the default cost
    saved = submit(client, "/console/settings", GOOD)
    assert saved.status_code == 302 and saved.headers["Location"] == "/console/settings"
    assert settings_of(retailer) == {
        **DEFAULTS,
        "availability_model": "predictive",
        "cancellation_cost": 250.0,
        "margin_share": 0.3,
    }
    assert "The availability settings are saved" in text_of(client.get("/console/settings"))
    # Blank margin: from each item's price again.
    assert submit(client, "/console/settings", {**GOOD, "margin_share": ""}).status_code == 302
    assert settings_of(retailer)["margin_share"] is None
    assert changes_logged(retailer) == [
        (
            {"availability_model": "fixed", "cancellation_cost": 100.0, "margin_share": None},
            {"availability_model": "predictive", "cancellation_cost": 250.0, "margin_share": 0.3},
        ),
        ({"margin_share": 0.3}, {"margin_share": None}),
    ]
    log = text_of(client.get("/console/audit-log"))
    assert "settings.changed" in log and f"user {role}" in log
    assert settings_of(network.retailers[1]) == DEFAULTS


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cancellation_cost", "a lot", "Not a valid float value"),
        ("cancellation_cost", "", "Enter an amount"),
        ("cancellation_cost", "-5", "Enter an amount from 0"),
        ("cancellation_cost", "nan", "Enter an amount from 0"),
        ("cancellation_cost", "inf", "Enter an amount from 0"),
        ("margin_share", "0", "Enter a share above 0"),
        ("margin_share", "150", "Enter a share above 0"),
        ("margin_share", "thirty", "Not a valid float value"),
        ("availability_model", "psychic", "Not a valid choice"),
    ],
)
def test_bad_input_shows_a_plain_message_and_changes_nothing(client, session, network, field, value, message):
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, "owner")
    refused = submit(client, "/console/settings", {**GOOD, field: value})
    assert refused.status_code == 422
    page = text_of(refused)
    assert message in page and 'aria-invalid="true"' in page
    assert settings_of(retailer) == DEFAULTS
    assert changes_logged(retailer) == []


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_a_viewer_or_operator_reads_the_settings_and_posting_directly_is_a_403(
    client, session, network, role
):
    retailer = network.retailer
    retailer.api.patch("/api/v1/settings", json={"margin_share": 0.25, "cancellation_cost": 1500})
    sign_in_as(client, session, retailer.id, role)
    page = text_of(client.get("/console/settings"))
    assert "Save the availability settings" not in page and "Only an owner or an admin" in page
    assert "Fixed: each vendor's count as it stands" in page and "1,500.00" in page and "25 %" in page
    token = csrf_of(page)  # the sign-out form's token
    response = client.post("/console/settings", data={"csrf_token": token, **GOOD})
    assert response.status_code == 403
    assert settings_of(retailer)["availability_model"] == "fixed"


def test_a_post_without_the_csrf_token_changes_nothing(client, session, network):
    sign_in_as(client, session, network.retailer.id, "owner")
    response = client.post("/console/settings", data=GOOD)
    assert response.status_code in (400, 422)
    assert settings_of(network.retailer) == DEFAULTS


def test_the_availability_page_shows_the_predictive_term_with_its_inputs(
    client, session, network, monkeypatch
):
    retailer = network.retailer
    sku, last, clock = aged_fast_seller(session, network, monkeypatch)
    monkeypatch.setattr(console.availability, "utcnow", clock)  # the page reads the test's clock too
    term = retailer.api.get(f"/api/v1/availability/{sku}/explain").get_json()["sources"][0][
        "predicted_depletion"
    ]
    units = term["units"]
    assert units > 0
    sign_in_as(client, session, retailer.id, "viewer")
    page = text_of(client.get(f"/console/availability/{sku}"))
    assert (
        f"{last} counted − 0 committed − 0 buffer − {units} predicted outside sales = {last - units}" in page
    )
    assert f"about {term['rate_per_hour']:.1f} an hour" in page
    assert "in the 3 h from its count" in page  # two hours old, and an hour's import delay (the default)
    assert f"at most {units} with a 83% chance, so {units} are held back" in page
    # On the fixed model the page says nothing of it.
    retailer.api.patch("/api/v1/settings", json={"availability_model": "fixed"})
    page = text_of(client.get(f"/console/availability/{sku}"))
    assert "predicted" not in page and f"{last} counted − 0 committed − 0 buffer = {last}" in page
