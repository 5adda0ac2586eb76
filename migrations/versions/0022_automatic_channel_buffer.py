"""Channel buffers become an override (issue 18): webhook endpoints' and connectors' `buffer` is
nullable, null meaning automatic

Automatic is 0 on the fixed availability model (the behaviour of every existing row) and, on the
predictive model, what outside sales will probably take over the channel's update interval. 0 was
the column's default and the only figure that held nothing back, so existing zeros become automatic
(on the fixed model exactly what they were); a positive buffer stays the explicit override it was.
Down again, automatic becomes 0.

Revision ID: 0022_automatic_channel_buffer
Revises: 0021_likely_short_flags
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_automatic_channel_buffer"
down_revision = "0021_likely_short_flags"
branch_labels = None
depends_on = None

TABLES = ("webhook_endpoints", "connectors")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_buffer"), type_="check")
            batch_op.alter_column("buffer", existing_type=sa.Integer(), nullable=True)
            batch_op.create_check_constraint("buffer", "buffer IS NULL OR buffer >= 0")
        op.execute(f"UPDATE {table} SET buffer = NULL WHERE buffer = 0")


def downgrade():
    for table in TABLES:
        op.execute(f"UPDATE {table} SET buffer = 0 WHERE buffer IS NULL")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_buffer"), type_="check")
            batch_op.alter_column("buffer", existing_type=sa.Integer(), nullable=False)
            batch_op.create_check_constraint("buffer", "buffer >= 0")
