"""POST /api/v1/orders reads a well-formed body without marshmallow's walk (issue 19); every body
reads exactly as the schema reads it: the same values, in the same order, or the same refusal."""

from __future__ import annotations

import marshmallow
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retailer_api.order_schemas import OrderCreateSchema, well_formed_order
from tests.order_helpers import SHIP_TO

SCHEMA = OrderCreateSchema()


def _walked(data: object) -> dict:
    """The schema's own reading (marshmallow's walk, whatever the body)."""
    return marshmallow.Schema.load(SCHEMA, data)


def _ordered(value: object) -> object:  # dicts compared with their key order
    if isinstance(value, dict):
        return [(key, _ordered(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_ordered(item) for item in value]
    return value


text = st.one_of(st.text(max_size=3), st.text(min_size=99, max_size=102), st.just(""), st.none())
scalars = st.one_of(text, st.integers(-2, 1_000_002), st.booleans(), st.floats(allow_nan=False), st.none())
ship_to = st.dictionaries(
    st.sampled_from([*SHIP_TO, "address2", "region", "phone", "country", "extra"]),
    st.one_of(text, st.text(min_size=2, max_size=2), scalars),
)
line = st.one_of(
    st.fixed_dictionaries(
        {"retailer_sku": st.one_of(st.text(min_size=1, max_size=5), scalars), "quantity": scalars}
    ),
    st.dictionaries(st.sampled_from(["retailer_sku", "quantity", "x"]), scalars),
    scalars,
)
bodies = st.one_of(
    st.fixed_dictionaries(
        {
            "reference": st.one_of(st.text(min_size=1, max_size=5), scalars),
            "lines": st.lists(line, max_size=3),
            "ship_to": st.one_of(st.just(SHIP_TO), ship_to),
        },
        optional={"allow_partial": scalars, "allow_split": scalars, "unknown": scalars},
    ),
    st.dictionaries(st.sampled_from(["reference", "lines", "ship_to", "allow_split"]), scalars),
    scalars,
)


@settings(max_examples=400, deadline=None)
@given(bodies)
def test_any_body_reads_as_the_schema_reads_it(data):
    try:
        walked = _walked(data)
    except marshmallow.ValidationError as walked_error:
        assert well_formed_order(data) is None  # refused by the schema, with its messages
        with pytest.raises(marshmallow.ValidationError) as error:
            SCHEMA.load(data)
        assert error.value.messages == walked_error.messages
        return
    assert _ordered(SCHEMA.load(data)) == _ordered(walked)


def test_the_usual_body_is_read_without_the_walk():
    body = {
        "reference": "R-1",
        "lines": [{"quantity": 2, "retailer_sku": "A"}, {"retailer_sku": "B", "quantity": 1}],
        "ship_to": {"country": "US", **SHIP_TO, "phone": "1"},
        "allow_split": False,
    }
    read = well_formed_order(body)
    assert read is not None
    assert _ordered(read) == _ordered(_walked(body))
    # Coercions and refusals are marshmallow's: a quantity given as true, a sku as a number.
    assert well_formed_order({**body, "lines": [{"retailer_sku": "A", "quantity": True}]}) is None
    assert well_formed_order({**body, "reference": ""}) is None
    assert well_formed_order({**body, "allow_partial": "true"}) is None
