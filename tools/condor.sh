#!/usr/bin/env bash
# A real personal HTCondor pool on 127.0.0.1, for the tests and by hand: Debian trixie's condor
# (23.9; bookworm has none) in a debootstrap chroot. Based on shared/reference/batch-systems.md §2.
#
#   bash tools/condor.sh up       build the chroot if needed (first time: debootstrap from the
#                                 default Debian mirror, ~1 min), mount, start (idempotent)
#   bash tools/condor.sh down     stop the daemons (by pid, waits) and unmount; the chroot stays
#   bash tools/condor.sh status   exit 0 if the pool is up and answers, 1 if not
#
# Environment: LRT_CONDOR_ROOT (default /var/tmp/lrt-condor) holds the chroot ($ROOT/trixie,
# kept between sessions) and the work dir ($ROOT/work, mode 1777), which is bind-mounted at the
# same path inside the chroot: submission folders must lie in it, so that every path is the
# same inside and outside. Jobs are submitted as the chroot's user `tester` (uid 2000; root is
# refused by the schedd):
#   env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/home/tester \
#       chroot --userspec=tester:tester $ROOT/trixie condor_submit JOB.sub
# Needs root; installs debootstrap with apt-get if it is missing. Never `rm -rf $ROOT` while
# it is up: `down` first (it unmounts the binds).
set -euo pipefail

ROOT=$(realpath -m "${LRT_CONDOR_ROOT:-/var/tmp/lrt-condor}")
R=$ROOT/trixie
W=$ROOT/work
BUILT=$R/etc/lrt-condor-built
PIDFILE=$R/run/condor/master.pid # /var/run is an absolute symlink to /run inside
SUITE=trixie
PACKAGES="condor python3"
export PATH=$PATH:/usr/sbin:/sbin

log() { echo "condor.sh: $*" >&2; }

# A command inside the chroot, with none of the host's environment (TMPDIR, PYTHONPATH... break it).
in_root() { env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 chroot "$R" "$@"; }
ask_root() { timeout 10 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 chroot "$R" "$@"; }
as_tester() { # at most 10 s
    timeout 10 env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/home/tester LANG=C.UTF-8 \
        chroot --userspec=tester:tester "$R" "$@"
}

alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

master_pid() { # the pid of this chroot's condor_master, if it runs
    local pid
    [ -f "$PIDFILE" ] || return 1
    pid=$(tr -dc 0-9 <"$PIDFILE")
    [ -n "$pid" ] && alive "$pid" || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = condor_master ] || return 1
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$R" ] || return 1
    echo "$pid"
}

# Every process whose root directory is this chroot (daemons, procd, starters, jobs).
chroot_pids() {
    local dir
    for dir in /proc/[0-9]*; do
        [ "$(readlink "$dir/root" 2>/dev/null)" = "$R" ] && alive "${dir#/proc/}" && echo "${dir#/proc/}"
    done
    return 0
}

