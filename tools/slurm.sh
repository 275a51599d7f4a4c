#!/usr/bin/env bash
# A real single-node Slurm (slurmctld + slurmd) on loopback, for the tests and by hand.
#
#   bash tools/slurm.sh up       start it (idempotent); prints `export SLURM_CONF=...` on stdout
#   bash tools/slurm.sh down     stop it (by pid, waits; cancels its jobs first)
#   bash tools/slurm.sh status   exit 0 if it is up and answers, 1 if not
#
# Environment: LRT_SLURM_DIR (default ${TMPDIR:-/tmp}/lrt-slurm) holds the config, state, spool,
# pidfiles and logs; LRT_SLURM_PORTS="6817 6818" (slurmctld, slurmd).
# No munge (auth/none), no slurmdbd (jobcomp/filetxt; finished jobs stay in `scontrol show job`
# for MinJobAge=600 s). Needs root and the Debian packages slurmctld slurmd slurm-client, which
# this script never installs (.ci/run does). Based on shared/reference/batch-systems.md section 1.
set -euo pipefail

D=${LRT_SLURM_DIR:-${TMPDIR:-/tmp}/lrt-slurm}
read -r CTLD_PORT SLURMD_PORT _ <<<"${LRT_SLURM_PORTS:-6817 6818} _"
CONF=$D/slurm.conf
export SLURM_CONF=$CONF
export PATH=$PATH:/usr/sbin:/sbin

log() { echo "slurm.sh: $*" >&2; }

# The pid in $D/<daemon>.pid if that process is alive and really is <daemon>; else nothing.
daemon_pid() {
    local name=$1 file=$D/$1.pid pid
    [ -f "$file" ] || return 1
    pid=$(tr -dc 0-9 <"$file")
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
    # A zombie (state Z) is dead: only its parent has not reaped it yet.
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
    echo "$pid"
}

node_state() { timeout 10 sinfo -h -o %T 2>/dev/null | head -n 1; }

answers() {
    daemon_pid slurmctld >/dev/null && daemon_pid slurmd >/dev/null || return 1
    case "$(node_state)" in
        idle | mixed | allocated | completing) return 0 ;;
        *) return 1 ;;
    esac
}

