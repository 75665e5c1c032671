"""uploads, access tokens, fingerprints and regeneration runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_access_token_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_token")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_access_token_token_sha256")),
    )
    op.create_index(
        op.f("ix_access_token_organisation_id"), "access_token", ["organisation_id"], unique=False
    )
    op.create_table(
        "regeneration_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_key", sa.String(length=100), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("meeting_ids", sa.JSON(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rerendered", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("failures", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batch.id"],
            name=op.f("fk_regeneration_run_batch_id_batch"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regeneration_run")),
        sa.UniqueConstraint("run_key", name=op.f("uq_regeneration_run_run_key")),
    )
    op.create_table(
        "upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("checklist", "deck", name="uploadkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("file_key", sa.String(length=500), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(length=300), nullable=False),
        sa.Column("access_token_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["access_token_id"],
            ["access_token.id"],
            name=op.f("fk_upload_access_token_id_access_token"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_upload_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_upload_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["assessment_round.id"],
            name=op.f("fk_upload_round_id_assessment_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload")),
    )
    op.create_index(op.f("ix_upload_organisation_id"), "upload", ["organisation_id"], unique=False)
    op.create_table(
        "score_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_by_upload_id", sa.Integer(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_score_snapshot_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["replaced_by_upload_id"],
            ["upload.id"],
            name=op.f("fk_score_snapshot_replaced_by_upload_id_upload"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["assessment_round.id"],
            name=op.f("fk_score_snapshot_round_id_assessment_round"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_snapshot")),
    )
    with op.batch_alter_table("batch") as batch:
        # Every batch before this revision was asked for by an organiser.
        batch.add_column(
            sa.Column(
                "origin",
                sa.Enum(
                    "organiser", "regeneration", name="batchorigin", native_enum=False, length=32
                ),
                nullable=False,
                server_default="organiser",
            )
        )
    with op.batch_alter_table("batch") as batch:
        batch.alter_column("origin", server_default=None)
    with op.batch_alter_table("generated_document") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("inputs", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("reused_from_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("stale_since", sa.DateTime(timezone=True), nullable=True))
        batch.create_index(
            "ix_generated_document_slot", ["meeting_id", "kind", "organisation_id"], unique=False
        )
        batch.create_foreign_key(
            "fk_generated_document_reused_from_id_generated_document",
            "generated_document",
            ["reused_from_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("generated_document") as batch:
        batch.drop_constraint(
            "fk_generated_document_reused_from_id_generated_document", type_="foreignkey"
        )
        batch.drop_index("ix_generated_document_slot")
        for column in ("stale_since", "reused_from_id", "inputs", "fingerprint"):
            batch.drop_column(column)
    with op.batch_alter_table("batch") as batch:
        batch.drop_column("origin")
    op.drop_table("score_snapshot")
    op.drop_index(op.f("ix_upload_organisation_id"), table_name="upload")
    op.drop_table("upload")
    op.drop_table("regeneration_run")
    op.drop_index(op.f("ix_access_token_organisation_id"), table_name="access_token")
    op.drop_table("access_token")
