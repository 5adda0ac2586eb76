"""EDI and invoice schemas both APIs share: the trading-partner setup, exchanged files, invoices."""

from __future__ import annotations

from marshmallow import RAISE, fields, validate

from api_common.edge import Schema
from api_common.fields import DecimalString
from api_common.pagination import PageArgs
from network.trading.models import AFTER_PULL, DOCUMENTS, VERSIONS
from network.trading.partners import QUALIFIERS


class SftpCredentialsSchema(Schema):
    """A password or a private key (OpenSSH or PEM); stored encrypted, never returned."""

    class Meta:
        unknown = RAISE

    password = fields.String(load_only=True, validate=validate.Length(1, 1000))
    private_key = fields.String(load_only=True, validate=validate.Length(1, 16000))


class TransportSchema(Schema):
    class Meta:
        unknown = RAISE

    kind = fields.String(load_default="sftp", validate=validate.OneOf(["sftp"]))
    host = fields.String(required=True, validate=validate.Length(1, 255))
    port = fields.Integer(load_default=22, validate=validate.Range(1, 65535))
    username = fields.String(required=True, validate=validate.Length(1, 100))
    credentials = fields.Nested(SftpCredentialsSchema, load_only=True)
    inbound_dir = fields.String(
        validate=validate.Length(0, 500), metadata={"description": "where the hub drops 850, 860, 997"}
    )
    outbound_dir = fields.String(
        validate=validate.Length(0, 500), metadata={"description": "where the hub takes the vendor's files"}
    )
    archive_dir = fields.String(validate=validate.Length(0, 500))
    pattern = fields.String(validate=validate.Length(1, 100), metadata={"description": "file-name glob"})
    after_pull = fields.String(validate=validate.OneOf(AFTER_PULL))
    host_key = fields.String(
        allow_none=True,
        validate=validate.Length(1, 4000),
        metadata={
            "description": "the server's key as in known_hosts ('ssh-ed25519 AAAA…'); else the first seen"
        },
    )


SYMBOL = "^[!-/:-@\\[-`{-~]$"


class SeparatorsSchema(Schema):
    class Meta:
        unknown = RAISE

    # One symbol each (network.trading.partners: not a letter, digit, space or line break).
    element = fields.String(validate=validate.Length(equal=1), metadata={"pattern": SYMBOL})
    component = fields.String(validate=validate.Length(equal=1), metadata={"pattern": SYMBOL})
    terminator = fields.String(validate=validate.Length(equal=1), metadata={"pattern": SYMBOL})
    repetition = fields.String(validate=validate.Length(equal=1), metadata={"pattern": SYMBOL})


class EdiSetupSchema(Schema):
    """PUT body: the vendor's X12 ids, version, documents, separators for what the hub sends, transport."""

    class Meta:
        unknown = RAISE

    isa_qualifier = fields.String(
        required=True, validate=validate.Length(2, 2), metadata={"enum": list(QUALIFIERS)}
    )
    isa_id = fields.String(
        required=True,
        validate=validate.Length(1, 15),
        metadata={"pattern": "^[A-Za-z0-9._/&-][A-Za-z0-9 ._/&-]{0,14}$"},  # network.trading.partners
    )
    version = fields.String(load_default="004010", validate=validate.OneOf(VERSIONS))
    documents = fields.List(
        fields.String(validate=validate.OneOf(DOCUMENTS)), validate=validate.Length(max=10)
    )
    separators = fields.Nested(SeparatorsSchema)
    ack_window_minutes = fields.Integer(validate=validate.Range(1, 7 * 24 * 60))
    test_mode = fields.Boolean()
    transport = fields.Nested(TransportSchema, required=True)


class TransportOutSchema(Schema):
    kind = fields.Constant("sftp")
    host = fields.String()
    port = fields.Integer()
    username = fields.String()
    auth = fields.Method(
        "_auth", metadata={"description": "password or private_key; the secret is never shown"}
    )
    inbound_dir = fields.String()
    outbound_dir = fields.String()
    archive_dir = fields.String()
    pattern = fields.String()
    after_pull = fields.String()
    host_key = fields.String(allow_none=True)
    offered_host_key = fields.String(
        allow_none=True, metadata={"description": "a changed key the server offered, refused until confirmed"}
    )

    def _auth(self, partner) -> str:  # noqa: ANN001
        return "configured"


