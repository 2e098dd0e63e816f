"""Custody voucher review, evaluation and disputes (托管服务券, 二(二)5): a redemption can end.

A reviewer's return or an upheld dispute supersedes a voucher's redemption (the agency may redeem again),
a refusal ends it; so voucher_redemption drops its UNIQUE (application_id) for a partial unique index
over live redemptions (``ended_at IS NULL``) and gains ``ended_at``, ``ended_by``, ``ended_as`` (returned,
refused, upheld) and ``ended_reason``, recorded once; the rest of the row stays append-only (triggers).

On SQLite a UNIQUE constraint cannot be dropped: voucher_redemption and its child voucher_evidence are
rebuilt side by side (the child first re-pointed at the new parent, then both renamed), rows kept as they
are, their guards recreated.

Revision ID: 0013_voucher_evaluation
Revises: 0012_voucher_reminders
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_voucher_evaluation"
down_revision = "0012_voucher_reminders"
branch_labels = None
depends_on = None

_FIXED = ("id", "application_id", "contract_id", "agency_id", "amount_fen", "redeemed_on", "redeemed_by", "at")
_ENDED_CHECKS = (
    "CONSTRAINT voucher_redemption_positive CHECK (amount_fen > 0), "
    "CONSTRAINT voucher_redemption_ended_by_whom CHECK ((ended_at IS NULL) = (ended_by IS NULL) "
    "AND (ended_at IS NULL) = (ended_as IS NULL)), "
    "CONSTRAINT voucher_redemption_ended_as CHECK (ended_as IS NULL OR ended_as IN ('returned', 'refused', 'upheld'))")


def _sqlite_upgrade() -> None:
    for t in ("voucher_redemption", "voucher_evidence"):
        op.execute(f"DROP TRIGGER IF EXISTS {t}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {t}_no_delete")
    op.execute(f"""CREATE TABLE voucher_redemption_new (
        id INTEGER NOT NULL, application_id INTEGER NOT NULL, contract_id INTEGER NOT NULL,
        agency_id INTEGER NOT NULL, amount_fen BIGINT NOT NULL, redeemed_on VARCHAR(10) NOT NULL,
        redeemed_by VARCHAR(64) NOT NULL, at VARCHAR(32) NOT NULL, ended_at VARCHAR(32), ended_by VARCHAR(64),
        ended_as VARCHAR(16), ended_reason VARCHAR(400),
        PRIMARY KEY (id), {_ENDED_CHECKS},
        FOREIGN KEY(application_id) REFERENCES application (id),
        FOREIGN KEY(contract_id) REFERENCES voucher_contract (id),
        FOREIGN KEY(agency_id) REFERENCES agency (id))""")
    op.execute(f"INSERT INTO voucher_redemption_new ({', '.join(_FIXED)}) SELECT {', '.join(_FIXED)} "
               "FROM voucher_redemption")
    op.execute("""CREATE TABLE voucher_evidence_new (
        id INTEGER NOT NULL, redemption_id INTEGER NOT NULL, kind VARCHAR(16) NOT NULL,
        filename VARCHAR(260) NOT NULL, media_type VARCHAR(16) NOT NULL, size_bytes BIGINT NOT NULL,
        sha256 VARCHAR(64) NOT NULL, PRIMARY KEY (id),
        FOREIGN KEY(redemption_id) REFERENCES voucher_redemption_new (id),
        FOREIGN KEY(sha256) REFERENCES evidence_blob (sha256))""")
    op.execute("INSERT INTO voucher_evidence_new SELECT id, redemption_id, kind, filename, media_type, size_bytes, "
               "sha256 FROM voucher_evidence")
    op.execute("DROP TABLE voucher_evidence")  # nothing references it: its index goes with it
    op.execute("DROP TABLE voucher_redemption")  # no row references it any more
    op.execute("ALTER TABLE voucher_redemption_new RENAME TO voucher_redemption")  # the child follows
    op.execute("ALTER TABLE voucher_evidence_new RENAME TO voucher_evidence")
    op.create_index("ix_voucher_evidence_redemption_id", "voucher_evidence", ["redemption_id"])
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _FIXED)
    op.execute("CREATE TRIGGER voucher_redemption_no_delete BEFORE DELETE ON voucher_redemption "
               "BEGIN SELECT RAISE(ABORT, 'voucher_redemption is append-only: rows are never deleted'); END")
    op.execute(f"CREATE TRIGGER voucher_redemption_ends_once BEFORE UPDATE ON voucher_redemption "
               f"WHEN OLD.ended_at IS NOT NULL OR {changed} "
               "BEGIN SELECT RAISE(ABORT, 'voucher_redemption is append-only: only its end is recorded, once'); END")
    op.execute("CREATE TRIGGER voucher_evidence_no_update BEFORE UPDATE ON voucher_evidence "
               "BEGIN SELECT RAISE(ABORT, 'voucher_evidence is append-only: rows are never updated'); END")
    op.execute("CREATE TRIGGER voucher_evidence_no_delete BEFORE DELETE ON voucher_evidence "
               "BEGIN SELECT RAISE(ABORT, 'voucher_evidence is append-only: rows are never deleted'); END")


def _pg_upgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS voucher_redemption_append_only ON voucher_redemption")
    op.drop_constraint("voucher_redemption_application_id_key", "voucher_redemption", type_="unique")
    s = sa.String
    op.add_column("voucher_redemption", sa.Column("ended_at", s(length=32), nullable=True))
    op.add_column("voucher_redemption", sa.Column("ended_by", s(length=64), nullable=True))
    op.add_column("voucher_redemption", sa.Column("ended_as", s(length=16), nullable=True))
    op.add_column("voucher_redemption", sa.Column("ended_reason", s(length=400), nullable=True))
    op.create_check_constraint("voucher_redemption_ended_by_whom", "voucher_redemption",
                               "(ended_at IS NULL) = (ended_by IS NULL) AND (ended_at IS NULL) = (ended_as IS NULL)")
    op.create_check_constraint("voucher_redemption_ended_as", "voucher_redemption",
                               "ended_as IS NULL OR ended_as IN ('returned', 'refused', 'upheld')")
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _FIXED)
    op.execute(f"""CREATE OR REPLACE FUNCTION ipfund_redemption_ends_once() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF OLD.ended_at IS NOT NULL OR {changed} THEN
           RAISE EXCEPTION 'voucher_redemption is append-only: only its end is recorded, once';
         END IF;
         RETURN NEW;
       END $$""")
    op.execute("CREATE TRIGGER voucher_redemption_ends_once BEFORE UPDATE ON voucher_redemption "
               "FOR EACH ROW EXECUTE FUNCTION ipfund_redemption_ends_once()")
    op.execute("CREATE TRIGGER voucher_redemption_append_only BEFORE DELETE OR TRUNCATE ON voucher_redemption "
               "FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()
    op.create_index("ux_voucher_redemption_live", "voucher_redemption", ["application_id"], unique=True,
                    sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL"))
    op.create_index("ix_voucher_redemption_agency", "voucher_redemption", ["agency_id"])


def downgrade() -> None:
    """Back to one redemption per voucher: refused if a voucher has had more than one (they would be lost)."""
    bind = op.get_bind()
    many = bind.execute(sa.text("SELECT COUNT(*) FROM voucher_redemption WHERE ended_at IS NOT NULL")).scalar()
    if many:
        raise RuntimeError(f"{many} redemption(s) have ended (returned, refused or upheld); 0012 keeps one "
                           "redemption per voucher and cannot hold them")
    op.drop_index("ix_voucher_redemption_agency", table_name="voucher_redemption")
    op.drop_index("ux_voucher_redemption_live", table_name="voucher_redemption")
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS voucher_redemption_ends_once ON voucher_redemption")
        op.execute("DROP TRIGGER IF EXISTS voucher_redemption_append_only ON voucher_redemption")
        op.execute("DROP FUNCTION IF EXISTS ipfund_redemption_ends_once()")
        op.drop_constraint("voucher_redemption_ended_as", "voucher_redemption", type_="check")
        op.drop_constraint("voucher_redemption_ended_by_whom", "voucher_redemption", type_="check")
        for c in ("ended_reason", "ended_as", "ended_by", "ended_at"):
            op.drop_column("voucher_redemption", c)
        op.create_unique_constraint("voucher_redemption_application_id_key", "voucher_redemption", ["application_id"])
        op.execute("CREATE TRIGGER voucher_redemption_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON "
                   "voucher_redemption FOR EACH STATEMENT EXECUTE FUNCTION ipfund_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS voucher_redemption_ends_once")
        op.execute("CREATE UNIQUE INDEX ux_voucher_redemption_once ON voucher_redemption (application_id)")
        op.execute("CREATE TRIGGER voucher_redemption_no_update BEFORE UPDATE ON voucher_redemption "
                   "BEGIN SELECT RAISE(ABORT, 'voucher_redemption is append-only: rows are never updated'); END")
