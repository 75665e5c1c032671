"""data revision bumped at commit (PostgreSQL): writers no longer queue behind each other

Migration 0008's statement triggers bumped the one ``data_revision`` row at a transaction's
first write to a stamped table, so the row's lock was held from there to the commit: every
other writer (a participant's checklist upload, a score, an import) waited for the whole of
the first one. Under 20 concurrent participants uploads queued one behind another (p99 6 s).

Here each stamped table gets a deferred constraint trigger instead: it fires when the
transaction commits, bumps the revision once per transaction (a transaction-local setting
remembers it did), and the lock is held only for the commit itself. Readers still see the
new revision and the new rows together (both become visible at commit), a rolled-back
transaction bumps nothing, and an update that changes no row bumps nothing. TRUNCATE has no
row triggers: a statement trigger bumps at once for it, as before.

SQLite serialises writers anyway and has no deferred triggers: its triggers stay as they are.

Revision ID: 0009_revision_at_commit
Revises: 0008_stamps
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0009_revision_at_commit"
down_revision = "0008_stamps"
branch_labels = None
depends_on = None

# The stamped tables when this revision was written (as migration 0008's list); a later
# migration that stamps another table calls ``create_trigger`` below for it.
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

_BUMP_ONCE_FUNCTION = """
CREATE OR REPLACE FUNCTION bump_data_revision_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('benchdocs.data_revision_bumped', true) = txid_current()::text THEN
        RETURN NULL;
    END IF;
    INSERT INTO data_revision (id, epoch, revision)
    VALUES (1, md5(random()::text || clock_timestamp()::text), 1)
    ON CONFLICT (id) DO UPDATE SET revision = data_revision.revision + 1;
    PERFORM set_config('benchdocs.data_revision_bumped', txid_current()::text, true);
    RETURN NULL;
END
$$
"""


def create_trigger(table: str) -> None:
    """Make every committed write to ``table`` bump the data revision (PostgreSQL)."""
    op.execute(f"DROP TRIGGER IF EXISTS data_revision_{table} ON {table}")
    op.execute(
        f"CREATE CONSTRAINT TRIGGER data_revision_{table}"
        f" AFTER INSERT OR UPDATE OR DELETE ON {table}"
        " DEFERRABLE INITIALLY DEFERRED"
        " FOR EACH ROW EXECUTE FUNCTION bump_data_revision_once()"
    )
    # 0008's function bumps at once: right for TRUNCATE, which no row trigger sees.
    op.execute(
        f"CREATE TRIGGER data_revision_truncate_{table} AFTER TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION bump_data_revision()"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_BUMP_ONCE_FUNCTION)
    for table in STAMPED:
        create_trigger(table)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in STAMPED:
        op.execute(f"DROP TRIGGER IF EXISTS data_revision_truncate_{table} ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS data_revision_{table} ON {table}")
        op.execute(
            f"CREATE TRIGGER data_revision_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE"
            f" ON {table} FOR EACH STATEMENT EXECUTE PROCEDURE bump_data_revision()"
        )
    op.execute("DROP FUNCTION IF EXISTS bump_data_revision_once()")
