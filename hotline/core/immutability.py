"""Database-level protection of the audit log.

Triggers refuse UPDATE and DELETE on ``core_auditentry`` whatever client issues them.
The only exception is purging a test database between tests: the test suite switches
``PURGE_ALLOWED`` on for its own connection (SQLite: a connection function; PostgreSQL:
TRUNCATE, which Django's flush uses and row triggers do not see). No code path of the
application touches either.
"""

PURGE_ALLOWED = {"value": False}

SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON core_auditentry
       BEGIN SELECT RAISE(ABORT, '审计日志不可修改'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON core_auditentry
       WHEN hotline_audit_purge_allowed() = 0
       BEGIN SELECT RAISE(ABORT, '审计日志不可删除'); END""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete"]

POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION hotline_audit_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '审计日志不可修改或删除'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON core_auditentry
       FOR EACH ROW EXECUTE FUNCTION hotline_audit_append_only()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_append_only ON core_auditentry",
    "DROP FUNCTION IF EXISTS hotline_audit_append_only()",
]


def register_sqlite_function(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            "hotline_audit_purge_allowed",
            0,
            lambda: int(PURGE_ALLOWED["value"]),
            deterministic=False,
        )


def install(apps, schema_editor):
    statements = (
        SQLITE_TRIGGERS if schema_editor.connection.vendor == "sqlite" else POSTGRES_TRIGGERS
    )
    for sql in statements:
        schema_editor.execute(sql)


def uninstall(apps, schema_editor):
    statements = SQLITE_DROP if schema_editor.connection.vendor == "sqlite" else POSTGRES_DROP
    for sql in statements:
        schema_editor.execute(sql)
