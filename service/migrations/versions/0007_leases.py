"""document leases and transient failures

Revision ID: 0007_leases
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_leases"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generated_document") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("failed_transient", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("auto_resends", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("generated_document") as batch:
        batch.alter_column("failed_transient", server_default=None)
        batch.alter_column("auto_resends", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("generated_document") as batch:
        batch.drop_column("auto_resends")
        batch.drop_column("failed_transient")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
