#!/bin/bash
# Test servers for libcdc: MariaDB 10.11 (Debian 12's mariadbd) and MySQL 9.7
# (Debian unstable's mysqld in a debootstrap chroot), each our own instance on
# 127.0.0.1 with TLS, binary logging and the test accounts. docs/testing.md
# describes the accounts, privileges and variables.
#
# Usage: testenv.sh start [mariadb|mysql]   start (or reuse) servers, write env file
#        testenv.sh stop [mariadb|mysql] [--force]
#        testenv.sh restart mariadb|mysql     stop and start one server, same datadir
#        testenv.sh status | envfile | check | clean
#        testenv.sh mariadb [args...]        MariaDB client, root over TCP
#        testenv.sh mysql [args...]          MySQL client (chroot), root over TCP
#        testenv.sh mariadb-binlog [args...] / mysqlbinlog [args...]
#
# Environment: CDC_TEST_STATE (default <project>/tmp/testenv), CDC_TEST_PASSWORD
# (default cdc-test-pw), CDC_TEST_MARIADB_PORT (33061), CDC_TEST_MYSQL_PORT
# (33062), CDC_CACHE_DIR (default ~/.cache/libcdc, holds the MySQL chroot),
# CDC_DEBIAN_MIRROR (default http://deb.debian.org/debian).
# shellcheck disable=SC2317 # functions are reached through main and $pidfn
set -eu

