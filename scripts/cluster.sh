#!/usr/bin/env bash
# N `splitllm serve` replicas behind nginx (deploy/nginx/splitllm.conf), all on loopback.
#   scripts/cluster.sh up N     start N replicas (ports BASE+1..BASE+N) and nginx on BASE (default 8080)
#   scripts/cluster.sh down     SIGTERM every replica (they drain), then nginx; kill -9 what is left after the grace
#   scripts/cluster.sh status   replicas and nginx: PID, alive, health
# Everything lives in $SPLITLLM_CLUSTER (default /tmp/splitllm-cluster): configs, logs, PID files.
# Tokens: SPLITLLM_TOKENS, else a fresh one is written to $SPLITLLM_CLUSTER/tokens.
# nginx is Debian's, run as a plain process with its own prefix (installed when missing, as root).
set -euo pipefail

ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
PREFIX="${SPLITLLM_CLUSTER:-/tmp/splitllm-cluster}"
BASE="${SPLITLLM_CLUSTER_PORT:-8080}"
DRAIN="${SPLITLLM_DRAIN:-20s}"
GRACE_S=25   # above the drain timeout: then kill -9

die() { echo "cluster: $*" >&2; exit 1; }

find_nginx() {
    command -v nginx 2>/dev/null || { [[ -x /usr/sbin/nginx ]] && echo /usr/sbin/nginx; } || true
}

ensure_nginx() {
    local n; n="$(find_nginx)"
    if [[ -z "$n" ]]; then
        [[ $(id -u) -eq 0 ]] || die "nginx is missing; install it: apt-get install -y nginx-light"
        echo "cluster: installing nginx (apt-get install -y nginx-light)" >&2
        apt-get install -y -qq nginx-light >/dev/null 2>&1 || apt-get install -y -qq nginx >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq nginx-light >/dev/null 2>&1; } \
            || die "could not install nginx"
        n="$(find_nginx)"
    fi
    echo "$n"
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

health() { curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v1/health" 2>/dev/null || echo 000; }

# Writes the nginx prefix: main config, the shared splitllm.conf, the replica list and the listen line.
write_nginx_conf() {
    local n="$1" i
    mkdir -p "$PREFIX/conf" "$PREFIX/logs" "$PREFIX/tmp"
    chmod 0777 "$PREFIX/tmp"
    cp "$ROOT/deploy/nginx/splitllm.conf" "$PREFIX/conf/splitllm.conf"
    : > "$PREFIX/conf/splitllm-replicas.conf"
    for ((i = 1; i <= n; i++)); do
        echo "server 127.0.0.1:$((BASE + i)) max_fails=1 fail_timeout=10s;" >> "$PREFIX/conf/splitllm-replicas.conf"
    done
    echo "listen 127.0.0.1:$BASE;" > "$PREFIX/conf/splitllm-listen.conf"
    cat > "$PREFIX/conf/nginx.conf" <<CONF
worker_processes 1;
pid $PREFIX/nginx.pid;
error_log $PREFIX/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log $PREFIX/logs/access.log;
    client_body_temp_path $PREFIX/tmp/body;
    proxy_temp_path $PREFIX/tmp/proxy;
    fastcgi_temp_path $PREFIX/tmp/fastcgi;
    uwsgi_temp_path $PREFIX/tmp/uwsgi;
    scgi_temp_path $PREFIX/tmp/scgi;
    include splitllm.conf;
}
CONF
}

