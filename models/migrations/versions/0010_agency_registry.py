"""The accredited service-agency registry (二(四)10, 13) and the notification outbox.

* agency: a service agency, its declared facts and its current state (a CHECK on the states);
* agency_event: every change of an agency's state (from, to, actor, reason, clause, at);
* agency_service: the price schedule per accredited service (fen >= 0, dated);
* agency_complaint, agency_spot_check: the record its monitoring reads;
* agency_reward: the yearly reward, once a year;
* notification: the outbox, written in the unit of work of the event that causes it.

Events, price schedules, complaints and spot checks are append-only (triggers on SQLite and PostgreSQL,
as for audit_event and posting_entry); a notification is never deleted and only its sent_at/sent_by
change, once. The trigger text is written out here, frozen at this revision.

Revision ID: 0010_agency_registry
Revises: 0009_scheme_engine
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010_agency_registry"
down_revision = "0009_scheme_engine"
branch_labels = None
depends_on = None

_STATES = "('applied', 'accredited', 'warned', 'suspended', 'expelled', 'withdrawn')"
_APPEND_ONLY = ("agency_event", "agency_service", "agency_complaint", "agency_spot_check")
_OUTBOX_FIXED = ("id", "recipient", "subject", "body", "cause", "created_at")


def _sqlite_guards() -> list[str]:
    out = []
    for t in _APPEND_ONLY:
        out.append(f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} "
                   f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: rows are never updated'); END")
        out.append(f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} "
                   f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: rows are never deleted'); END")
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _OUTBOX_FIXED)
    out.append("CREATE TRIGGER notification_no_delete BEFORE DELETE ON notification "
               "BEGIN SELECT RAISE(ABORT, 'notification is append-only: rows are never deleted'); END")
    out.append(f"CREATE TRIGGER notification_sent_once BEFORE UPDATE ON notification "
               f"WHEN OLD.sent_at IS NOT NULL OR {changed} "
               "BEGIN SELECT RAISE(ABORT, 'notification is append-only: only sent_at and sent_by change, once'); END")
    return out


def _pg_guards() -> list[str]:
    out = []
    for t in _APPEND_ONLY:
        out.append(f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {t} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _OUTBOX_FIXED)
    out.append(f"""CREATE OR REPLACE FUNCTION ipfund_outbox_sent_once() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.sent_at IS NOT NULL OR {changed} THEN
           RAISE EXCEPTION 'notification is append-only: only sent_at and sent_by change, once';
         END IF;
         RETURN NEW;
       END $$""")
    out.append("CREATE TRIGGER notification_sent_once BEFORE UPDATE ON notification "
               "FOR EACH ROW EXECUTE FUNCTION ipfund_outbox_sent_once()")
    out.append("CREATE TRIGGER notification_append_only BEFORE DELETE OR TRUNCATE ON notification "
               "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    return out


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "agency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", s(length=18), nullable=False),
        sa.Column("name", s(length=200), nullable=False),
        sa.Column("state", s(length=16), nullable=False),
        sa.Column("office_address", s(length=200), nullable=False),
        sa.Column("staff_count", sa.Integer(), nullable=False),
        sa.Column("independent_liability", sa.Boolean(), nullable=False),
        sa.Column("applied_at", s(length=32), nullable=False),
        sa.Column("state_at", s(length=32), nullable=False),
        sa.CheckConstraint(f"state IN {_STATES}", name="agency_state_valid"),
        sa.CheckConstraint("length(uscc) = 18", name="agency_uscc_len"),
        sa.CheckConstraint("staff_count >= 0", name="agency_staff_not_negative"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agency_uscc", "agency", ["uscc"], unique=True)
    op.create_table(
        "agency_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("action", s(length=16), nullable=False),
        sa.Column("from_state", s(length=16), nullable=True),
        sa.Column("to_state", s(length=16), nullable=False),
        sa.Column("actor", s(length=64), nullable=False),
        sa.Column("reason", s(length=1000), nullable=False),
        sa.Column("clause", s(length=32), nullable=False),
        sa.Column("detail", s(), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint(f"to_state IN {_STATES}", name="agency_event_to_valid"),
        sa.CheckConstraint(f"from_state IS NULL OR from_state IN {_STATES}", name="agency_event_from_valid"),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agency_event_agency", "agency_event", ["agency_id", "id"])
    op.create_table(
        "agency_service",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("service", s(length=32), nullable=False),
        sa.Column("price_fen", sa.BigInteger(), nullable=False),
        sa.Column("effective_from", s(length=10), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("price_fen >= 0", name="agency_service_price_not_negative"),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["agency_event.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_id", "service", "effective_from", name="agency_service_once"),
    )
    op.create_table(
        "agency_complaint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("received_on", s(length=10), nullable=False),
        sa.Column("complainant", s(length=200), nullable=False),
        sa.Column("summary", s(length=1000), nullable=False),
        sa.Column("recorded_by", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agency_complaint_agency", "agency_complaint", ["agency_id", "received_on"])
    op.create_table(
        "agency_spot_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("checked_on", s(length=10), nullable=False),
        sa.Column("result", s(length=8), nullable=False),
        sa.Column("grade_tenths", sa.Integer(), nullable=True),
        sa.Column("finding", s(length=1000), nullable=False),
        sa.Column("checked_by", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("result IN ('pass', 'fail', 'fraud')", name="agency_spot_check_result_valid"),
        sa.CheckConstraint("grade_tenths IS NULL OR grade_tenths BETWEEN 0 AND 1000", name="agency_spot_check_grade"),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_agency_spot_check_agency", "agency_spot_check", ["agency_id", "checked_on"])
    op.create_table(
        "agency_reward",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("ranking", s(), nullable=False),
        sa.Column("decided_by", s(length=64), nullable=False),
        sa.Column("at", s(length=32), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name="agency_reward_positive"),
        sa.ForeignKeyConstraint(["agency_id"], ["agency.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("year"),
    )
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", s(length=128), nullable=False),
        sa.Column("subject", s(length=200), nullable=False),
        sa.Column("body", s(length=2000), nullable=False),
        sa.Column("cause", s(length=128), nullable=False),
        sa.Column("created_at", s(length=32), nullable=False),
        sa.Column("sent_at", s(length=32), nullable=True),
        sa.Column("sent_by", s(length=64), nullable=True),
        sa.CheckConstraint("(sent_at IS NULL) = (sent_by IS NULL)", name="notification_sent_by_whom"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_recipient", "notification", ["recipient"])
    op.create_index("ix_notification_unsent", "notification", ["sent_at", "id"])
    for stmt in (_pg_guards() if op.get_bind().dialect.name == "postgresql" else _sqlite_guards()):
        op.execute(stmt)


def downgrade() -> None:
    for t in ("notification", "agency_reward", "agency_spot_check", "agency_complaint", "agency_service",
              "agency_event", "agency"):
        op.drop_table(t)  # their triggers go with them
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ipfund_outbox_sent_once()")
