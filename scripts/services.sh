#!/usr/bin/env bash
# The services Attain's tests use: PostgreSQL and Chromium from Debian's
# packages, and a throwaway PostgreSQL cluster on 127.0.0.1.
#
# scripts/test sources this file. Run it directly for a cluster of your own:
#
#   scripts/services.sh install          # the Debian packages, if missing
#   eval "$(scripts/services.sh start)"  # exports ATTAIN_TEST_POSTGRES_URL
#   scripts/services.sh stop             # stops the cluster in ATTAIN_PG_DIR

_services_say() {
    printf 'services: %s\n' "$*" >&2
}

_services_apt_updated=""

_services_apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        _services_say "installing $* needs root: apt-get install $*"
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    if [ -z "$_services_apt_updated" ]; then
        apt-get update -q >&2 || return 1
        _services_apt_updated=1
    fi
    apt-get install -y -q "$@" >&2
}

# The bin directory of the newest PostgreSQL installed, if any.
pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] || return 1
    printf '%s\n' "$dir"
}

ensure_postgres_installed() {
    pg_bindir >/dev/null && return 0
    _services_say "installing PostgreSQL from Debian's packages"
    _services_apt_install postgresql || return 1
    pg_bindir >/dev/null
}

# The report tests drive Chromium through chromedriver; outside CI a
# failed install only warns, and those tests skip.
ensure_chromium_installed() {
    [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && return 0
    _services_say "installing Chromium from Debian's packages"
    _services_apt_install chromium chromium-driver && return 0
    if [ "${CI:-}" = "true" ]; then
        _services_say "Chromium could not be installed"
        return 1
    fi
    _services_say "warning: Chromium could not be installed; going on"
}

# Run a PostgreSQL program in DIR as the cluster's owner: initdb refuses
# to run as root, so root hands the cluster to the postgres user.
_pg_run() {
    local dir=$1
    shift
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

_free_port() {
    python3 -c 'import socket
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])'
}

# Start a cluster for this test run only; set and export ATTAIN_PG_DIR
# (stop it with postgres_stop) and ATTAIN_TEST_POSTGRES_URL.
postgres_start() {
    local bindir dir port options
    bindir=$(pg_bindir) || {
        _services_say "PostgreSQL is not installed"
        return 1
    }
    if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
        _services_say "the postgres user is missing; reinstall postgresql"
        return 1
    fi

    dir=$(mktemp -d "${TMPDIR:-/tmp}/attain-pg.XXXXXX") || return 1
    export ATTAIN_PG_DIR=$dir
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
    fi
    if ! _pg_run "$dir" "$bindir/initdb" -D "$dir/data" -U postgres \
        -A trust --no-locale -E UTF8 --no-sync >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        return 1
    fi

    # A port found free may be taken before the server binds it: retry.
    for _ in 1 2 3; do
        port=$(_free_port) || return 1
        options="-c listen_addresses=127.0.0.1 -p $port"
        options+=" -c unix_socket_directories=$dir"
        options+=" -c fsync=off -c synchronous_commit=off"
        options+=" -c full_page_writes=off"
        if _pg_run "$dir" "$bindir/pg_ctl" -D "$dir/data" \
            -l "$dir/server.log" -o "$options" -w -t 60 start >/dev/null
        then
            break
        fi
        port=""
    done
    if [ -z "$port" ]; then
        _services_say "PostgreSQL did not start; its log follows"
        cat "$dir/server.log" >&2
        return 1
    fi

    _pg_run "$dir" "$bindir/createdb" -h 127.0.0.1 -p "$port" \
        -U postgres attain || return 1
    ATTAIN_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port"
    export ATTAIN_TEST_POSTGRES_URL+="/attain"
    _services_say "PostgreSQL listening on 127.0.0.1:$port"
}

# Stop the cluster in DIR (default: ATTAIN_PG_DIR) and delete it.
postgres_stop() {
    local dir=${1:-${ATTAIN_PG_DIR:-}}
    local bindir
    [ -n "$dir" ] && [ -d "$dir" ] || return 0
    case "$dir" in
        */attain-pg.*) ;;
        *)
            _services_say "not a cluster of ours, left alone: $dir"
            return 1
            ;;
    esac

    if [ -f "$dir/data/postmaster.pid" ] && bindir=$(pg_bindir); then
        _pg_run "$dir" "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop \
            >/dev/null 2>&1 ||
            _pg_run "$dir" "$bindir/pg_ctl" -D "$dir/data" -m immediate \
                stop >/dev/null 2>&1 || true
    fi
    rm -rf -- "$dir"
}

_services_main() {
    set -euo pipefail
    case "${1:-}" in
        install)
            ensure_postgres_installed
            ensure_chromium_installed
            ;;
        start)
            postgres_start
            printf 'export ATTAIN_PG_DIR=%q\n' "$ATTAIN_PG_DIR"
            printf 'export ATTAIN_TEST_POSTGRES_URL=%q\n' \
                "$ATTAIN_TEST_POSTGRES_URL"
            ;;
        stop)
            postgres_stop "${2:-}"
            ;;
        *)
            echo "usage: $0 install | start | stop [DIR]" >&2
            return 2
            ;;
    esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    _services_main "$@"
fi
