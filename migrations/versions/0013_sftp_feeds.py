"""sftp:// pull feeds: feeds.host_key (the server key pinned on the first pull), auth kind ssh_key

Revision ID: 0013_sftp_feeds
Revises: 0011_ledger_refs
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_sftp_feeds"
down_revision = "0011_ledger_refs"
branch_labels = None
depends_on = None

_OLD = "auth_kind IN ('none', 'basic', 'bearer', 'header')"
_NEW = "auth_kind IN ('none', 'basic', 'bearer', 'header', 'ssh_key')"


def upgrade():
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host_key", sa.Text(), nullable=True))
        batch_op.drop_constraint(op.f("ck_feeds_auth_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_feeds_auth_kind"), sa.text(_NEW))


def downgrade():
    op.execute("UPDATE feeds SET auth_kind = 'none', auth_sealed = NULL WHERE auth_kind = 'ssh_key'")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("host_key")
        batch_op.drop_constraint(op.f("ck_feeds_auth_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_feeds_auth_kind"), sa.text(_OLD))
