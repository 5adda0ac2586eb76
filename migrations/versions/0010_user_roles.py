"""users.role: owner, admin, operator or viewer (DESIGN §13); every user already there stays an owner

Revision ID: 0010_user_roles
Revises: 0012_connector_sync
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_user_roles"
down_revision = "0012_connector_sync"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        # Existing users could do everything: they keep it (owner), nobody is locked out.
        batch_op.add_column(sa.Column("role", sa.String(length=16), nullable=False, server_default="owner"))
        batch_op.create_check_constraint(
            op.f("ck_users_role"), "role IN ('owner', 'admin', 'operator', 'viewer')"
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.drop_column("role")
