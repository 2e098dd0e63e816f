"""PostgreSQL: a restricted application role, `ipfund_app`, that may INSERT and SELECT the audit log
but never UPDATE, DELETE or TRUNCATE it (on top of the append-only trigger). Production connects as
this role; the owner role runs migrations. No-op on SQLite.

Revision ID: 0003_app_role
Revises: 0002_guards
"""
from alembic import op

revision = "0003_app_role"
down_revision = "0002_guards"
branch_labels = None
depends_on = None

ROLE = "ipfund_app"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') THEN
            CREATE ROLE {ROLE} NOLOGIN;
        END IF; END $$""")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {ROLE}")
    op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, posting_entry FROM {ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {ROLE}")
