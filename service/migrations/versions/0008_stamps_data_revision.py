"""data revision: a counter every write to a stamped table bumps (by trigger); indexes

Indexes on the columns a document's own rows are found by.

Render workers cache the network-wide stamp digests by this revision (``stamps.DigestCache``).
Triggers, not the application, bump it, so no write (ORM, Core, raw SQL, another program)
can change a stamped row without changing the revision. The row is created by the first write,
with a random epoch that tells databases (and re-created rows) apart.

Revision ID: 0008_stamps
Revises: 0007_leases
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_stamps"
down_revision = "0007_leases"
branch_labels = None
depends_on = None

# The tables stamps hash (``stamps.stamped_tables()`` when this revision was written); a later
# migration that stamps another table adds its triggers (on PostgreSQL 0009's, which bump at
# commit), and tests check every one has them.
STAMPED = (
    "agenda_item",
    "assessment_round",
    "attendance",
    "checklist",
    "checklist_area",
    "checklist_question",
    "continuation_plan",
    "feedback_letter",
    "improvement_initiative",
    "indicator",
    "indicator_measurement",
    "leadership_culture_analysis",
    "meeting",
    "meeting_feedback",
    "milestone",
    "network",
    "network_group",
    "organisation",
    "organiser_checklist_item",
    "participant",
    "plan_activity",
    "score",
    "upload",
)


# Columns a document's own rows are found by (its stamp and its facts): without an index,
# each document scanned the whole network's scores and measurements.
INDEXED = (
    ("score", "organisation_id"),
    ("feedback_letter", "organisation_id"),
    ("indicator", "initiative_id"),
    ("indicator_measurement", "indicator_id"),
    ("plan_activity", "plan_id"),
    ("attendance", "participant_id"),
)


def upgrade() -> None:
    for table, column in INDEXED:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])
    op.create_table(
        "data_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_revision")),
    )
    for table in STAMPED:
        create_trigger(table)


def downgrade() -> None:
    for table in STAMPED:
        drop_trigger(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS bump_data_revision()")
    op.drop_table("data_revision")
    for table, column in INDEXED:
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)


_SQLITE_BUMP = (
    "INSERT INTO data_revision (id, epoch, revision)"
    " VALUES (1, lower(hex(randomblob(16))), 1)"
    " ON CONFLICT (id) DO UPDATE SET revision = revision + 1;"
)
_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION bump_data_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO data_revision (id, epoch, revision)
    VALUES (1, md5(random()::text || clock_timestamp()::text), 1)
    ON CONFLICT (id) DO UPDATE SET revision = data_revision.revision + 1;
    RETURN NULL;
END
$$
"""


def create_trigger(table: str) -> None:
    """Make every write to ``table`` bump the data revision (usable by later migrations)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_FUNCTION)
        op.execute(
            f"CREATE TRIGGER data_revision_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
            f" ON {table} FOR EACH STATEMENT EXECUTE PROCEDURE bump_data_revision()"
        )
        return
    for event in ("insert", "update", "delete"):
        op.execute(
            f"CREATE TRIGGER data_revision_{table}_{event} AFTER {event.upper()} ON {table}"
            f" BEGIN {_SQLITE_BUMP} END"
        )


def drop_trigger(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS data_revision_{table} ON {table}")
        return
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS data_revision_{table}_{event}")
