#!/bin/sh
# The README's first command: from a fresh Debian 12 machine to libcdc
# talking to a real server.
#
#  1. installs the build dependencies and MariaDB (Debian packages),
#  2. builds libcdc and the `cdc` tool into ./build,
#  3. starts a throwaway MariaDB 10.11 on 127.0.0.1 (its own datadir under
#     ./tmp, binlog on; not the system service),
#  4. prints what the server says about itself and its binlog (`cdc info`),
#  5. notes where the binlog ends (`cdc stream --start now --stop-at now`
#     saves that position as a checkpoint), makes a few changes, and
#     streams them from the server as a replica (`cdc stream`, from the
#     checkpoint up to the binlog's end), one JSON line per row change,
#  6. decodes the same changes from the binlog file (`cdc dump`),
#  7. stops the server.
#
# Set CDC_QUICKSTART_KEEP=1 to leave the server running afterwards.
set -eu
cd "$(dirname "$0")/.."

tests/install-deps.sh test
if [ ! -d build ]; then
    meson setup build -Dbuildtype=release -Dtests=false >/dev/null
fi
ninja -C build >/dev/null
cdc=build/examples/cdc/cdc

tests/servers/testenv.sh start mariadb
[ "${CDC_QUICKSTART_KEEP:-0}" = 1 ] || trap 'tests/servers/testenv.sh stop' EXIT INT TERM
# shellcheck disable=SC1090
. "$(tests/servers/testenv.sh envfile)"

echo "== cdc info: the server and its binlog"
CDC_PASSWORD=$CDC_TEST_PASSWORD "$cdc" info --host "$CDC_TEST_MARIADB_HOST" \
    --port "$CDC_TEST_MARIADB_PORT" --user cdc_repl

stream() {
    CDC_PASSWORD=$CDC_TEST_PASSWORD "$cdc" stream --host "$CDC_TEST_MARIADB_HOST" \
        --port "$CDC_TEST_MARIADB_PORT" --user cdc_repl --server-id 4242 \
        --tables 'shop.*' --checkpoint-file "$ck" "$@"
}
ck=tmp/quickstart.checkpoint
mkdir -p tmp
echo "== where the binlog ends now"
stream --start now --stop-at now

echo "== a few changes"
sql() { tests/servers/testenv.sh mariadb -e "$1"; }
sql "FLUSH BINARY LOGS"
sql "CREATE DATABASE IF NOT EXISTS shop;
     DROP TABLE IF EXISTS shop.orders;
     CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(40),
                               amount DECIMAL(10,2), placed DATETIME(3));
     INSERT INTO shop.orders VALUES (1, 'Ada', 12.30, '2024-02-29 23:59:59.125'),
                                    (2, 'Grace', 7.00, NOW(3));
     UPDATE shop.orders SET amount = amount + 1 WHERE id = 1;
     DELETE FROM shop.orders WHERE id = 2;"

echo "== cdc stream: the changes, streamed from the server as a replica"
stream --stop-at now
echo "(the next 'cdc stream --checkpoint-file $ck' continues from there)"

file=$(tests/servers/testenv.sh mariadb -N -e "SHOW MASTER STATUS" | cut -f1)
echo "== cdc dump $file: the same changes, decoded from the binlog file"
"$cdc" dump "$CDC_TEST_MARIADB_DATADIR/$file"