self=$(readlink -f "$0")
here=$(dirname "$self")
root=$(cd "$here/../.." && pwd)
state=${CDC_TEST_STATE:-$root/tmp/testenv}
password=${CDC_TEST_PASSWORD:-cdc-test-pw}
mariadb_port=${CDC_TEST_MARIADB_PORT:-33061}
mysql_port=${CDC_TEST_MYSQL_PORT:-33062}
cache=${CDC_CACHE_DIR:-${HOME:-/root}/.cache/libcdc}
chroot_dir=$cache/mysql-sid
mirror=${CDC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
ready_timeout=60

certs=$state/certs
mdb=$state/mariadb
my=$state/mysql
# Inside the chroot the state directory is bind-mounted at /cdc and the host's
# root at /host, each in a private mount namespace (unshare -m) that dies with
# the process: nothing is left mounted, and several state directories can
# share one cached chroot.
cstate=/cdc

say() { printf 'testenv: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# ---------------------------------------------------------------- helpers

lock() {
    mkdir -p "$state"
    exec 9>"$state/lock"
    flock -w 900 9 || die "could not lock $state/lock within 900 s"
}

# True if $1 names a live process whose command is $2 (guards against a
# stale pid file whose number was reused by another process).
pid_is() {
    local pid=$1 name=$2 comm
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [ "$comm" = "$name" ]
}

readpid() { cat "$1" 2>/dev/null || true; }

log_tail() {
    say "last lines of $1:"
    tail -n 30 "$1" >&2 2>/dev/null || say "(no log)"
}

# Single-quoted shell word.
shstr() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }

# Single-quoted SQL string literal.
sqlstr() { printf "'%s'" "$(printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/''/g")"; }

# Run by "unshare -m ... sh -c" with arguments CHROOT STATE DIR COMMAND...:
# in the new mount namespace, mounts the state directory at /cdc, the host's
# root at /host and /proc, then execs COMMAND in the chroot in directory DIR.
# Every exec keeps one process from unshare to COMMAND, so a server's PID is
# the one its launcher got.
# shellcheck disable=SC2016 # expanded by that inner shell
ns_script='
    c=$1; s=$2; cwd=$3; shift 3
    mount --rbind / "$c/host" && mount --make-rslave "$c/host" &&
    mount --bind "$s" "$c/cdc" &&
    mount -t proc proc "$c/proc" || exit 125
    exec chroot "$c" /bin/sh -c "cd \"\$0\" 2>/dev/null || cd /; exec \"\$@\"" "$cwd" "$@"
'

# Runs "$@" inside the MySQL chroot in a private mount namespace, in the
# chroot's view of the caller's working directory.
in_chroot() {
    mkdir -p "$chroot_dir/cdc" "$chroot_dir/host"
    unshare -m --propagation private /bin/sh -c "$ns_script" sh "$chroot_dir" "$state" "/host$PWD" "$@"
}

# ---------------------------------------------------------------- TLS

make_certs() {
    [ -s "$certs/wrong-ca.pem" ] && return 0
    command -v openssl >/dev/null || die "openssl missing (tests/install-deps.sh test)"
    local t=$certs.tmp
    rm -rf "$t"; mkdir -p "$t"
    (
        cd "$t"
        exec >/dev/null 2>openssl.log
        # RSA 2048 + SHA-256: accepted by OpenSSL 3 at security level 2 and
        # by mbedtls 2.28.
        openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
            -subj "/CN=libcdc test CA" -keyout ca-key.pem -out ca.pem
        # SAN is DNS:localhost only, no IP: verifying the identity against
        # 127.0.0.1 must fail and against "localhost" must pass.
        printf '%s\n' "basicConstraints=CA:FALSE" \
            "keyUsage=digitalSignature,keyEncipherment" \
            "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost" >server.ext
        openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
            -keyout server-key.pem -out server.csr
        openssl x509 -req -sha256 -days 3650 -in server.csr -CA ca.pem -CAkey ca-key.pem \
            -set_serial 2 -extfile server.ext -out server-cert.pem
        printf '%s\n' "basicConstraints=CA:FALSE" \
            "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=clientAuth" >client.ext
        openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=cdc_x509" \
            -keyout client-key.pem -out client.csr
        openssl x509 -req -sha256 -days 3650 -in client.csr -CA ca.pem -CAkey ca-key.pem \
            -set_serial 3 -extfile client.ext -out client-cert.pem
        # An unrelated CA: verifying the server against it must fail.
        openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
            -subj "/CN=libcdc wrong CA" -keyout wrong-ca-key.pem -out wrong-ca.pem
        rm -f ./*.csr ./*.ext
    ) || { cat "$t/openssl.log" >&2; die "certificate generation failed"; }
    chmod 644 "$t"/*.pem
    rm -rf "$certs"; mv "$t" "$certs"
}

# wait_ready NAME LAUNCHED_PID PIDFN PROCESS LOG QUERY...: waits until QUERY
# succeeds. Gives up, stopping the server and showing its log, when neither the
# launched process nor the one in the pid file lives any more, or after
# $ready_timeout seconds.
wait_ready() {
    local name=$1 bg=$2 pidfn=$3 proc=$4 log=$5 i=0
    shift 5
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        if ! kill -0 "$bg" 2>/dev/null && [ -z "$($pidfn)" ]; then
            log_tail "$log"
            die "$name: server exited during startup"
        fi
        if [ $i -gt $((ready_timeout * 2)) ]; then
            log_tail "$log"
            stop_pid "$($pidfn)" "$proc"
            die "$name: server did not answer within $ready_timeout s"
        fi
        sleep 0.5
    done
}

# ---------------------------------------------------------------- MariaDB

mariadb_pid() { local p; p=$(readpid "$mdb/mariadbd.pid"); pid_is "$p" mariadbd && echo "$p"; }

mariadb_cli() {
    mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$mariadb_port" -uroot -p"$password" "$@"
}

mariadb_up() {
    [ -n "$(mariadb_pid)" ] &&
        mariadb --no-defaults --socket="$mdb/mariadbd.sock" -uroot -N -e 'SELECT 1' >/dev/null 2>&1
}

mariadb_conf() {
    cat >"$mdb/my.cnf" <<EOF
# Written by tests/servers/testenv.sh; rewritten on every start.
[mysqld]
log-basename=mariadb
datadir=$mdb/data
socket=$mdb/mariadbd.sock
pid-file=$mdb/mariadbd.pid
log-error=$mdb/error.log
user=root
port=$mariadb_port
bind-address=127.0.0.1
skip-name-resolve
log-bin=mariadb-bin
binlog-format=ROW
binlog-row-metadata=FULL
server-id=1
ssl-ca=$certs/ca.pem
ssl-cert=$certs/server-cert.pem
ssl-key=$certs/server-key.pem
plugin-load-add=auth_ed25519
plugin-load-add=auth_pam
pam-use-cleartext-plugin=ON
innodb-buffer-pool-size=64M
innodb-log-file-size=32M
performance-schema=OFF
EOF
}

# PAM service for cdc_clear: pam_exec hands the password the client sent in
# clear text to pam-check.sh, which compares it with $state/pam-password. The
# service name carries a hash of the state path so two state directories do
# not overwrite each other's file.
pam_service() { echo "libcdc-test-$(printf '%s' "$state" | cksum | cut -d' ' -f1)"; }

pam_setup() {
    printf '%s' "$password" >"$state/pam-password"
    chmod 600 "$state/pam-password"
    [ -d /etc/pam.d ] || return 1
    local m found=no
    for m in /lib/*/security/pam_exec.so /usr/lib/*/security/pam_exec.so /lib*/security/pam_exec.so; do
        [ -e "$m" ] && found=yes
    done
    [ $found = yes ] || return 1
    cat >"/etc/pam.d/$(pam_service)" <<EOF
# libcdc test server account cdc_clear (tests/servers/testenv.sh)
auth required pam_exec.so expose_authtok quiet $here/pam-check.sh $state/pam-password
account required pam_permit.so
EOF
}

mariadb_setup_sql() {
    local pw; pw=$(sqlstr "$password")
    cat <<EOF
DELETE FROM mysql.global_priv WHERE User = '';
FLUSH PRIVILEGES;
CREATE DATABASE IF NOT EXISTS cdc_test;
CREATE USER IF NOT EXISTS root@'%' IDENTIFIED BY $pw;
GRANT ALL PRIVILEGES ON *.* TO root@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS cdc_native@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD($pw);
CREATE USER IF NOT EXISTS cdc_ed25519@'%' IDENTIFIED VIA ed25519 USING PASSWORD($pw);
CREATE USER IF NOT EXISTS cdc_tls@'%' IDENTIFIED BY $pw REQUIRE SSL;
CREATE USER IF NOT EXISTS cdc_x509@'%' IDENTIFIED BY $pw REQUIRE X509;
CREATE USER IF NOT EXISTS cdc_repl@'%' IDENTIFIED BY $pw;
GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT ON *.* TO cdc_repl@'%';
GRANT SELECT ON cdc_test.* TO cdc_native@'%', cdc_ed25519@'%', cdc_tls@'%', cdc_x509@'%';
EOF
    if [ -e "/etc/pam.d/$(pam_service)" ]; then
        echo "CREATE USER IF NOT EXISTS cdc_clear@'%' IDENTIFIED VIA pam USING '$(pam_service)';"
        echo "GRANT SELECT ON cdc_test.* TO cdc_clear@'%';"
    fi
    # Root over the socket keeps unix_socket so this script can always get
    # in; the password is for TCP and is set last, after everything else
    # succeeded.
    echo "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD($pw);"
}

mariadb_start() {
    mkdir -p "$mdb"
    pam_setup || say "mariadb: no PAM service file; cdc_clear is not available (docs/testing.md)"
    if mariadb_up; then
        say "mariadb: reusing running server (pid $(mariadb_pid))"
        return 0
    fi
    local p; p=$(readpid "$mdb/mariadbd.pid")
    if pid_is "$p" mariadbd; then
        say "mariadb: pid $p exists but does not answer; stopping it"
        stop_pid "$p" mariadbd
    fi
    command -v mariadbd >/dev/null || PATH=$PATH:/usr/sbin
    command -v mariadbd >/dev/null || die "mariadbd missing (tests/install-deps.sh test)"
    mariadb_conf
    if [ ! -e "$mdb/data/.cdc-setup-done" ]; then
        say "mariadb: initialising $mdb/data"
        rm -rf "$mdb/data"
        mariadb-install-db --defaults-file="$mdb/my.cnf" --auth-root-authentication-method=socket \
            --skip-test-db >"$mdb/install.log" 2>&1 ||
            { log_tail "$mdb/install.log"; die "mariadb: mariadb-install-db failed"; }
    fi
    rm -f "$mdb/mariadbd.pid"
    : >"$mdb/error.log"
    say "mariadb: starting on 127.0.0.1:$mariadb_port"
    setsid mariadbd --defaults-file="$mdb/my.cnf" </dev/null >>"$mdb/error.log" 2>&1 9>&- &
    wait_ready mariadb $! mariadb_pid mariadbd "$mdb/error.log" \
        mariadb --no-defaults --socket="$mdb/mariadbd.sock" -uroot -N -e 'SELECT 1'
    if [ ! -e "$mdb/data/.cdc-setup-done" ]; then
        mariadb_setup_sql | mariadb --no-defaults --socket="$mdb/mariadbd.sock" -uroot 2>"$mdb/setup.log" ||
            { cat "$mdb/setup.log" >&2; stop_pid "$(mariadb_pid)" mariadbd; rm -rf "$mdb/data";
              die "mariadb: account setup failed"; }
        printf '%s' "$password" >"$mdb/data/.cdc-setup-done"
    fi
    [ "$(cat "$mdb/data/.cdc-setup-done")" = "$password" ] ||
        die "mariadb: datadir was set up with another CDC_TEST_PASSWORD; run 'testenv.sh clean'"
    mariadb_cli -N -e 'SELECT VERSION()' >"$mdb/version" 2>"$mdb/setup.log" ||
        { cat "$mdb/setup.log" >&2; die "mariadb: root cannot log in over TCP"; }
    echo "$PPID" >"$mdb/owner"
    say "mariadb: $(cat "$mdb/version") ready (pid $(mariadb_pid))"
}

# ---------------------------------------------------------------- MySQL

build_chroot() {
    if [ ! -x "$chroot_dir/usr/sbin/mysqld" ]; then
        command -v debootstrap >/dev/null || PATH=$PATH:/usr/sbin
        command -v debootstrap >/dev/null || die "debootstrap missing (tests/install-deps.sh test)"
        mkdir -p "$cache"
        (
            # One builder per cache directory, whatever the state directory.
            exec 8>"$cache/mysql-sid.lock"
            flock -w 1800 8 || die "could not lock $cache/mysql-sid.lock"
            [ -x "$chroot_dir/usr/sbin/mysqld" ] && exit 0
            local t=$chroot_dir.tmp
            # debootstrap mounts /proc and /sys inside the target; never
            # rm -rf a tree that still has mounts in it.
            if grep -q " $t/" /proc/mounts; then
                die "mounts remain under $t (see /proc/mounts); unmount them first"
            fi
            rm -rf "$t"
            say "mysql: building Debian sid chroot in $t (several minutes)"
            # In a private mount namespace, so whatever debootstrap mounts
            # goes away with it, even if it is interrupted.
            unshare -m --propagation private debootstrap --variant=minbase \
                --include=mysql-server-core,mysql-client-core sid "$t" "$mirror" \
                >"$cache/debootstrap.log" 2>&1 ||
                { log_tail "$cache/debootstrap.log"; die "mysql: debootstrap failed"; }
            chroot "$t" /usr/sbin/mysqld --version >/dev/null ||
                die "mysql: chroot built but mysqld does not run"
            mv "$t" "$chroot_dir"
        ) 8>&- || exit 1
    fi
    # minbase has no /etc/hosts; the client needs "localhost" to resolve to
    # connect over TCP by that name (TLS identity tests).
    [ -e "$chroot_dir/etc/hosts" ] ||
        printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' >"$chroot_dir/etc/hosts"
}

mysql_pid() { local p; p=$(readpid "$my/mysqld.pid"); pid_is "$p" mysqld && echo "$p"; }

# Root over TCP. The password goes in an option file: on the command line
# the MySQL client prints a warning on every call.
mysql_cli() {
    in_chroot mysql --defaults-file="$cstate/mysql/client.cnf" "$@"
}

mysql_client_conf() {
    local pw; pw=$(printf '%s' "$password" | sed 's/\\/\\\\/g; s/"/\\"/g')
    cat >"$my/client.cnf" <<EOF
[client]
protocol=TCP
host=127.0.0.1
port=$mysql_port
user=root
password="$pw"
EOF
    chmod 600 "$my/client.cnf"
}

# As root over the socket, with the password once setup has set it.
mysql_sock() {
    local pw=
    [ -e "$my/data/.cdc-setup-done" ] && pw=-p$(cat "$my/data/.cdc-setup-done")
    in_chroot mysql --no-defaults --socket="$cstate/mysql/mysqld.sock" -uroot ${pw:+"$pw"} "$@"
}

mysql_up() {
    [ -n "$(mysql_pid)" ] && mysql_sock -N -e 'SELECT 1' >/dev/null 2>&1
}

mysql_conf() {
    cat >"$my/my.cnf" <<EOF
# Written by tests/servers/testenv.sh; rewritten on every start. Paths are
# as seen inside the chroot, where $state is mounted at $cstate.
[mysqld]
datadir=$cstate/mysql/data
socket=$cstate/mysql/mysqld.sock
pid-file=$cstate/mysql/mysqld.pid
log-error=$cstate/mysql/error.log
user=root
port=$mysql_port
bind-address=127.0.0.1
skip-name-resolve
mysqlx=OFF
secure-file-priv=
log-bin=binlog
gtid-mode=ON
enforce-gtid-consistency=ON
binlog-row-metadata=FULL
server-id=2
ssl-ca=$cstate/certs/ca.pem
ssl-cert=$cstate/certs/server-cert.pem
ssl-key=$cstate/certs/server-key.pem
innodb-buffer-pool-size=64M
innodb-redo-log-capacity=64M
performance-schema=OFF
EOF
}

mysql_setup_sql() {
    local pw; pw=$(sqlstr "$password")
    cat <<EOF
CREATE DATABASE IF NOT EXISTS cdc_test;
CREATE USER IF NOT EXISTS root@'%' IDENTIFIED BY $pw;
GRANT ALL PRIVILEGES ON *.* TO root@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS cdc_sha2@'%' IDENTIFIED WITH caching_sha2_password BY $pw;
CREATE USER IF NOT EXISTS cdc_tls@'%' IDENTIFIED BY $pw REQUIRE SSL;
CREATE USER IF NOT EXISTS cdc_x509@'%' IDENTIFIED BY $pw REQUIRE X509;
CREATE USER IF NOT EXISTS cdc_repl@'%' IDENTIFIED BY $pw;
GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO cdc_repl@'%';
GRANT SELECT ON cdc_test.* TO cdc_sha2@'%', cdc_tls@'%', cdc_x509@'%';
EOF
    if [ "$1" = yes ]; then
        echo "CREATE USER IF NOT EXISTS cdc_sha256@'%' IDENTIFIED WITH sha256_password BY $pw;"
        echo "GRANT SELECT ON cdc_test.* TO cdc_sha256@'%';"
    fi
    echo "ALTER USER root@localhost IDENTIFIED BY $pw;"
}

mysql_start() {
    mkdir -p "$my"
    mysql_client_conf
    if mysql_up; then
        say "mysql: reusing running server (pid $(mysql_pid))"
        return 0
    fi
    local p; p=$(readpid "$my/mysqld.pid")
    if pid_is "$p" mysqld; then
        say "mysql: pid $p exists but does not answer; stopping it"
        stop_pid "$p" mysqld
    fi
    build_chroot
    mysql_conf
    if [ ! -e "$my/data/.cdc-setup-done" ]; then
        say "mysql: initialising $my/data"
        rm -rf "$my/data"
        : >"$my/error.log"
        in_chroot mysqld --defaults-file="$cstate/mysql/my.cnf" --initialize-insecure \
            </dev/null >"$my/install.log" 2>&1 ||
            { log_tail "$my/error.log"; log_tail "$my/install.log"; die "mysql: mysqld --initialize-insecure failed"; }
    fi
    rm -f "$my/mysqld.pid"
    : >"$my/error.log"
    say "mysql: starting on 127.0.0.1:$mysql_port"
    # A plain command, not in_chroot: a function run in the background would
    # leave a bash process behind holding the caller's file descriptors.
    mkdir -p "$chroot_dir/cdc" "$chroot_dir/host"
    setsid unshare -m --propagation private /bin/sh -c "$ns_script" sh "$chroot_dir" "$state" / \
        mysqld --defaults-file="$cstate/mysql/my.cnf" </dev/null >>"$my/console.log" 2>&1 9>&- &
    wait_ready mysql $! mysql_pid mysqld "$my/error.log" mysql_sock -N -e 'SELECT 1'
    if [ ! -e "$my/data/.cdc-setup-done" ]; then
        local sha256=no
        mysql_sock -N -e "SELECT 1 FROM information_schema.PLUGINS WHERE PLUGIN_NAME='sha256_password' AND PLUGIN_STATUS='ACTIVE'" \
            2>/dev/null | grep -q 1 && sha256=yes
        mysql_setup_sql $sha256 | mysql_sock 2>"$my/setup.log" ||
            { cat "$my/setup.log" >&2; stop_pid "$(mysql_pid)" mysqld; rm -rf "$my/data";
              die "mysql: account setup failed"; }
        printf '%s' "$password" >"$my/data/.cdc-setup-done"
    fi
    [ "$(cat "$my/data/.cdc-setup-done")" = "$password" ] ||
        die "mysql: datadir was set up with another CDC_TEST_PASSWORD; run 'testenv.sh clean'"
    mysql_cli -N -e 'SELECT VERSION()' >"$my/version" 2>"$my/setup.log" ||
        { cat "$my/setup.log" >&2; die "mysql: root cannot log in over TCP"; }
    echo "$PPID" >"$my/owner"
    say "mysql: $(cat "$my/version") ready (pid $(mysql_pid))"
}

# ---------------------------------------------------------------- stop

stop_pid() {
    local pid=$1 name=$2 i=0
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    while pid_is "$pid" "$name"; do
        i=$((i + 1))
        if [ $i -eq $((ready_timeout * 2)) ]; then
            say "$name (pid $pid) ignored SIGTERM for $ready_timeout s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.5
    done
}

# stop_server NAME DIR PIDFN PROCESS FORCE: only the server this caller's
# parent started (run.sh's start/stop pair), unless forced, so a test run
# never stops servers someone else started and is still using.
stop_server() {
    local name=$1 dir=$2 pid owner
    pid=$($3) || true
    if [ -z "$pid" ]; then
        rm -f "$dir/owner"
        if [ "$name" = mariadb ]; then rm -f "/etc/pam.d/$(pam_service)"; fi
        return 0
    fi
    owner=$(cat "$dir/owner" 2>/dev/null || true)
    if [ "$5" != yes ] && [ "$owner" != "$PPID" ]; then
        say "$name: left running (started by process ${owner:-?}, not by this caller; 'stop --force' stops it)"
        return 0
    fi
    say "$name: stopping pid $pid"
    stop_pid "$pid" "$4"
    rm -f "$dir/owner"
    if [ "$name" = mariadb ]; then rm -f "/etc/pam.d/$(pam_service)"; fi
}

# ---------------------------------------------------------------- env file

write_env() {
    local up="" f=$state/env.sh
    [ -n "$(mariadb_pid)" ] && up="mariadb"
    [ -n "$(mysql_pid)" ] && up="${up:+$up }mysql"
    {
        echo "# Written by tests/servers/testenv.sh $(date -u +%FT%TZ); source it."
        echo "export CDC_TEST_TESTENV=$(shstr "$self")"
        echo "export CDC_TEST_STATE=$(shstr "$state")"
        echo "export CDC_TEST_SERVERS=$(shstr "$up")"
        echo "export CDC_TEST_ROOT_USER=root"
        echo "export CDC_TEST_PASSWORD=$(shstr "$password")"
        echo "export CDC_TEST_TLS_CA=$(shstr "$certs/ca.pem")"
        echo "export CDC_TEST_TLS_CLIENT_CERT=$(shstr "$certs/client-cert.pem")"
        echo "export CDC_TEST_TLS_CLIENT_KEY=$(shstr "$certs/client-key.pem")"
        echo "export CDC_TEST_TLS_WRONG_CA=$(shstr "$certs/wrong-ca.pem")"
        echo "export CDC_TEST_MARIADB_HOST=127.0.0.1"
        echo "export CDC_TEST_MARIADB_PORT=$mariadb_port"
        echo "export CDC_TEST_MARIADB_SOCKET=$(shstr "$mdb/mariadbd.sock")"
        echo "export CDC_TEST_MARIADB_DATADIR=$(shstr "$mdb/data")"
        echo "export CDC_TEST_MARIADB_VERSION=$(shstr "$(cat "$mdb/version" 2>/dev/null || true)")"
        echo "export CDC_TEST_MARIADB_PAM=$([ -e "/etc/pam.d/$(pam_service)" ] && echo 1 || echo 0)"
        echo "export CDC_TEST_MYSQL_HOST=127.0.0.1"
        echo "export CDC_TEST_MYSQL_PORT=$mysql_port"
        echo "export CDC_TEST_MYSQL_SOCKET=$(shstr "$my/mysqld.sock")"
        echo "export CDC_TEST_MYSQL_DATADIR=$(shstr "$my/data")"
        echo "export CDC_TEST_MYSQL_CHROOT=$(shstr "$chroot_dir")"
        echo "export CDC_TEST_MYSQL_VERSION=$(shstr "$(cat "$my/version" 2>/dev/null || true)")"
        echo "export CDC_TEST_MYSQL_RSA_PUBKEY=$(shstr "$my/data/public_key.pem")"
    } >"$f.tmp"
    mv "$f.tmp" "$f"
}

# ---------------------------------------------------------------- binlog tools

# Argument that names an existing file relative to neither the caller's
# directory nor an absolute path, but to the datadir: map it there.
datadir_arg() {
    local dir=$1 a=$2
    case $a in
    -*|/*) printf '%s' "$a" ;;
    *) if [ ! -e "$a" ] && [ -e "$dir/$a" ]; then printf '%s' "$dir/$a"; else printf '%s' "$a"; fi ;;
    esac
}

# Host absolute paths become /host/... inside the chroot, also in --opt=/path.
# Only paths whose directory exists on the host: an SQL text such as
# "/* comment */ SELECT 1" stays as it is.
chroot_arg() {
    local v
    case $1 in
    /*) v=$1 ;;
    --*=/*) v=${1#*=} ;;
    *) printf '%s' "$1"; return ;;
    esac
    if [ -d "$(dirname "$v")" ]; then printf '%s' "${1%"$v"}/host$v"; else printf '%s' "$1"; fi
}

# ---------------------------------------------------------------- check

# expect ok|fail DESCRIPTION COMMAND...: runs a client login, counts failures.
check_fail=0
expect() {
    local want=$1 what=$2 out rc=0
    shift 2
    out=$("$@" 2>&1) || rc=$?
    # The MySQL client warns about -p on the command line; that is noise.
    out=$(printf '%s\n' "$out" | grep -v 'Using a password on the command line' || true)
    if { [ "$want" = ok ] && [ $rc -eq 0 ]; } || { [ "$want" = fail ] && [ $rc -ne 0 ]; }; then
        printf '  ok    %s\n' "$what"
        # For an expected failure, show why, so a failure for the wrong
        # reason is visible.
        [ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/          /'
    else
        printf '  FAIL  %s (expected %s, exit %d)\n' "$what" "$want" "$rc"
        printf '%s\n' "$out" | sed 's/^/          /'
        check_fail=$((check_fail + 1))
    fi
    return 0
}

check_mariadb() {
    echo "mariadb $(cat "$mdb/version") on 127.0.0.1:$mariadb_port"
    local c="mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P$mariadb_port -p$password -N"
    local q="SELECT CURRENT_USER(), IFNULL((SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME='Ssl_version'),'')"
    local tls="--ssl --ssl-ca=$certs/ca.pem"
    local x509="--ssl-cert=$certs/client-cert.pem --ssl-key=$certs/client-key.pem"
    expect ok   "root, TLS"                  $c -uroot $tls -e "$q; SHOW MASTER STATUS"
    expect ok   "cdc_native, no TLS"         $c -ucdc_native --skip-ssl -e "$q"
    expect ok   "cdc_ed25519, no TLS"        $c -ucdc_ed25519 --skip-ssl -e "$q"
    expect fail "cdc_ed25519, wrong password" mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$mariadb_port" -pwrong -ucdc_ed25519 --skip-ssl -e "$q"
    if [ -e "/etc/pam.d/$(pam_service)" ]; then
        expect ok   "cdc_clear (PAM, clear text), TLS" $c -ucdc_clear $tls -e "$q"
        expect fail "cdc_clear, wrong password" mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$mariadb_port" -pwrong -ucdc_clear $tls -e "$q"
    else
        echo "  skip  cdc_clear: no PAM service (see docs/testing.md)"
        check_fail=$((check_fail + 1))
    fi
    expect ok   "cdc_tls, TLS"               $c -ucdc_tls $tls -e "$q"
    expect fail "cdc_tls, no TLS"            $c -ucdc_tls --skip-ssl -e "$q"
    expect ok   "cdc_x509, TLS + client cert" $c -ucdc_x509 $tls $x509 -e "$q"
    expect fail "cdc_x509, TLS without client cert" $c -ucdc_x509 $tls -e "$q"
    expect ok   "verify identity: localhost" mariadb --no-defaults --protocol=TCP -hlocalhost -P"$mariadb_port" -p"$password" -N -ucdc_tls $tls --ssl-verify-server-cert -e "$q"
    expect fail "verify identity: 127.0.0.1" $c -ucdc_tls $tls --ssl-verify-server-cert -e "$q"
    expect fail "verify against wrong CA"    mariadb --no-defaults --protocol=TCP -hlocalhost -P"$mariadb_port" -p"$password" -N -ucdc_tls --ssl --ssl-ca="$certs/wrong-ca.pem" --ssl-verify-server-cert -e "$q"
    expect ok   "cdc_repl: binlog position"  $c -ucdc_repl -e "SHOW MASTER STATUS; SHOW BINARY LOGS; SELECT @@gtid_binlog_pos"
    expect fail "cdc_repl: cannot write"     $c -ucdc_repl -e "CREATE TABLE cdc_test.repl_must_not_write (a INT)"
    # The privileges suffice for a binlog dump (COM_BINLOG_DUMP), which is
    # what a CDC client does.
    expect ok   "cdc_repl: binlog dump"      sh -c "mariadb-binlog --no-defaults --read-from-remote-server --protocol=TCP \
        -h127.0.0.1 -P$mariadb_port -ucdc_repl -p'$password' mariadb-bin.000001 | grep -c '^# at' | sed 's/^/events: /' | grep -v ': 0\$'"
}

check_mysql() {
    echo "mysql $(cat "$my/version") on 127.0.0.1:$mysql_port"
    local cc="$certs" c
    # The chroot sees host paths under /host.
    cc=/host$certs
    c="in_chroot mysql --no-defaults --protocol=TCP -h127.0.0.1 -P$mysql_port -p$password -N"
    local q="SELECT CURRENT_USER(), IFNULL((SELECT VARIABLE_VALUE FROM performance_schema.session_status WHERE VARIABLE_NAME='Ssl_version'),'')"
    q="SELECT CURRENT_USER()"
    local tls="--ssl-mode=VERIFY_CA --ssl-ca=$cc/ca.pem"
    local x509="--ssl-cert=$cc/client-cert.pem --ssl-key=$cc/client-key.pem"
    local rsa="--server-public-key-path=/host$my/data/public_key.pem"
    expect ok   "root, TLS"                  $c -uroot $tls -e "$q; SHOW BINARY LOG STATUS"
    # Without TLS, caching_sha2_password's full authentication needs the
    # server's RSA public key; FLUSH PRIVILEGES empties the server's cache of
    # password hashes so the next login takes that path, not the fast one.
    $c -uroot -e "FLUSH PRIVILEGES" 2>/dev/null
    expect ok   "cdc_sha2, no TLS, RSA key"  in_chroot mysql --no-defaults --protocol=TCP -h127.0.0.1 -P"$mysql_port" -p"$password" -N -ucdc_sha2 --ssl-mode=DISABLED $rsa -e "$q"
    expect ok   "cdc_sha2, TLS"              $c -ucdc_sha2 $tls -e "$q"
    expect fail "cdc_sha2, wrong password"   in_chroot mysql --no-defaults --protocol=TCP -h127.0.0.1 -P"$mysql_port" -pwrong -N -ucdc_sha2 $tls -e "$q"
    if $c -uroot -e "SELECT 1 FROM mysql.user WHERE user='cdc_sha256'" 2>/dev/null | grep -q 1; then
        expect ok   "cdc_sha256, no TLS, RSA key" in_chroot mysql --no-defaults --protocol=TCP -h127.0.0.1 -P"$mysql_port" -p"$password" -N -ucdc_sha256 --ssl-mode=DISABLED $rsa -e "$q"
        expect ok   "cdc_sha256, TLS"        $c -ucdc_sha256 $tls -e "$q"
    else
        echo "  skip  cdc_sha256: sha256_password not available in this server"
    fi
    expect ok   "cdc_tls, TLS"               $c -ucdc_tls $tls -e "$q"
    expect fail "cdc_tls, no TLS"            $c -ucdc_tls --ssl-mode=DISABLED $rsa -e "$q"
    expect ok   "cdc_x509, TLS + client cert" $c -ucdc_x509 $tls $x509 -e "$q"
    expect fail "cdc_x509, TLS without client cert" $c -ucdc_x509 $tls -e "$q"
    expect ok   "verify identity: localhost" in_chroot mysql --no-defaults --protocol=TCP -hlocalhost -P"$mysql_port" -p"$password" -N -ucdc_tls --ssl-mode=VERIFY_IDENTITY --ssl-ca="$cc/ca.pem" -e "$q"
    expect fail "verify identity: 127.0.0.1" $c -ucdc_tls --ssl-mode=VERIFY_IDENTITY --ssl-ca="$cc/ca.pem" -e "$q"
    expect fail "verify against wrong CA"    in_chroot mysql --no-defaults --protocol=TCP -hlocalhost -P"$mysql_port" -p"$password" -N -ucdc_tls --ssl-mode=VERIFY_CA --ssl-ca="$cc/wrong-ca.pem" -e "$q"
    expect ok   "cdc_repl: binlog position"  $c -ucdc_repl $tls -e "SHOW BINARY LOG STATUS; SHOW BINARY LOGS; SELECT @@gtid_executed"
    expect fail "cdc_repl: cannot write"     $c -ucdc_repl $tls -e "CREATE TABLE cdc_test.repl_must_not_write (a INT)"
    expect ok   "cdc_repl: binlog dump (GTID)" sh -c "'$self' mysqlbinlog --read-from-remote-source=BINLOG-DUMP-GTIDS \
        --protocol=TCP -h127.0.0.1 -P$mysql_port -ucdc_repl -p'$password' --ssl-mode=REQUIRED binlog.000001 2>&1 |
        grep -v 'Using a password' | grep -c '^# at' | sed 's/^/events: /' | grep -v ': 0\$'"
}

# ---------------------------------------------------------------- main

which_servers() {
    case ${1:-} in
    "") echo "mariadb mysql" ;;
    mariadb|mysql) echo "$1" ;;
    *) die "unknown server '$1' (mariadb or mysql)" ;;
    esac
}

# Everything below runs from main, called on the script's last line together
# with exit: bash reads a script as it runs, so a script edited (or updated by
# git) while a long start is in progress must not go on reading new text.
main() {
    cmd=${1:-}
    [ $# -gt 0 ] && shift
    case $cmd in
    start)
        [ "$(id -u)" -eq 0 ] || die "must run as root (chroot, mounts, PAM service file)"
        servers=$(which_servers "${1:-}")
        lock
        make_certs
        rc=0
        for s in $servers; do
            ( "${s}_start" ) || rc=1
        done
        write_env
        [ $rc -eq 0 ] || die "not every server started; see the log lines above"
        ;;
    stop)
        force=no srv=""
        for a in "$@"; do
            case $a in --force) force=yes ;; *) srv=$a ;; esac
        done
        servers=$(which_servers "$srv")
        lock
        for s in $servers; do
            case $s in
            mariadb) stop_server mariadb "$mdb" mariadb_pid mariadbd $force ;;
            mysql) stop_server mysql "$my" mysql_pid mysqld $force ;;
            esac
        done
        write_env
        ;;
    restart)
        # For fault tests: the server goes away under its clients and comes
        # back with the same data. Whoever started it still owns it.
        [ "$(id -u)" -eq 0 ] || die "must run as root (chroot, mounts, PAM service file)"
        case ${1:-} in mariadb) dir=$mdb ;; mysql) dir=$my ;; *) die "restart needs mariadb or mysql" ;; esac
        lock
        make_certs
        owner=$(cat "$dir/owner" 2>/dev/null || true)
        stop_pid "$("${1}_pid")" "${1}d"
        rc=0
        ( "${1}_start" ) || rc=1
        [ -z "$owner" ] || echo "$owner" >"$dir/owner"
        write_env
        [ $rc -eq 0 ] || die "$1: restart failed; see the log lines above"
        ;;
    status)
        p=$(mariadb_pid) || true
        if [ -n "$p" ]; then echo "mariadb: running, pid $p, 127.0.0.1:$mariadb_port, $(cat "$mdb/version" 2>/dev/null)"
        else echo "mariadb: stopped"; fi
        p=$(mysql_pid) || true
        if [ -n "$p" ]; then echo "mysql: running, pid $p, 127.0.0.1:$mysql_port, $(cat "$my/version" 2>/dev/null)"
        else echo "mysql: stopped"; fi
        echo "state: $state"
        [ -n "$(mariadb_pid)$(mysql_pid)" ]
        ;;
    envfile)
        [ -e "$state/env.sh" ] || die "no env file; run 'testenv.sh start' first"
        echo "$state/env.sh"
        ;;
    check)
        [ -n "$(mariadb_pid)$(mysql_pid)" ] || die "no server running; run 'testenv.sh start' first"
        if [ -n "$(mariadb_pid)" ]; then check_mariadb; fi
        if [ -n "$(mysql_pid)" ]; then check_mysql; fi
        if [ $check_fail -ne 0 ]; then die "check: $check_fail failed"; fi
        echo "check: all passed"
        ;;
    clean)
        lock
        stop_server mariadb "$mdb" mariadb_pid mariadbd yes
        stop_server mysql "$my" mysql_pid mysqld yes
        rm -rf "$mdb" "$my" "$state/env.sh" "$state/pam-password"
        say "removed server data under $state (certificates kept)"
        ;;
    mariadb)
        [ -n "$(mariadb_pid)" ] || die "mariadb is not running"
        exec mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$mariadb_port" -uroot -p"$password" "$@"
        ;;
    mysql)
        [ -n "$(mysql_pid)" ] || die "mysql is not running"
        args=()
        for a in "$@"; do args+=("$(chroot_arg "$a")"); done
        mysql_cli "${args[@]}"
        ;;
    mariadb-binlog|mysqlbinlog)
        # Reading from a server, the file arguments are log names on the server,
        # not paths to map.
        remote=no
        for a in "$@"; do
            case $a in -R|--read-from-remote-server|--read-from-remote-source*) remote=yes ;; esac
        done
        args=()
        if [ "$cmd" = mariadb-binlog ]; then
            for a in "$@"; do
                [ $remote = no ] && a=$(datadir_arg "$mdb/data" "$a")
                args+=("$a")
            done
            exec mariadb-binlog --no-defaults "${args[@]}"
        fi
        build_chroot
        for a in "$@"; do
            [ $remote = no ] && a=$(datadir_arg "$my/data" "$a")
            args+=("$(chroot_arg "$a")")
        done
        in_chroot mysqlbinlog --no-defaults "${args[@]}"
        ;;
    *)
        sed -n '2,/^set -eu/p' "$self" | sed '$d; s/^# \{0,1\}//' >&2
        exit 2
        ;;
    esac
}

main "$@"; exit $?
