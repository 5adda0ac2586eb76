"""signup_attempts: open sign-up requests (HUB_OPEN_SIGNUP), counted per address and per email

Revision ID: 0014_signup_attempts
Revises: 0010_audit_log
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_signup_attempts"
down_revision = "0010_audit_log"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "signup_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signup_attempts")),
    )
    op.create_index("ix_signup_attempts_email_at", "signup_attempts", ["email", "at"], unique=False)
    op.create_index("ix_signup_attempts_ip_at", "signup_attempts", ["ip", "at"], unique=False)


def downgrade():
    op.drop_index("ix_signup_attempts_ip_at", table_name="signup_attempts")
    op.drop_index("ix_signup_attempts_email_at", table_name="signup_attempts")
    op.drop_table("signup_attempts")
