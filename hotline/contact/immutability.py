"""The fact log (``contact_contactfact``) is append-only in the database too, as the
audit table is (hotline/core/immutability.py, whose purge switch the test harness uses
for SQLite; PostgreSQL's flush is TRUNCATE, which row triggers do not see)."""

SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS contactfact_no_update BEFORE UPDATE ON contact_contactfact
       BEGIN SELECT RAISE(ABORT, '话务事实记录不可修改'); END""",
    """CREATE TRIGGER IF NOT EXISTS contactfact_no_delete BEFORE DELETE ON contact_contactfact
       WHEN hotline_audit_purge_allowed() = 0
       BEGIN SELECT RAISE(ABORT, '话务事实记录不可删除'); END""",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS contactfact_no_update",
    "DROP TRIGGER IF EXISTS contactfact_no_delete",
]
POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION hotline_contactfact_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION '话务事实记录不可修改或删除'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER contactfact_append_only BEFORE UPDATE OR DELETE ON contact_contactfact
       FOR EACH ROW EXECUTE FUNCTION hotline_contactfact_append_only()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS contactfact_append_only ON contact_contactfact",
    "DROP FUNCTION IF EXISTS hotline_contactfact_append_only()",
]


def install(apps, schema_editor):
    sqlite = schema_editor.connection.vendor == "sqlite"
    for sql in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        schema_editor.execute(sql)


def uninstall(apps, schema_editor):
    sqlite = schema_editor.connection.vendor == "sqlite"
    for sql in SQLITE_DROP if sqlite else POSTGRES_DROP:
        schema_editor.execute(sql)
