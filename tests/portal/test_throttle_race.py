"""Twenty wrong passwords sent at once: the throttle lets exactly five be tried, not one more."""

from __future__ import annotations

import threading

from network.partners.accounts import THROTTLE_FAILURES
from network.partners.models import LoginAttempt
from tests.portal.conftest import fresh, page_token

GUESSES = 20


def test_concurrent_guesses_get_no_more_tries_than_the_limit(app, session, vendor_user):
    clients = [app.test_client() for _ in range(GUESSES)]
    tokens = [page_token(client) for client in clients]
    barrier = threading.Barrier(GUESSES)
    answers = [0] * GUESSES

    def guess(i: int) -> None:
        barrier.wait()
        answers[i] = (
            clients[i]
            .post(
                "/portal/login",
                data={"csrf_token": tokens[i], "email": vendor_user.email, "password": f"Wrong-guess-{i}"},
            )
            .status_code
        )

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(answers)) == [401, 429]
    assert answers.count(401) == THROTTLE_FAILURES
    fresh(session)
    assert session.query(LoginAttempt).count() == THROTTLE_FAILURES