alive() { # pid: exists and is no zombie
    kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

wait_pid_gone() { # pid, tenths of a second before SIGKILL
    local i
    for ((i = 0; i < $2; i++)); do
        alive "$1" || return 0
        sleep 0.1
    done
    log "pid $1 still alive after $(($2 / 10)) s: SIGKILL"
    kill -KILL "$1" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        alive "$1" || return 0
        sleep 0.1
    done
    log "pid $1 survived SIGKILL"
    return 1
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Job steps of this D that outlived its daemons: slurmstepd (it inherits slurmd's SLURM_CONF)
# and job processes (SLURM_CONF of this D and a SLURM_JOB_ID). A shell that merely exported
# SLURM_CONF has no SLURM_JOB_ID and is left alone.
leftover_pids() {
    local dir p env
    for dir in /proc/[0-9]*; do
        p=${dir#/proc/}
        [ "$p" != $$ ] && alive "$p" || continue
        env=$(tr '\0' '\n' 2>/dev/null <"$dir/environ") || continue
        grep -qxF "SLURM_CONF=$CONF" <<<"$env" || continue
        if [ "$(cat "$dir/comm" 2>/dev/null)" = slurmstepd ] || grep -q '^SLURM_JOB_ID=' <<<"$env"; then
            echo "$p"
        fi
    done
    return 0
}

down() {
    local pid i name
    if daemon_pid slurmctld >/dev/null; then
        # Cancel what is left, so no job step outlives slurmd.
        if [ -n "$(timeout 10 squeue -h -o %A 2>/dev/null)" ]; then
            timeout 10 squeue -h -o %A 2>/dev/null | sort -u | xargs -r timeout 10 scancel 2>/dev/null || true
            for ((i = 0; i < 150; i++)); do
                [ -z "$(timeout 10 squeue -h -o %A 2>/dev/null)" ] && break
                sleep 0.2
            done
        fi
    fi
    for name in slurmd slurmctld; do
        if pid=$(daemon_pid "$name"); then
            kill -TERM "$pid" 2>/dev/null || true
            wait_pid_gone "$pid" 200 || true
        fi
        rm -f "$D/$name.pid"
    done
    for pid in $(leftover_pids); do
        log "killing a leftover job process ($pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline"))"
        kill -KILL "$pid" 2>/dev/null || true
    done
}

up() {
    local pid state i mem comm port name
    if answers; then
        log "already up ($D, node $(node_state))"
        echo "export SLURM_CONF=$CONF"
        return 0
    fi
    for name in slurmctld slurmd; do
        command -v "$name" >/dev/null || {
            log "$name is not installed (apt-get install --no-install-recommends slurmctld slurmd slurm-client)"
            return 1
        }
    done
    [ "$(id -u)" = 0 ] || {
        log "needs root (SlurmUser=root)"
        return 1
    }
    # A half-started or crashed cluster from this D (or stale pidfiles): stop it, start afresh.
    down
    # slurmd's job-step sockets live in the spool dir: a unix socket path has at most 107 bytes.
    if [ "${#D}" -gt 60 ]; then
        log "LRT_SLURM_DIR is ${#D} characters long; keep it under 60 (slurmd sockets live in it)"
        return 1
    fi
    for port in "$CTLD_PORT" "$SLURMD_PORT"; do
        if port_busy "$port"; then
            log "port $port is in use (another Slurm?); set LRT_SLURM_PORTS=\"<slurmctld> <slurmd>\""
            return 1
        fi
    done
    mkdir -p "$D"
    rm -rf "$D/state" "$D/spool" "$D/log"
    mkdir -p "$D/state" "$D/spool" "$D/log"
    # slurmd binds its NodeAddr with NoInAddrAny; slurmctld, with NoCtldInAddrAny, binds the
    # address gethostname() resolves to, which is loopback only on some machines (else 0.0.0.0).
    comm=NoInAddrAny
    if getent ahostsv4 "$(hostname)" 2>/dev/null | awk 'NR == 1 { exit !($1 ~ /^127\./) }'; then
        comm=NoInAddrAny,NoCtldInAddrAny
    else
        log "warning: $(hostname) does not resolve to loopback; slurmctld listens on 0.0.0.0:$CTLD_PORT"
    fi
    mem=$(($(awk '/MemTotal/{print $2}' /proc/meminfo) / 1024 * 9 / 10))
    cat >"$CONF" <<EOF
# Written by tools/slurm.sh up; a fresh state dir every time.
ClusterName=lrt
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$D/log/jobcomp.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=bf_interval=1,sched_interval=1
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=600
InactiveLimit=0
StateSaveLocation=$D/state
SlurmdSpoolDir=$D/spool
SlurmctldPidFile=$D/slurmctld.pid
SlurmdPidFile=$D/slurmd.pid
SlurmctldLogFile=$D/log/slurmctld.log
SlurmdLogFile=$D/log/slurmd.log
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
CommunicationParameters=$comm
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    # Both daemonize; their exit status says nothing (a bad config is only seen by polling).
    slurmctld -f "$CONF" </dev/null >>"$D/log/slurmctld.out" 2>&1 || true
    slurmd -f "$CONF" -N localhost </dev/null >>"$D/log/slurmd.out" 2>&1 || true
    for ((i = 0; i < 150; i++)); do # 30 s
        state=$(node_state || true)
        if [ "$state" = idle ] && daemon_pid slurmctld >/dev/null && daemon_pid slurmd >/dev/null; then
            log "up: $D, ports $CTLD_PORT/$SLURMD_PORT, node idle"
            echo "export SLURM_CONF=$CONF"
            return 0
        fi
        sleep 0.2
    done
    log "slurm did not come up in 30 s (node state: '${state:-no answer}'); logs:"
    tail -n 20 "$D"/log/*.log "$D"/log/*.out >&2 2>/dev/null || true
    down
    return 1
}

status() {
    local ctld slurmd
    ctld=$(daemon_pid slurmctld || echo -)
    slurmd=$(daemon_pid slurmd || echo -)
    echo "dir $D; slurmctld pid $ctld; slurmd pid $slurmd; ports $CTLD_PORT/$SLURMD_PORT"
    if answers; then
        echo "node: $(node_state)"
        echo "export SLURM_CONF=$CONF"
        timeout 10 squeue 2>/dev/null || true
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