up() {
    local n="${1:-}" i port nginx_bin
    [[ "$n" =~ ^[1-9][0-9]?$ ]] || die "usage: cluster.sh up N (1..99 replicas)"
    nginx_bin="$(ensure_nginx)"
    mkdir -p "$PREFIX"
    if [[ -z "${SPLITLLM_TOKENS:-}" && ! -s "$PREFIX/tokens" ]]; then
        (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$PREFIX/tokens"; echo >> "$PREFIX/tokens")
    fi
    [[ -n "${SPLITLLM_TOKENS:-}" ]] && (umask 077; echo "$SPLITLLM_TOKENS" | tr ',' '\n' > "$PREFIX/tokens")
    for ((i = 1; i <= n; i++)); do
        port=$((BASE + i))
        alive "$PREFIX/replica-$i.pid" && { echo "cluster: replica $i already up (PID $(cat "$PREFIX/replica-$i.pid"))"; continue; }
        env -u SPLITLLM_TOKENS "$ROOT/splitllm" serve --host 127.0.0.1 --port "$port" --token-file "$PREFIX/tokens" \
            --drain-timeout "$DRAIN" > "$PREFIX/replica-$i.log" 2>&1 &
        echo $! > "$PREFIX/replica-$i.pid"
        echo "$port" > "$PREFIX/replica-$i.port"
    done
    for ((i = 1; i <= n; i++)); do   # bounded wait: 120 s for the first build and model load
        port=$((BASE + i))
        for _ in $(seq 1 240); do
            [[ "$(health "$port")" == 200 ]] && break
            alive "$PREFIX/replica-$i.pid" || die "replica $i exited; see $PREFIX/replica-$i.log"
            sleep 0.5
        done
        [[ "$(health "$port")" == 200 ]] || die "replica $i (port $port) not healthy after 120 s; see $PREFIX/replica-$i.log"
    done
    write_nginx_conf "$n"
    if alive "$PREFIX/nginx.pid"; then
        "$nginx_bin" -p "$PREFIX" -c "$PREFIX/conf/nginx.conf" -s reload
    else
        "$nginx_bin" -p "$PREFIX" -c "$PREFIX/conf/nginx.conf"
    fi
    for _ in $(seq 1 20); do [[ "$(health "$BASE")" == 200 ]] && break; sleep 0.25; done
    echo "cluster: $n replicas on ports $((BASE + 1))..$((BASE + n)), nginx on http://127.0.0.1:$BASE (tokens in $PREFIX/tokens)"
}

down() {
    local f pid t
    for f in "$PREFIX"/replica-*.pid; do
        [[ -f "$f" ]] || continue
        alive "$f" && kill -TERM "$(cat "$f")"   # serve drains on SIGTERM
    done
    for ((t = 0; t < GRACE_S * 4; t++)); do
        local any=0
        for f in "$PREFIX"/replica-*.pid; do [[ -f "$f" ]] && alive "$f" && any=1; done
        [[ $any -eq 0 ]] && break
        sleep 0.25
    done
    for f in "$PREFIX"/replica-*.pid; do
        [[ -f "$f" ]] || continue
        if alive "$f"; then pid="$(cat "$f")"; echo "cluster: replica PID $pid still up after ${GRACE_S}s: kill -9"; kill -9 "$pid" || true; fi
        rm -f "$f"
    done
    if alive "$PREFIX/nginx.pid"; then
        kill -QUIT "$(cat "$PREFIX/nginx.pid")"
        for _ in $(seq 1 40); do alive "$PREFIX/nginx.pid" || break; sleep 0.25; done
    fi
    rm -f "$PREFIX/nginx.pid"
    echo "cluster: down"
}

status() {
    local f i port state
    for f in "$PREFIX"/replica-*.pid; do
        [[ -f "$f" ]] || continue
        i="${f##*/replica-}"; i="${i%.pid}"; port="$(cat "$PREFIX/replica-$i.port" 2>/dev/null || echo '?')"
        alive "$f" && state="up, health $(health "$port")" || state="dead"
        echo "replica $i: PID $(cat "$f"), port $port, $state"
    done
    if alive "$PREFIX/nginx.pid"; then echo "nginx: PID $(cat "$PREFIX/nginx.pid"), port $BASE, health $(health "$BASE")"; else echo "nginx: down"; fi
}

case "${1:-}" in
    up) up "${2:-}" ;;
    down) down ;;
    status) status ;;
    *) die "usage: cluster.sh up N | down | status" ;;
esac
