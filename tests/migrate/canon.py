"""The workload's tables compared between source and target, each side
dumped in canonical form by its server's own client (workload.py's
dump_source and dump_pg: exact DECIMAL digits, microseconds, TIMESTAMP in
UTC, unsigned 64-bit, 4-byte Unicode, JSON by value, WKB, BIT). Shared by
migrate_pg.py, migrate_par.py and tests/kafka/migrate_apply*.py.
"""
import workload

TABLES = ("items", "kv", "ledger")


def difference(a, b):
    """What differs between two dumps ({key: canonical row}): up to 5 keys
    found on one side only, each side, and up to 3 keys whose rows differ,
    with both rows."""
    only_a = sorted(set(a) - set(b))[:5]
    only_b = sorted(set(b) - set(a))[:5]
    diff = [k for k in a if k in b and a[k] != b[k]][:3]
    detail = "source-only %s target-only %s" % (only_a, only_b)
    for k in diff:
        detail += "\n  key %s\n   source %r\n   target %r" % (k, a[k], b[k])
    return detail


def compare(check, prefix, src, dump_target, tables=TABLES):
    """One check per table: the source's dump (src, a workload.Source)
    equals dump_target(table). prefix starts every check's name."""
    for t in tables:
        a = workload.dump_source(src, t)
        b = dump_target(t)
        if a == b:
            check("%s%s identical (%d rows, dumped by each server)" % (prefix, t, len(a)), True)
        else:
            check("%s%s identical" % (prefix, t), False, difference(a, b))


def compare_pg(check, name, src, pg, pgdb, tables=TABLES):
    """compare() against PostgreSQL: the source database's tables in the
    schema of the same name of pgdb."""
    compare(check, name + ": ", src, lambda t: workload.dump_pg(pg, pgdb, src.db, t), tables)
