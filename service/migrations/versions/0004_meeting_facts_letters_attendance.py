"""meeting facts, indicator populations, attendance and feedback letter reviews

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_MEETING_COLUMNS = (
    ("venue_address", sa.Text()),
    ("travel_directions", sa.Text()),
    ("digital_link", sa.String(length=2000)),
    ("process_leader_name", sa.String(length=300)),
    ("process_leader_email", sa.String(length=320)),
    ("skr_contact_name", sa.String(length=300)),
    ("skr_contact_email", sa.String(length=320)),
    ("film_title", sa.String(length=300)),
    ("film_link", sa.String(length=2000)),
)


def upgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        for name, column_type in _MEETING_COLUMNS:
            batch.add_column(sa.Column(name, column_type, nullable=True))
        batch.add_column(
            sa.Column(
                "overview_anonymised", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("indicator") as batch:
        batch.add_column(
            sa.Column(
                "population",
                sa.Enum(
                    "kvinnor_män",
                    "flickor_pojkar",
                    "neutral",
                    name="indicatorpopulation",
                    native_enum=False,
                    length=32,
                ),
                nullable=False,
                server_default="kvinnor_män",
            )
        )
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "anmäld",
                "deltog",
                "förhinder",
                name="attendancestatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("special_needs", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_attendance_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_attendance_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
        sa.UniqueConstraint("meeting_id", "participant_id", name=op.f("uq_attendance_meeting_id")),
    )
    op.create_table(
        "feedback_letter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("noted", sa.Text(), nullable=True),
        sa.Column("ideas", sa.JSON(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_feedback_letter_meeting_id_meeting"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_feedback_letter_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_letter")),
        sa.UniqueConstraint(
            "meeting_id", "organisation_id", name=op.f("uq_feedback_letter_meeting_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("feedback_letter")
    op.drop_table("attendance")
    with op.batch_alter_table("indicator") as batch:
        batch.drop_column("population")
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("overview_anonymised")
        for name, _column_type in reversed(_MEETING_COLUMNS):
            batch.drop_column(name)