class EdiPartnerSchema(Schema):
    isa_qualifier = fields.String()
    isa_id = fields.String()
    hub_isa_qualifier = fields.String()
    hub_isa_id = fields.String()
    version = fields.String()
    documents = fields.List(fields.String())
    separators = fields.Method("_separators")
    ack_window_minutes = fields.Integer()
    test_mode = fields.Boolean()
    transport = fields.Function(lambda partner: TransportOutSchema().dump(partner))
    last_error = fields.String(allow_none=True)
    updated_at = fields.DateTime()

    def _separators(self, partner) -> dict:  # noqa: ANN001
        return {
            "element": partner.element_separator,
            "component": partner.component_separator,
            "terminator": partner.segment_terminator,
            "repetition": partner.repetition_separator,
        }


class EdiFileSchema(Schema):
    id = fields.Integer()
    direction = fields.String(metadata={"description": "in: from the vendor; out: from the hub"})
    name = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    status = fields.String(
        metadata={"description": "applied, partially_applied, rejected (in); pending, sent (out)"}
    )
    documents = fields.List(fields.String())
    interchange_control = fields.String()
    report = fields.List(fields.String(), metadata={"description": "what became of each set, in words"})
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)


class EdiFileRawSchema(EdiFileSchema):
    raw = fields.String(metadata={"description": "the file as exchanged; empty once past the retention"})


class EdiFileListSchema(Schema):
    data = fields.List(fields.Nested(EdiFileSchema))
    next_cursor = fields.String(allow_none=True)


class InvoiceLineSchema(Schema):
    id = fields.Integer()
    line_id = fields.Integer(attribute="po_line_id", allow_none=True)
    vendor_sku = fields.String()
    quantity = fields.Integer()
    unit_price = DecimalString()
    ordered = fields.Integer(allow_none=True)
    shipped = fields.Integer(allow_none=True)
    unit_cost = DecimalString()


class MismatchSchema(Schema):
    line_id = fields.Integer(allow_none=True)
    vendor_sku = fields.String()
    kind = fields.String(
        metadata={"description": "over_shipped, over_ordered, unit_price, unknown_line, total"}
    )
    invoiced = fields.Raw(allow_none=True)
    expected = fields.Raw(allow_none=True)
    message = fields.String()


class InvoiceSchema(Schema):
    id = fields.Integer()
    purchase_order_id = fields.Integer(attribute="po_id")
    vendor_id = fields.Integer()
    retailer_id = fields.Integer()
    number = fields.String()
    invoice_date = fields.Date(allow_none=True)
    source = fields.String(metadata={"description": "edi (an 810) or manual"})
    total = DecimalString(allow_none=False)
    stated_total = DecimalString()
    mismatches = fields.List(fields.Nested(MismatchSchema))
    lines = fields.List(fields.Nested(InvoiceLineSchema))
    created_at = fields.DateTime()


class InvoiceListSchema(Schema):
    data = fields.List(fields.Nested(InvoiceSchema))
    next_cursor = fields.String(allow_none=True)


class InvoiceLineInSchema(Schema):
    class Meta:
        unknown = RAISE

    line_id = fields.Integer(required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(1, 1_000_000))
    unit_price = DecimalString(input=True, required=True, allow_none=False)


class InvoiceCreateSchema(Schema):
    class Meta:
        unknown = RAISE

    purchase_order_id = fields.Integer(required=True)
    number = fields.String(required=True, validate=validate.Length(1, 30))
    invoice_date = fields.Date()
    total = DecimalString(input=True, integer_digits=10, allow_none=False)
    lines = fields.List(fields.Nested(InvoiceLineInSchema), required=True, validate=validate.Length(1, 1000))


EdiFileListArgs = PageArgs
InvoiceListArgs = PageArgs
