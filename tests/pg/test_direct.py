"""Statements sent through the driver (network.direct, issue 19): the same values in and out as
through SQLAlchemy, errors as SQLAlchemy's, listeners see them, parsed once per connection."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from network import direct
from network.extensions import db
from network.idempotency.models import IdempotencyRecord
from network.partners.models import Organization

pytestmark = pytest.mark.postgres

TRICKY = ["", "a", 'say "hi"', "back\\slash", "\\", '\\"', "a,b", "{x}", "NULL", "null", " sp ", "é€😀", None]


def test_arrays_go_as_text_and_come_back_the_same(pg_app):
    statement = direct.Direct(
        sa.select(
            sa.func.array_length(sa.bindparam("texts", type_=postgresql.ARRAY(sa.Text)), 1),
            sa.bindparam("texts", type_=postgresql.ARRAY(sa.Text)),
            sa.bindparam("numbers", type_=postgresql.ARRAY(sa.Numeric(12, 4))),
            sa.bindparam("ints", type_=postgresql.ARRAY(sa.Integer)),
            sa.bindparam("empty", type_=postgresql.ARRAY(sa.Integer)),
        )
    )
    from decimal import Decimal

    numbers = [Decimal("1.5000"), Decimal("-2"), None]
    ((length, texts, got_numbers, ints, empty),) = direct.run(
        db.session, statement, {"texts": TRICKY, "numbers": numbers, "ints": [1, -2, None], "empty": []}
    )
    assert (length, texts, got_numbers, ints, empty) == (len(TRICKY), TRICKY, numbers, [1, -2, None], [])
    db.session.rollback()


def test_an_expanding_in_becomes_any_and_reads_the_same_rows(pg_app):
    org_ids = [
        db.session.scalar(
            sa.insert(Organization)
            .values(name=name, kind="retailer", created_at=sa.func.now())
            .returning(Organization.id)
        )
        for name in ("a,b", 'q"uote', "plain")
    ]
    query = sa.select(Organization.id).where(Organization.name.in_(sa.bindparam("names", expanding=True)))
    statement = direct.Direct(query.order_by(Organization.id))
    assert "= ANY($1)" in statement.sql
    for names in (["a,b", 'q"uote'], ["plain"], ["none such"]):
        through_orm = db.session.scalars(query.order_by(Organization.id), {"names": names}).all()
        assert [
            row.id for row in direct.run(db.session, statement, {"names": names}, named=True)
        ] == through_orm
    assert through_orm == [] and org_ids
    db.session.rollback()


def test_errors_are_sqlalchemys_and_listeners_see_the_statement(pg_app):
    seen = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda _c, _cur, sql, *_a: seen.append(sql))
    statement = direct.Direct(sa.text("SELECT 1 / CAST(:n AS integer)"))
    with pytest.raises(sa.exc.DataError):  # division by zero: a statement error, not a lost connection
        direct.run(db.session, statement, {"n": 0})
    db.session.rollback()
    assert seen == [statement.sql]
    assert direct.run(db.session, statement, {"n": 1}) == [(1,)]  # the session goes on after a rollback
    db.session.rollback()


def test_a_hot_statement_is_parsed_once_per_connection(pg_app):
    statement = direct.Direct(
        sa.select(IdempotencyRecord.id).where(IdempotencyRecord.org_id == sa.bindparam("o"))
    )
    direct.run(db.session, statement, {"o": 1})
    prepared = db.session.scalars(sa.text("SELECT statement FROM pg_prepared_statements")).all()
    assert statement.sql in prepared  # the first use: without prepare=True psycopg waits for the fifth
    db.session.rollback()
