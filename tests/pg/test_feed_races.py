"""A feed changed and deleted at once: one of them wins, the other answers 404, never a 500."""

from __future__ import annotations

import threading

import pytest

from network.extensions import db
from network.feeds.models import Feed
from tests.builders import Api, issue_token, make_org

pytestmark = pytest.mark.postgres

TRIES = 20


def _at_once(calls: list[tuple[Api, str, str, dict]]) -> list[int]:
    """Send the calls (api, method, path, kwargs) from one thread each, released together."""
    barrier = threading.Barrier(len(calls))
    answers = [0] * len(calls)

    def call(i: int) -> None:
        api, method, path, kwargs = calls[i]
        barrier.wait()
        answers[i] = api._call(method, path, **kwargs).status_code

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_patch_and_delete_of_a_feed_answer_200_or_404_and_204(pg_app):
    session, client = db.session, pg_app.test_client()
    vendor = make_org(session, client, "vendor")
    apis = [Api(c, issue_token(c, vendor.client_id, vendor.secret)) for c in (pg_app.test_client(), client)]
    for n in range(TRIES):
        created = vendor.api.post("/vendor-api/v1/feeds", json={"name": f"race {n}", "transport": "push"})
        assert created.status_code == 201, created.get_data(as_text=True)
        path = f"/vendor-api/v1/feeds/{created.get_json()['id']}"
        patched, deleted = _at_once(
            [(apis[0], "PATCH", path, {"json": {"name": f"renamed {n}"}}), (apis[1], "DELETE", path, {})]
        )
        assert deleted == 204
        assert patched in (200, 404)
    session.expire_all()
    assert session.query(Feed).count() == 0
