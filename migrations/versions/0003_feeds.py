"""feeds: feed configurations, held-run columns on feed_runs, stale source marks

Revision ID: 0003_feeds
Revises: 0001_hub_schema
Create Date: 2026-11-25 06:00:00

Hand-written (a branch of the first revision, like every area's migration).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_feeds"
down_revision = "0001_hub_schema"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("transport", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("auth_kind", sa.String(length=16), nullable=False),
        sa.Column("auth_sealed", sa.Text(), nullable=True),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("format_kind", sa.String(length=8), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("delimiter", sa.String(length=1), nullable=True),
        sa.Column("encoding", sa.String(length=32), nullable=False),
        sa.Column("filter", sa.JSON(), nullable=False),
        sa.Column("sum_duplicates", sa.Boolean(), nullable=False),
        sa.Column("decimal_quantities", sa.String(length=8), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("basis", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("learned_interval_seconds", sa.Integer(), nullable=True),
        sa.Column("late_notified", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("transport IN ('pull', 'upload', 'push')", name=op.f("ck_feeds_transport")),
        sa.CheckConstraint(
            "auth_kind IN ('none', 'basic', 'bearer', 'header')", name=op.f("ck_feeds_auth_kind")
        ),
        sa.CheckConstraint("interval_minutes > 0", name=op.f("ck_feeds_interval")),
        sa.CheckConstraint("mode IN ('full', 'delta')", name=op.f("ck_feeds_mode")),
        sa.CheckConstraint("basis IN ('available', 'on_hand')", name=op.f("ck_feeds_basis")),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_feeds_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
    )
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feeds_vendor_id"), ["vendor_id"], unique=False)
        batch_op.create_index("ix_feeds_due", ["transport", "active", "next_run_at"], unique=False)

    op.create_table(
        "stale_sources",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("retailer_id", sa.Integer(), nullable=False),
        sa.Column("last_count_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_stale_sources_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["retailer_id"],
            ["organizations.id"],
            name=op.f("fk_stale_sources_retailer_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_stale_sources_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_stale_sources")),
    )
    with op.batch_alter_table("stale_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stale_sources_vendor_id"), ["vendor_id"], unique=False)

    with op.batch_alter_table("feed_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("format_settings", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("feed_runs", schema=None) as batch_op:
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("format_settings")
        batch_op.drop_column("hold_reason")

    with op.batch_alter_table("stale_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stale_sources_vendor_id"))
    op.drop_table("stale_sources")

    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_index("ix_feeds_due")
        batch_op.drop_index(batch_op.f("ix_feeds_vendor_id"))
    op.drop_table("feeds")
