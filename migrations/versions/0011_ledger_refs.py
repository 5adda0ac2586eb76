"""stock_ledger: ref (a hold, a connection) and retailer_id (entries that concern one retailer)

Revision ID: 0011_ledger_refs
Revises: 0013_edi_trading
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_ledger_refs"
down_revision = "0013_edi_trading"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stock_ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ref", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("retailer_id", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("stock_ledger", schema=None) as batch_op:
        batch_op.drop_column("retailer_id")
        batch_op.drop_column("ref")
