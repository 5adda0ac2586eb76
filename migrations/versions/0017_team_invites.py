"""invites.vendor_id → invites.team_id: the organization a colleague joins, a retailer's now too

Colleague invites were a vendor's only (vendor_id). Retailers invite colleagues into the console
the same way, so the column names what it holds for both sides; rows keep their values.

Revision ID: 0017_team_invites
Revises: 0016_unfillable_flags
"""

from alembic import op

revision = "0017_team_invites"
down_revision = "0016_unfillable_flags"
branch_labels = None
depends_on = None


def _rename(old: str, new: str) -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_invites_inviter"), type_="check")
        batch_op.drop_constraint(batch_op.f(f"fk_invites_{old}_organizations"), type_="foreignkey")
        batch_op.drop_index(batch_op.f(f"ix_invites_{old}"))
        batch_op.alter_column(old, new_column_name=new)
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f(f"ix_invites_{new}"), [new], unique=False)
        batch_op.create_foreign_key(
            batch_op.f(f"fk_invites_{new}_organizations"), "organizations", [new], ["id"], ondelete="CASCADE"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_invites_inviter"), f"(retailer_id IS NULL) <> ({new} IS NULL)"
        )


def upgrade():
    _rename("vendor_id", "team_id")


def downgrade():
    _rename("team_id", "vendor_id")
