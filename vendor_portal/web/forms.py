"""The portal's forms (Flask-WTF: each carries the CSRF token). Rules stay in `network`; these
only check that the fields are there and of a sane size."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

from network.partners.accounts import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from network.partners.models import ROLES
from network.partners.roles import LABELS


def _email(label: str = "Email") -> EmailField:
    return EmailField(label, validators=[DataRequired(), Length(max=254)])


def _new_password() -> PasswordField:
    return PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
        description=f"At least {PASSWORD_MIN_LENGTH} characters, mixing letters with digits or symbols.",
    )


def _confirm() -> PasswordField:
    return PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", message="the passwords differ")],
    )


class LoginForm(FlaskForm):
    email = _email()
    password = PasswordField("Password", validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)])
    next = HiddenField()


class SignupForm(FlaskForm):
    organization_name = StringField("Your company", validators=[DataRequired(), Length(max=200)])
    name = StringField("Your name", validators=[Optional(), Length(max=200)])
    email = _email("Your email")
    password = _new_password()
    confirm = _confirm()


class ColleagueSignupForm(FlaskForm):
    name = StringField("Your name", validators=[Optional(), Length(max=200)])
    email = _email("Your email")
    password = _new_password()
    confirm = _confirm()


class ResetRequestForm(FlaskForm):
    email = _email()


class ResetForm(FlaskForm):
    password = _new_password()
    confirm = _confirm()


class ColleagueInviteForm(FlaskForm):
    email = _email("Colleague's email")


class RoleForm(FlaskForm):
    """A user's new role (network/partners/roles.py): the team pages of the portal and the console."""

    role = SelectField("Role", choices=[SelectChoice(role, LABELS[role]) for role in ROLES])


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ApiClientForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)], description="e.g. our ERP")
    scopes = MultiCheckboxField("Scopes", validators=[DataRequired(message="pick at least one scope")])


MODE_CHOICES = [
    SelectChoice("delta", "only the rows to change (delta)"),
    SelectChoice("full", "my whole catalog: SKUs left out drop to zero (full)"),
]
BASIS_CHOICES = [
    SelectChoice("available", "units free to sell (available)"),
    SelectChoice("on_hand", "units on the shelf (on hand)"),
]


class UploadForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("choose a file")])
    mode = SelectField("The file holds", choices=MODE_CHOICES, default="delta")
    basis = SelectField("Quantities count", choices=BASIS_CHOICES, default="available")
    encoding = SelectField(
        "Encoding",
        choices=[SelectChoice("utf-8", "UTF-8"), SelectChoice("cp1252", "Windows / Excel (cp1252)")],
        default="utf-8",
    )


class FeedForm(FlaskForm):
    """A pull feed: where the file is, how to fetch and read it, how often."""

    name = StringField(
        "Name", validators=[DataRequired(), Length(max=200)], description="e.g. Warehouse export"
    )
    url = URLField("Feed URL", validators=[DataRequired(), Length(max=2000)])
    auth_kind = SelectField(
        "Authentication",
        choices=[
            SelectChoice("none", "none"),
            SelectChoice("basic", "user and password (basic)"),
            SelectChoice("bearer", "bearer token"),
            SelectChoice("header", "a header (e.g. X-Api-Key)"),
        ],
        default="none",
    )
    auth_username = StringField("User (basic)", validators=[Optional(), Length(max=200)])
    auth_header = StringField("Header name", validators=[Optional(), Length(max=100)])
    auth_secret = PasswordField(
        "Password, token or header value",
        validators=[Optional(), Length(max=4000)],
        description="Stored encrypted, never shown again. Leave empty to keep the saved one.",
    )
    interval_minutes = IntegerField(
        "Fetch every (minutes)", default=60, validators=[InputRequired(), NumberRange(1, 7 * 24 * 60)]
    )
    format_kind = SelectField(
        "Format",
        choices=[
            SelectChoice("csv", "CSV (any delimiter)"),
            SelectChoice("json", "JSON"),
            SelectChoice("x12", "X12 846"),
        ],
        default="csv",
    )
    mode = SelectField("The file holds", choices=MODE_CHOICES, default="full")
    basis = SelectField("Quantities count", choices=BASIS_CHOICES, default="available")
    mapping = TextAreaField(
        "Column mapping",
        validators=[Optional(), Length(max=4000)],
        description="One per line, our field = your column, e.g. quantity = Qty On Hand. "
        "Fields: sku, quantity, damaged, pending_inspection, incoming, incoming_eta, gtin, as_of.",
    )
    active = BooleanField("Fetch on schedule", default=True)


class ProductForm(FlaskForm):
    """One product of the vendor's catalog; amounts are read by network.products.imports.parse_decimal."""

    sku = StringField("SKU", validators=[DataRequired(), Length(max=100)])
    title = StringField("Title", validators=[DataRequired(), Length(max=300)])
    gtin = StringField("GTIN (UPC / EAN)", validators=[Optional(), Length(max=14)])
    cost = StringField(
        "Cost", validators=[Optional(), Length(max=20)], description="what the retailer pays you"
    )
    msrp = StringField("MSRP", validators=[Optional(), Length(max=20)])
    map_price = StringField(
        "MAP", validators=[Optional(), Length(max=20)], description="minimum advertised price"
    )
    weight = StringField("Weight (kg)", validators=[Optional(), Length(max=20)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=20_000)])
    image_urls = TextAreaField(
        "Image URLs", validators=[Optional(), Length(max=45_000)], description="one per line"
    )
    attributes = TextAreaField(
        "Attributes", validators=[Optional(), Length(max=110_000)], description="one per line: name: value"
    )


class CatalogUploadForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("choose a file")])
    encoding = SelectField(
        "Encoding",
        choices=[SelectChoice("utf-8", "UTF-8"), SelectChoice("cp1252", "Windows / Excel (cp1252)")],
        default="utf-8",
    )


class GuardsForm(FlaskForm):
    enabled = BooleanField("Hold rows that look like a slip")
    quantity_factor = IntegerField(
        "Quantity: times the highest count",
        validators=[InputRequired(), NumberRange(2, 1_000_000)],
        description="a count more than this many times the product's highest count on record…",
    )
    quantity_floor = IntegerField(
        "Quantity: units above it",
        validators=[InputRequired(), NumberRange(0, 1_000_000_000)],
        description="…and more than this many units above it is held",
    )
    price_percent = IntegerField(
        "Cost or MAP change (%)",
        validators=[InputRequired(), NumberRange(1, 10_000)],
        description="a cost or MAP moving by more than this share is held",
    )
