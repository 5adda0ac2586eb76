"""The bearer-token check cached in the process (network/partners/token_cache.py): never past a
revocation, the token's expiry, or the bound on how long another process may still accept it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from network.clock import utcnow
from network.db import transaction
from network.errors import Unauthorized
from network.extensions import db
from network.partners import services as partners
from network.partners.audit import Actor
from network.partners.token_cache import TokenCache
from tests.builders import Api, issue_token, make_org


def _revoke(session, party) -> None:
    stored = partners.find_client(session, party.client_id)
    with transaction(session):
        partners.revoke_api_client(session, stored.id, org_id=party.id, actor=Actor(), now=utcnow())


def test_a_token_in_use_is_refused_right_after_its_client_is_revoked(session, client):
    party = make_org(session, client, "retailer")
    other = make_org(session, client, "retailer")
    for _ in range(3):  # in use: the check is remembered
        assert party.api.get("/api/v1/availability").status_code == 200
        assert other.api.get("/api/v1/availability").status_code == 200
    _revoke(session, party)
    refused = party.api.get("/api/v1/availability")
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"
    assert party.api.get("/api/v1/items").status_code == 401
    assert other.api.get("/api/v1/availability").status_code == 200  # another client's token still works


def test_a_cached_token_past_its_expiry_is_refused(session, client):
    party = make_org(session, client, "retailer")
    token = issue_token(client, party.client_id, party.secret)
    now = utcnow()
    caller = partners.authenticate_token(session, token, now=now, cache_seconds=3600)
    assert caller.org_id == party.id
    later = now + dt.timedelta(hours=1, seconds=1)  # tokens live an hour
    with pytest.raises(Unauthorized):
        partners.authenticate_token(session, token, now=later, cache_seconds=3600)


def test_a_token_read_while_its_revocation_commits_is_not_remembered(app, session, client):
    party = make_org(session, client, "retailer")
    token = issue_token(client, party.client_id, party.secret)
    stored = partners.find_client(session, party.client_id)
    other = Session(bind=db.engine)  # another request, on its own connection
    try:
        with transaction(session):
            partners.revoke_api_client(session, stored.id, org_id=party.id, actor=Actor(), now=utcnow())
            # Not committed yet: the other request still finds the token valid, and remembers it.
            assert (
                partners.authenticate_token(other, token, now=utcnow(), cache_seconds=3600).org_id == party.id
            )
            other.rollback()
        with pytest.raises(Unauthorized):
            partners.authenticate_token(other, token, now=utcnow(), cache_seconds=3600)
    finally:
        other.close()
    assert Api(client, token).get("/api/v1/availability").status_code == 401


def test_a_revocation_while_a_token_is_read_voids_that_read():
    cache: TokenCache[str] = TokenCache()
    generation = cache.generation()  # a request starts reading the token's row
    cache.forget_all()  # meanwhile a client is revoked
    cache.put("h", "caller", expires_at=utcnow() + dt.timedelta(hours=1), generation=generation)
    assert cache.get("h", now=utcnow(), seconds=5) is None


def test_an_entry_is_not_used_past_the_bound_other_processes_rely_on():
    ticks = [100.0]
    cache: TokenCache[str] = TokenCache(monotonic=lambda: ticks[0])
    now = utcnow()
    cache.put("h", "caller", expires_at=now + dt.timedelta(hours=1), generation=cache.generation())
    ticks[0] += 4.9
    assert cache.get("h", now=now, seconds=5) == "caller"
    ticks[0] += 0.1
    assert cache.get("h", now=now, seconds=5) is None  # read again from the database after 5 s
