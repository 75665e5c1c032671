"""document format: a document is one file, in the template's format or as PDF

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generated_document") as batch:
        # Every document before this revision was a deck.
        batch.add_column(
            sa.Column("format", sa.String(length=8), nullable=False, server_default="pptx")
        )
    with op.batch_alter_table("generated_document") as batch:
        batch.alter_column("format", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("generated_document") as batch:
        batch.drop_column("format")
