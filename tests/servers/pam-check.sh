#!/bin/sh
# PAM helper for the MariaDB test account cdc_clear (see testenv.sh): pam_exec
# with expose_authtok writes the password the client sent, NUL-terminated, to
# our stdin; succeed only if it equals the contents of the file named by $1.
# Nothing is logged: the password must not end up in a log.
set -u
expected=$(cat "$1") || exit 1
got=$(tr -d '\000') || exit 1
[ "$got" = "$expected" ]
