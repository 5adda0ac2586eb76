"""flags: the `likely_short` kind (issue 18), a line whose vendor has probably sold its units

Revision ID: 0021_likely_short_flags
Revises: 0019_predictive_availability
"""

from alembic import op

revision = "0021_likely_short_flags"
down_revision = "0019_predictive_availability"
branch_labels = None
depends_on = None

_KINDS = (
    "kind IN ('shortfall', 'ack_overdue', 'ship_overdue', 'stale_feed', 'vendor_rejected', 'vendor_cancelled',"
    " 'discontinued', 'invoice_mismatch', 'edi_unacknowledged', 'unfillable'"
)


def upgrade():
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_flags_kind"), type_="check")
        batch_op.create_check_constraint("kind", _KINDS + ", 'likely_short')")


def downgrade():
    op.execute("DELETE FROM flags WHERE kind = 'likely_short'")
    with op.batch_alter_table("flags", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_flags_kind"), type_="check")
        batch_op.create_check_constraint("kind", _KINDS + ")")
