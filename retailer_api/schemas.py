"""The retailer API's public contract: explicit input and output schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from api_common.edge import Schema
from api_common.fields import DecimalString
from api_common.pagination import PageArgs
from network.availability.compute import EXCLUSIONS
from network.stock.models import BASES

SKU = validate.Length(1, 100)
CONNECTION_STATUSES = ("active", "paused", "ended")


class ConnectionSchema(Schema):
    id = fields.Integer()
    retailer_id = fields.Integer()
    vendor_id = fields.Integer()
    vendor_name = fields.Function(lambda c: c.vendor.name)
    retailer_name = fields.Function(lambda c: c.retailer.name)
    status = fields.String()
    ack_sla_hours = fields.Integer()
    ship_sla_hours = fields.Integer()
    safety_buffer = fields.Integer()
    stale_after_minutes = fields.Integer()
    routing_priority = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ConnectionListSchema(Schema):
    data = fields.List(fields.Nested(ConnectionSchema))
    next_cursor = fields.String(allow_none=True)


class ConnectionPatchSchema(Schema):
    ack_sla_hours = fields.Integer(validate=validate.Range(1, 24 * 365))
    ship_sla_hours = fields.Integer(validate=validate.Range(1, 24 * 365))
    safety_buffer = fields.Integer(validate=validate.Range(0, 1_000_000))
    stale_after_minutes = fields.Integer(validate=validate.Range(1, 60 * 24 * 365))
    routing_priority = fields.Integer(validate=validate.Range(0, 1_000_000))
    status = fields.String(validate=validate.OneOf(CONNECTION_STATUSES))


class CatalogVariantSchema(Schema):
    id = fields.Integer()
    vendor_id = fields.Integer()
    vendor_sku = fields.String()
    gtin = fields.String(allow_none=True)
    title = fields.String()
    cost = DecimalString()
    msrp = DecimalString()
    map_price = DecimalString(metadata={"description": "minimum advertised price"})
    weight = DecimalString(metadata={"description": "kilograms"})
    description = fields.String()
    image_urls = fields.List(fields.String())
    attributes = fields.Dict(keys=fields.String(), values=fields.String())
    active = fields.Boolean()
    updated_at = fields.DateTime()


class VariantListArgs(PageArgs):
    vendor_id = fields.Integer()


class VariantListSchema(Schema):
    data = fields.List(fields.Nested(CatalogVariantSchema))
    next_cursor = fields.String(allow_none=True)


class SourceInSchema(Schema):
    vendor_variant_id = fields.Integer(required=True, strict=True)
    priority = fields.Integer(load_default=0, strict=True, validate=validate.Range(0, 1_000_000))


class ItemPutSchema(Schema):
    title = fields.String(validate=validate.Length(max=300))
    gtin = fields.String(
        allow_none=True,
        validate=validate.Length(max=14),
        metadata={
            "pattern": "^([0-9]{8}|[0-9]{12,14})$",
            "description": "the item's own GTIN (8, 12, 13 or 14 digits with its check digit), for the "
            "console's GTIN auto-match; left out: kept, null: cleared",
        },
    )
    sources = fields.List(fields.Nested(SourceInSchema), required=True, validate=validate.Length(max=50))


class SourceOutSchema(Schema):
    vendor_variant_id = fields.Integer(attribute="variant_id")
    priority = fields.Integer()


class ItemSchema(Schema):
    id = fields.Integer()
    retailer_sku = fields.String()
    title = fields.String()
    gtin = fields.String(allow_none=True)
    sources = fields.List(fields.Nested(SourceOutSchema))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ItemListSchema(Schema):
    data = fields.List(fields.Nested(ItemSchema))
    next_cursor = fields.String(allow_none=True)


class AvailabilityArgs(PageArgs):
    sku = fields.List(fields.String(validate=SKU), validate=validate.Length(max=1000))


class SourceAvailabilitySchema(Schema):
    vendor_variant_id = fields.Integer()
    vendor_id = fields.Integer()
    available = fields.Integer()
    stale = fields.Boolean()
    incoming = fields.Integer(
        metadata={"description": "units on order from the vendor's own supplier: shown, never sold"}
    )
    incoming_eta = fields.Date(
        allow_none=True, metadata={"description": "when the incoming units are expected (back in stock)"}
    )


class AvailabilitySchema(Schema):
    retailer_sku = fields.String()
    available = fields.Integer()
    sources = fields.List(fields.Nested(SourceAvailabilitySchema))
    updated_at = fields.DateTime()


class AvailabilityListSchema(Schema):
    data = fields.List(fields.Nested(AvailabilitySchema))
    next_cursor = fields.String(allow_none=True)


class CommittedLineSchema(Schema):
    purchase_order_id = fields.Integer()
    line_id = fields.Integer()
    quantity = fields.Integer(attribute="units", metadata={"description": "units of the line counted"})


class PredictedDepletionSchema(Schema):
    units = fields.Integer(metadata={"description": "taken off the source's figure"})
    rate_per_hour = fields.Float(
        metadata={"description": "the vendor's estimated outside sales of the variant"}
    )
    horizon_minutes = fields.Float(
        metadata={"description": "the count's age plus the vendor's import delay: how long outside sales run"}
    )
    probability = fields.Float(
        metadata={
            "description": "outside sales stay at or under `units` with this probability: where the "
            "cost of a cancellation balances the margin of a sale"
        }
    )


class ExplainedSourceSchema(Schema):
    vendor_variant_id = fields.Integer()
    vendor_id = fields.Integer()
    vendor_sku = fields.String()
    priority = fields.Integer(metadata={"description": "the source's priority in the item (lower first)"})
    quantity = fields.Integer(metadata={"description": "the vendor's last count"})
    basis = fields.String(
        validate=validate.OneOf(BASES),
        metadata={"description": "what the count means: units free to sell, or units on the shelf"},
    )
    as_of = fields.DateTime(
        allow_none=True,
        metadata={"description": "when the count was last confirmed (null: the vendor never counted it)"},
    )
    committed = fields.Integer(
        metadata={"description": "units on purchase orders the count does not reflect yet"}
    )
    committed_lines = fields.List(
        fields.Nested(CommittedLineSchema),
        metadata={"description": "the caller's purchase-order lines behind `committed`"},
    )
    committed_elsewhere = fields.Integer(
        metadata={"description": "units of `committed` on other retailers' orders (not itemized)"}
    )
    buffer = fields.Integer(metadata={"description": "the connection's safety buffer, held back"})
    held = fields.Boolean(metadata={"description": "on hold at zero after the vendor refused a line"})
    hold_until = fields.DateTime(allow_none=True, metadata={"description": "when the hold runs out"})
    stale = fields.Boolean(metadata={"description": "the count is older than the connection allows"})
    stale_after_minutes = fields.Integer(metadata={"description": "the connection's limit on a count's age"})
    connection_status = fields.String(
        allow_none=True,
        validate=validate.OneOf(CONNECTION_STATUSES),
        metadata={"description": "null: no connection to the vendor"},
    )
    variant_active = fields.Boolean()
    incoming = fields.Integer(
        metadata={"description": "units on order from the vendor's own supplier: never sold"}
    )
    incoming_eta = fields.Date(allow_none=True)
    predicted_depletion = fields.Nested(
        PredictedDepletionSchema,
        allow_none=True,
        metadata={
            "description": "the predictive availability model's term (null under the fixed model): units "
            "the vendor's outside sales will probably have taken by the time it imports an order"
        },
    )
    excluded_by = fields.List(
        fields.String(validate=validate.OneOf(EXCLUSIONS)),
        metadata={
            "description": "why the source counts zero whatever its count: "
            + ", ".join(EXCLUSIONS)
            + " (empty: available = max(0, quantity - committed - buffer - predicted_depletion.units))"
        },
    )
    available = fields.Integer(metadata={"description": "what the source adds to the item's figure"})


class ChannelTermSchema(Schema):
    vendor_variant_id = fields.Integer()
    units = fields.Integer(metadata={"description": "held back from the channel's figure for this source"})
    rate_per_hour = fields.Float(
        metadata={"description": "the vendor's estimated outside sales of the variant"}
    )
    horizon_minutes = fields.Float(
        metadata={
            "description": "the channel's interval: how long it shows a figure before it can be corrected"
        }
    )
    probability = fields.Float(
        metadata={
            "description": "outside sales over the interval stay at or under `units` with this probability"
        }
    )


class ExplainedChannelSchema(Schema):
    kind = fields.String(validate=validate.OneOf(["webhook_endpoint", "connector"]))
    id = fields.Integer()
    label = fields.String(
        metadata={"description": "the endpoint's description (or URL), the connector's store"}
    )
    buffer = fields.Integer(
        allow_none=True, metadata={"description": "the channel's buffer; null: automatic"}
    )
    interval_minutes = fields.Float(
        metadata={"description": "the endpoint's throttle, or a connector's sync interval"}
    )
    max_quantity = fields.Integer(allow_none=True)
    held_back = fields.Integer(
        metadata={"description": "the buffer applied: the one set, or the automatic one"}
    )
    available = fields.Integer(
        metadata={
            "description": "what the channel is shown: max(0, min(available - held_back, max_quantity))"
        }
    )
    predicted_depletion = fields.List(
        fields.Nested(ChannelTermSchema),
        metadata={
            "description": "the automatic buffer per source (predictive model, buffer null): what outside "
            "sales will probably take over the channel's interval beyond the item's own term"
        },
    )


class AvailabilityExplanationSchema(Schema):
    retailer_sku = fields.String()
    title = fields.String()
    available = fields.Integer(
        metadata={"description": "the published figure: the sum of the sources' `available`"}
    )
    updated_at = fields.DateTime()
    computed_at = fields.DateTime(metadata={"description": "the moment staleness and holds were judged at"})
    sources = fields.List(fields.Nested(ExplainedSourceSchema))
    channels = fields.List(
        fields.Nested(ExplainedChannelSchema),
        metadata={
            "description": "the figure each active channel (webhook endpoint, connector) is shown, and why"
        },
    )


class EventSchema(Schema):
    id = fields.String()
    type = fields.String()
    created_at = fields.DateTime()
    data = fields.Dict()


class EventListSchema(Schema):
    data = fields.List(fields.Nested(EventSchema))
    next_cursor = fields.String()


class EventArgs(PageArgs):
    type = fields.List(fields.String(validate=validate.Length(1, 64)))


class AvailabilityChangeSchema(Schema):
    event_id = fields.String()
    retailer_sku = fields.String()
    available = fields.Integer()
    previous = fields.Integer(allow_none=True)
    changed_at = fields.DateTime()


class AvailabilityChangeListSchema(Schema):
    data = fields.List(fields.Nested(AvailabilityChangeSchema))
    next_cursor = fields.String()
