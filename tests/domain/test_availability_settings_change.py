"""change_settings, the one rule behind the API's PATCH /api/v1/settings and the
console's Settings page: any value of any field is either saved as given or refused whole, naming
the bad fields, with nothing saved or logged."""

from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.availability.settings import (
    MAX_CANCELLATION_COST,
    availability_settings,
    settings_view,
)
from network.db import transaction
from network.errors import InvalidInput
from network.flags import reroute
from network.partners import services as partners
from network.partners.audit import Actor, AuditEntry
from tests.builders import unique

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
DEFAULTS = {"availability_model": "fixed", "cancellation_cost": 100.0, "margin_share": None}

anything = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["fixed", "predictive", "Predictive", ""])
    | st.lists(st.integers(), max_size=2)
)
changes = st.dictionaries(
    st.sampled_from(["availability_model", "cancellation_cost", "margin_share", "buffer"]),
    anything,
    max_size=4,
)


def valid(name: str, value: object) -> bool:
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if name == "availability_model":
        return value in ("fixed", "predictive")
    if name == "cancellation_cost":
        return number and 0 <= value <= MAX_CANCELLATION_COST
    if name == "margin_share":
        return value is None or (number and 0 < value <= 1)
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=changes)
def test_a_change_is_saved_as_given_or_refused_whole(session, body):
    with transaction(session):
        retailer = partners.create_organization(session, kind="retailer", name=unique("R"), now=T0).id
    bad = {name for name, value in body.items() if not valid(name, value)}
    try:
        with transaction(session):
            reroute.change_settings(session, retailer_id=retailer, changes=body, actor=Actor(), now=T0)
    except InvalidInput as refused:
        assert bad and set(refused.errors) == bad
        expected = DEFAULTS
    else:
        assert not bad
        expected = {**DEFAULTS, **body}
    session.expire_all()
    assert settings_view(availability_settings(session, retailer_id=retailer)) == expected
    logged = session.scalars(sa.select(AuditEntry).where(AuditEntry.org_id == retailer)).all()
    moved = {name for name in expected if expected[name] != DEFAULTS[name]}
    assert [set(entry.after) for entry in logged] == ([moved] if moved else [])
    session.rollback()
