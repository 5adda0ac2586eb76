"""The stock ledger as both APIs show it."""

from __future__ import annotations

from marshmallow import fields, validate

from api_common.edge import Schema
from api_common.pagination import PageArgs

CAUSE_DOC = (
    "what moved the figures: feed_run, order, cancellation, return, recompute, hold, staleness, "
    "buffer, connection, catalog (discontinued or offered again), prediction (a predictive figure "
    "moved as its count aged: `reference.predicted_depletion` gives the term and its inputs)"
)


class LedgerEntrySchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    variant_id = fields.Integer()
    cause = fields.String(metadata={"description": CAUSE_DOC})
    reason = fields.String(metadata={"description": "the finer cause (reserve, ship, hold_placed, ...)"})
    reference = fields.Dict(
        keys=fields.String(),
        metadata={
            "description": "what caused it by id: feed_run_id, purchase_order_line_id, hold_id, connection_id"
        },
    )
    before = fields.Dict(keys=fields.String(), metadata={"description": "field -> value before"})
    after = fields.Dict(keys=fields.String(), metadata={"description": "field -> value after"})


class LedgerListSchema(Schema):
    data = fields.List(fields.Nested(LedgerEntrySchema))
    next_cursor = fields.String(allow_none=True)


class VendorLedgerArgs(PageArgs):
    sku = fields.String(required=True, validate=validate.Length(1, 100), metadata={"description": "your SKU"})


class RetailerLedgerArgs(PageArgs):
    retailer_sku = fields.String(
        required=True, validate=validate.Length(1, 100), metadata={"description": "your item's SKU"}
    )