# Mount points at or below $R, deepest first.
mounts_under() {
    awk -v r="$R" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

answers() {
    master_pid >/dev/null || return 1
    [ -n "$(ask_root condor_status -af Name 2>/dev/null)" ] || return 1
    as_tester condor_q -totals >/dev/null 2>&1
}

build() {
    local t0=$SECONDS m
    if [ -e "$R" ]; then # a build that did not finish: start it afresh
        for m in $(mounts_under); do umount "$m" || true; done
        if [ -n "$(mounts_under)" ]; then
            log "$R has mounts left ($(mounts_under | tr '\n' ' ')); not removing it"
            return 1
        fi
        log "removing the unfinished chroot $R"
        rm -rf --one-file-system "$R"
    fi
    if ! command -v debootstrap >/dev/null; then
        command -v apt-get >/dev/null || {
            log "debootstrap is not installed and there is no apt-get"
            return 1
        }
        log "installing debootstrap"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    fi
    mkdir -p "$ROOT"
    log "debootstrap $SUITE into $R"
    debootstrap --variant=minbase "$SUITE" "$R" >"$ROOT/debootstrap.log" 2>&1 || {
        tail -n 20 "$ROOT/debootstrap.log" >&2
        return 1
    }
    log "debootstrap took $((SECONDS - t0)) s"
    cp /etc/resolv.conf "$R/etc/resolv.conf"
    printf '#!/bin/sh\nexit 101\n' >"$R/usr/sbin/policy-rc.d" # no service starts in apt
    chmod +x "$R/usr/sbin/policy-rc.d"
    log "apt-get install $PACKAGES (in the chroot)"
    # shellcheck disable=SC2016
    in_root sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $0 && apt-get clean' "$PACKAGES" \
        >"$ROOT/apt.log" 2>&1 || {
        tail -n 20 "$ROOT/apt.log" >&2
        return 1
    }
    in_root id tester >/dev/null 2>&1 || in_root useradd -m -u 2000 tester
    cat >"$R/etc/condor/condor_config.local" <<'EOF'
# Written by tools/condor.sh: a personal pool on loopback only, quick to schedule.
use ROLE : Personal
CONDOR_HOST = 127.0.0.1
COLLECTOR_HOST = 127.0.0.1:9618
NETWORK_INTERFACE = 127.0.0.1
BIND_ALL_INTERFACES = False
ENABLE_IPV6 = False
NUM_CPUS = 2
# the starter cannot unshare its mount namespace in a chroot (jobs would go Held)
MOUNT_UNDER_SCRATCH =
SCHEDD_INTERVAL = 5
NEGOTIATOR_INTERVAL = 2
NEGOTIATOR_MIN_INTERVAL = 1
NEGOTIATOR_CYCLE_DELAY = 1
UPDATE_INTERVAL = 5
STARTER_UPDATE_INTERVAL = 5
SEC_DEFAULT_AUTHENTICATION_METHODS = FS, CLAIMTOBE
EOF
    date -u +%FT%TZ >"$BUILT"
    log "chroot built in $((SECONDS - t0)) s ($(du -sm --one-file-system "$R" | cut -f1) MB)"
}

up() {
    local i t0=$SECONDS
    [ "$(id -u)" = 0 ] || {
        log "needs root (debootstrap, mount, chroot)"
        return 1
    }
    if answers; then
        log "already up ($R)"
        return 0
    fi
    [ -f "$BUILT" ] || build
    # A master that does not answer (or stale pidfiles): stop it, start afresh.
    stop_daemons
    mkdir -p "$W" "$R$W"
    chmod 1777 "$W"
    mountpoint -q "$R/proc" || mount -t proc proc "$R/proc"
    mountpoint -q "$R$W" || mount --bind "$W" "$R$W"
    in_root condor_master -pidfile /run/condor/master.pid </dev/null >/dev/null 2>&1 || true
    for ((i = 0; i < 150; i++)); do # 30 s
        if answers; then
            log "up in $((SECONDS - t0)) s: $R, work dir $W, collector 127.0.0.1:9618"
            return 0
        fi
        sleep 0.2
    done
    log "condor did not come up in 30 s; MasterLog:"
    tail -n 20 "$R/var/log/condor/MasterLog" >&2 2>/dev/null || true
    down
    return 1
}

stop_daemons() {
    local pid i
    if pid=$(master_pid); then # SIGTERM: the master stops its daemons and their jobs
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
            alive "$pid" || break
            sleep 0.1
        done
    fi
    rm -f "$PIDFILE"
    for ((i = 0; i < 50; i++)); do
        [ -z "$(chroot_pids)" ] && return 0
        sleep 0.1
    done
    for pid in $(chroot_pids); do
        log "killing a leftover process of the chroot ($pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))"
        kill -KILL "$pid" 2>/dev/null || true
    done
    for ((i = 0; i < 50; i++)); do
        [ -z "$(chroot_pids)" ] && return 0
        sleep 0.1
    done
    log "processes of the chroot survived SIGKILL: $(chroot_pids | tr '\n' ' ')"
    return 1
}

down() {
    local m
    [ -d "$R" ] || return 0
    stop_daemons || true
    for m in "$R$W" "$R/proc"; do
        if mountpoint -q "$m"; then
            umount "$m" || {
                log "cannot unmount $m"
                return 1
            }
        fi
    done
    return 0
}

status() {
    local pid
    pid=$(master_pid || echo -)
    echo "chroot $R ($([ -f "$BUILT" ] && echo "built $(cat "$BUILT")" || echo "not built")); work dir $W; condor_master pid $pid"
    if answers; then
        ask_root condor_status 2>/dev/null || true
        return 0
    fi
    echo "not up"
    return 1
}

case "${1:-}" in
    up | down | status) "$1" ;;
    *)
        echo "usage: $0 up|down|status" >&2
        exit 2
        ;;
esac
