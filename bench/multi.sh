# shellcheck shell=bash
# The multi-instance mode of bench/run (MULTI=1; docs/benchmarks.md, "Several
# instances"), sourced by bench/run after the build, with its helpers and knobs.
#
# On one PostgreSQL (a throwaway durable cluster, or a database created in
# BENCH_POSTGRES_URL), with ONE configuration file and one key-encryption key
# (`keys.encryption_key` in that file), it starts these shapes in turn:
#
#   one        one instance, `http.workers` = cores
#   two        two instances, `http.workers` = cores / 2 each (the same total
#              worker threads and argon2id threads as one: the fair comparison
#              of total CPU), each on its own port (PORTCULLIS__LISTEN)
#   two-redis  the same two instances with `[redis]` (PORTCULLIS__REDIS__URL)
#              on a throwaway redis-server: the sign-in counters live there
#
# Each workload takes its shapes in turn, then in reverse, and so on (ROUNDS
# times; instances restart between shapes, warm-up before each run), so that
# drift on the shared machine (other builds, the hypervisor's steal time,
# recorded) hits the shapes alike. The workloads
# (MULTI_WORKLOADS, a subset of "token introspect userinfo refresh signin lockout"):
#
#   token, introspect, userinfo, refresh   as in bench/run (bench/*.lua), on one and two
#   signin     the password sign-in round trip (bench/node/signin.mjs), on all three shapes
#   lockout    POST /login with a wrong password for an account that is backing off
#              (bench/lockout.lua): refused at the account's counter before any
#              argon2id work, a 429 each; on two and two-redis (counters in
#              PostgreSQL against counters in Redis). The account is locked
#              once per counter store by wrong passwords (`auth.lockout_base_secs`
#              is 3600 here, so it stays locked for the whole run).
#
# The load is split evenly: on two instances, one load generator per instance,
# both started together for the same time (wrk -t THREADS/2 -c CONNECTIONS/2
# each), against one wrk with the whole load on one instance; the sign-in
# driver is one process in both shapes (bench/node/signin.mjs, its
# SIGNIN_CONCURRENCY drivers alternating over the instances), so that its own
# CPU on the shared cores is the same. No proxy in between: a round-robin
# proxy would spend its own CPU on the same two cores and add a hop the
# one-instance shape does not have.
#
# Per shape and workload: requests/s (summed over the generators), the server
# CPU per request (utime+stime of every instance, summed, over the requests of
# all generators), and PostgreSQL's writes during the measured run: deltas of
# `pg_stat_database` (xact_commit; tup_inserted + tup_updated + tup_deleted)
# for the bench database, and of pg_current_wal_lsn() (WAL bytes, the whole
# cluster). pg_stat_database lags: a busy backend publishes its counters at
# most once a second, an idle one within 10 s, so the sign-in and lockout runs
# on two instances (the Redis comparison) wait PG_SETTLE seconds (11; 0 with
# SMOKE=1) before their first snapshot and before their last.
# With two-redis, redis-server's own CPU per request too.
#
# Knobs of bench/run it follows: DURATION, WARMUP, ROUNDS, THREADS, CONNECTIONS,
# SIGNIN_CONCURRENCY, SIGNIN, SMOKE, PROFILE, BENCH_POSTGRES_URL, BENCH_DOC (the
# results replace the block between the multi-bench markers); its own:
# MULTI_WORKLOADS, PG_SETTLE. DATABASES, WORKLOADS and PERF_DIR do not apply.

command -v redis-server >/dev/null 2>&1 || {
  log "installing redis-server"
  as_root apt-get install -y redis-server || { as_root apt-get update && as_root apt-get install -y redis-server; }
}
PSQL=$(command -v psql 2>/dev/null || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -n 1 || true)

PG_SETTLE=${PG_SETTLE:-$([[ $SMOKE == 1 ]] && echo 0 || echo 11)}
read -ra MULTI_WL <<<"${MULTI_WORKLOADS:-token introspect userinfo refresh signin lockout}"
[[ $SIGNIN == 1 ]] || MULTI_WL=("${MULTI_WL[@]/signin/}")
has_workload() { [[ " ${MULTI_WL[*]} " == *" $1 "* ]]; }

postgres_url
[[ -n $PSQL ]] || die "psql not found"
"$PSQL" -XAtq "$PG_URL" -c 'SELECT 1' >/dev/null || die "cannot query $PG_URL"

# redis-server on loopback, nothing saved; stopped by the cleanup (PID[redis]).
REDIS_PORT=$(free_port) || die "no free port"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no >"$WORK/redis.log" 2>&1 &
PID[redis]=$!
for _ in $(seq 1 100); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  kill -0 "${PID[redis]}" 2>/dev/null || die "redis-server exited"
  sleep 0.05
done
REDIS_VERSION=$(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p')

# One configuration for every instance: the issuer is the first instance's
# address (as behind a load balancer), the key-encryption key is in the file.
P1=$(free_port) || die "no free port"
portcullis_config multi "$P1" "$PG_URL"
CONFIG=$WORK/multi/portcullis.toml
cat >>"$CONFIG" <<EOF

[keys]
encryption_key = "$(head -c 32 /dev/urandom | b64url)"

[auth]
lockout_base_secs = 3600

[http]
drain_secs = 0
EOF
declare -A METRICS_OF=()
for sys in m1 m2; do
  if [[ $sys == m1 ]]; then PORTOF[$sys]=$P1; else PORTOF[$sys]=$(free_port) || die "no free port"; fi
  METRICS_OF[$sys]=$(free_port) || die "no free port"
  BASE[$sys]=http://127.0.0.1:${PORTOF[$sys]}
done
LOCKED_USER=$USERNAME-locked
log "multi: creating the users"
for name in "$USERNAME" $(seq -f "$USERNAME-%g" 0 $((SIGNIN_CONCURRENCY - 1))) "$LOCKED_USER"; do
  printf '%s\n' "$PASSWORD" |
    "$BIN" --config "$CONFIG" users add --username "$name" --email "$name@example.com" --password-stdin \
      >>"$WORK/multi-users-add.log" 2>&1 || {
    cat "$WORK/multi-users-add.log" >&2
    die "users add failed"
  }
done

INSTANCES=()
declare -A WORKERS_OF=()
CURRENT_SHAPE=
start_shape() { # one | two | two-redis
  local shape=$1 sys n=2 workers redis=
  [[ $shape == "$CURRENT_SHAPE" ]] && return 0
  CURRENT_SHAPE=$shape
  for sys in m1 m2; do
    if [[ -n ${PID[$sys]:-} ]]; then
      stop_pid "${PID[$sys]}"
      unset "PID[$sys]"
    fi
  done
  [[ $shape == one ]] && n=1
  [[ $shape == two-redis ]] && redis=redis://127.0.0.1:$REDIS_PORT
  workers=$((NPROC / n))
  ((workers >= 1)) || workers=1
  WORKERS_OF[$shape]=$workers
  INSTANCES=()
  for sys in $(seq -f 'm%g' 1 "$n"); do
    env PORTCULLIS__LISTEN="127.0.0.1:${PORTOF[$sys]}" PORTCULLIS__METRICS_LISTEN="127.0.0.1:${METRICS_OF[$sys]}" \
      PORTCULLIS__HTTP__WORKERS="$workers" ${redis:+PORTCULLIS__REDIS__URL=$redis} \
      "$BIN" --config "$CONFIG" serve >>"$WORK/$sys.log" 2>&1 &
    PID[$sys]=$!
    INSTANCES+=("$sys")
  done
  for sys in "${INSTANCES[@]}"; do wait_ready "$sys" "${BASE[$sys]}/readyz"; done
  log "multi: $shape: ${INSTANCES[*]}, $workers workers each${redis:+, Redis}"
}

# The signed-in session (for the code flows) and the user's access token,
# made on the first instance; every instance accepts both (one database).
start_shape one
portcullis_sign_in m1
ACCESS=$(code_flow m1 "openid profile email" | json_field access_token)
[[ -n $ACCESS ]] || die "multi: no access token"
# An anonymous session and its CSRF token for the lockout workload.
curl -sS -o "$WORK/login.html" -D "$WORK/headers" "${BASE[m1]}/login"
LOCK_COOKIE=$(session_cookie "$WORK/headers")
LOCK_CSRF=$(hidden_input "$WORK/login.html" csrf_token)
[[ -n $LOCK_COOKIE && -n $LOCK_CSRF ]] || die "multi: the login page lacks the cookie or csrf_token"
export BENCH_ACCESS_TOKEN=$ACCESS BENCH_COOKIE=$LOCK_COOKIE BENCH_CSRF=$LOCK_CSRF BENCH_LOCKED=$LOCKED_USER

# Wrong passwords until the locked account's counter (in the running shape's
# counter store) refuses: 429.
lock_account() {
  local code
  for _ in $(seq 1 20); do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $LOCK_COOKIE" --data-urlencode "csrf_token=$LOCK_CSRF" \
      --data-urlencode "username=$LOCKED_USER" --data-urlencode password=not-the-password "${BASE[m1]}/login")
    [[ $code == 429 ]] && return 0
    [[ $code == 200 ]] || die "multi: a wrong password answered $code"
  done
  die "multi: $LOCKED_USER does not back off"
}

cpu_sum() {
  local t=0 sys
  for sys in "${INSTANCES[@]}"; do t=$((t + $(cpu_ticks "${PID[$sys]}"))); done
  echo "$t"
}
# xact_commit, rows written, WAL bytes.
pg_snapshot() {
  "$PSQL" -XAtq -F' ' "$PG_URL" -c "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted,
    pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint FROM pg_stat_database WHERE datname = current_database()"
}

declare -A TOKENS_OF=()
# Before a load: refresh-token families for each generator (minted first, so
# neither the CPU nor the writes of minting fall into a measured run).
prepare_load() { # workload
  local sys n=${#INSTANCES[@]}
  [[ $1 == refresh ]] || return 0
  for sys in "${INSTANCES[@]}"; do
    TOKENS_OF[$sys]=$(mint_refresh_tokens m1 $((CONNECTIONS / n + THREADS)))
  done
}

# One load generator per running instance, all at once, for $2 seconds;
# outputs in $WORK/load-<instance>.txt.
run_load() { # workload seconds
  local w=$1 secs=$2 n=${#INSTANCES[@]} sys i=0 pids=() script path
  local threads=$((THREADS / n)) conns=$((CONNECTIONS / n)) bases=()
  ((threads >= 1)) || threads=1
  ((conns >= threads)) || conns=$threads
  if [[ $w == signin ]]; then
    # One driver process for all instances, its output in the first's file.
    for sys in "${INSTANCES[@]}"; do bases+=("${BASE[$sys]}"); done
    env BASE="${bases[*]}" USERNAME="$USERNAME" PASSWORD="$PASSWORD" DURATION="$secs" \
      CONCURRENCY="$SIGNIN_CONCURRENCY" node "$NODE_DIR/signin.mjs" >"$WORK/load-${INSTANCES[0]}.txt" 2>&1 ||
      { cat "$WORK/load-${INSTANCES[0]}.txt" >&2; die "signin: the driver failed"; }
    return 0
  fi
  case $w in
  lockout) script=lockout.lua path=/login ;;
  signin) ;;
  *) script=$(script_of "$w") path=$(path_of m1 "$w") ;;
  esac
  for sys in "${INSTANCES[@]}"; do
    env BENCH_THREADS="$threads" BENCH_REFRESH_TOKENS="${TOKENS_OF[$sys]:-}" \
      wrk -t"$threads" -c"$conns" -d"${secs}s" -s "$ROOT/bench/$script" "${BASE[$sys]}$path" \
      >"$WORK/load-$sys.txt" 2>&1 &
    pids+=($!)
    i=$((i + 1))
  done
  i=0
  for sys in "${INSTANCES[@]}"; do
    wait "${pids[$i]}" || { cat "$WORK/load-$sys.txt" >&2; die "$sys $w: the load generator failed"; }
    i=$((i + 1))
  done
}

measure_shape() { # shape workload
  local shape=$1 w=$2 sys
  [[ $w == lockout ]] && lock_account
  if [[ $WARMUP -gt 0 ]]; then
    prepare_load "$w"
    run_load "$w" "$WARMUP"
  fi
  prepare_load "$w"
  local settle=0
  [[ $shape != one && ($w == signin || $w == lockout) ]] && settle=$PG_SETTLE
  sleep "$settle"
  local cpu0 cpu1 pg0 pg1 r0=0 r1=0
  pg0=$(pg_snapshot)
  local st0 st1
  st0=$(steal_ticks)
  cpu0=$(cpu_sum)
  [[ $shape == two-redis ]] && r0=$(cpu_ticks "${PID[redis]}")
  run_load "$w" "$DURATION"
  [[ $shape == two-redis ]] && r1=$(cpu_ticks "${PID[redis]}")
  cpu1=$(cpu_sum)
  st1=$(steal_ticks)
  sleep "$settle"
  pg1=$(pg_snapshot)
  local rps=0 total=0 out n s bad outs=("${INSTANCES[@]}")
  [[ $w == signin ]] && outs=("${INSTANCES[0]}")
  for sys in "${outs[@]}"; do
    out=$WORK/load-$sys.txt
    if [[ $w == signin ]]; then
      n=$(sed -n 's/.*"signins":\([0-9]*\).*/\1/p' "$out")
      s=$(sed -n 's/.*"seconds":\([0-9.]*\).*/\1/p' "$out")
      [[ -n $n && $n -gt 0 ]] || { cat "$out" >&2; die "$sys signin: no sign-in completed"; }
      rps=$(awk -v a="$rps" -v n="$n" -v s="$s" 'BEGIN { print a + n / s }')
    else
      n=$(awk '/ requests in / { print $1 }' "$out")
      s=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
      [[ -n $n && $n -gt 0 && -n $s ]] || { cat "$out" >&2; die "cannot parse the wrk output of $sys $w"; }
      if [[ $w == lockout ]]; then
        bad=$(awk '/^Not 429:/ { print $3 }' "$out")
        [[ $bad == 0 ]] || { cat "$out" >&2; die "$sys lockout: ${bad:-?} answers were not 429"; }
      else
        bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
        [[ -z $bad ]] || { cat "$out" >&2; die "$sys $w: $bad responses were not 2xx"; }
      fi
      rps=$(awk -v a="$rps" -v b="$s" 'BEGIN { print a + b }')
    fi
    total=$((total + n))
  done
  local k=$shape:$w x t wal
  read -r x t wal <<<"$(awk -v a="$pg0" -v b="$pg1" 'BEGIN { split(a, p, " "); split(b, q, " "); print q[1] - p[1], q[2] - p[2], q[3] - p[3] }')"
  add "$k:rps" "$rps"
  add "$k:requests" "$total"
  add "$k:ticks" "$((cpu1 - cpu0))"
  add "$k:redis_ticks" "$((r1 - r0))"
  add "$k:xact" "$x"
  add "$k:tup" "$t"
  add "$k:wal" "$wal"
  add "$k:seconds" "$DURATION"
  add "$k:steal" "$((st1 - st0))"
  log "$(printf '%-9s %-10s %9.1f req/s  %s req  %5.0f µs CPU/req  steal %s ticks  PG: %s xact, %s rows, %s WAL bytes' "$shape" "$w" \
    "$rps" "$total" "$(awk -v t="$((cpu1 - cpu0))" -v hz="$CLK_TCK" -v n="$total" 'BEGIN { print t * 1e6 / hz / n }')" \
    "$((st1 - st0))" "$x" "$t" "$wal")"
}

# The shapes each workload runs on.
shapes_of() { # workload
  case $1 in
  signin) echo one two two-redis ;;
  lockout) echo two two-redis ;;
  *) echo one two ;;
  esac
}
# The hypervisor's steal time (all CPUs), in clock ticks: host noise.
steal_ticks() { awk '/^cpu / { print $9 }' /proc/stat; }

ECDSA_SPEED=$(openssl speed -seconds "$([[ $SMOKE == 1 ]] && echo 1 || echo 3)" ecdsap256 2>/dev/null |
  awk '/nistp256/ { printf "%.0f signatures/s, %.1f µs each", $(NF-1), 1000000 / $(NF-1) }')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date +%s)
STEAL0=$(steal_ticks)
for w in "${MULTI_WL[@]}"; do
  [[ -n $w ]] || continue
  read -ra shapes <<<"$(shapes_of "$w")"
  for round in $(seq 1 "$ROUNDS"); do
    order=("${shapes[@]}")
    if ((round % 2 == 0)); then
      order=()
      for ((i = ${#shapes[@]} - 1; i >= 0; i--)); do order+=("${shapes[$i]}"); done
    fi
    for shape in "${order[@]}"; do
      start_shape "$shape"
      measure_shape "$shape" "$w"
    done
  done
done
STEAL_PCT=$(awk -v a="$STEAL0" -v b="$(steal_ticks)" -v s="$(($(date +%s) - STARTED))" -v hz="$CLK_TCK" -v n="$NPROC" \
  'BEGIN { if (s > 0) printf "%.1f", (b - a) * 100 / (s * hz * n); else print 0 }')
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
log "multi: measured in $(($(date +%s) - STARTED)) s"

# --- report ----------------------------------------------------------------------

avg() { awk -v v="${RES[$1]:-0}" -v r="$ROUNDS" -v f="${2:-%.0f}" 'BEGIN { printf f, v / r }'; }
per_req() { # key field scale format
  awk -v v="${RES[$1:$2]:-0}" -v n="${RES[$1:requests]:-0}" -v k="$3" -v f="$4" 'BEGIN { if (n > 0) printf f, v * k / n; else printf "—" }'
}
cpu_us() { awk -v t="${RES[$1:ticks]:-0}" -v hz="$CLK_TCK" -v n="${RES[$1:requests]:-0}" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else printf "—" }'; }
per_s() { # key field scale format
  awk -v v="${RES[$1:$2]:-0}" -v s="${RES[$1:seconds]:-0}" -v k="$3" -v f="$4" 'BEGIN { if (s > 0) printf f, v * k / s; else printf "—" }'
}
steal_pct() { awk -v t="${RES[$1:steal]:-0}" -v s="${RES[$1:seconds]:-0}" -v hz="$CLK_TCK" -v n="$NPROC" 'BEGIN { if (s > 0) printf "%.0f %%", t * 100 / (s * hz * n); else printf "—" }'; }
declare -A MTITLE=(
  [token]='POST `/token` `client_credentials` (ES256 JWT)'
  [introspect]='POST introspection'
  [userinfo]='GET userinfo'
  [refresh]='POST `/token` `refresh_token` (rotation)'
  [signin]='password sign-in (`GET` + `POST /login`)'
  [lockout]='`POST /login`, account backing off (429)'
)
W1=${WORKERS_OF[one]:-$NPROC}
W2=${WORKERS_OF[two]:-$((NPROC / 2))}
MSTART='<!-- multi-bench:start -->'
MEND='<!-- multi-bench:end -->'
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
BLOCK=$WORK/block.md
{
  echo "$MSTART"
  echo "<!-- written by MULTI=1 bench/run; edits between these markers are overwritten -->"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $NPROC CPUs, ${CPU_MODEL:-unknown CPU}, $(uname -sr); load generators, PostgreSQL and Redis on the same cores"
  echo "- Portcullis: \`$COMMIT\` ($PROFILE build); one instance with \`http.workers\` = $W1, or two with $W2 each; one configuration file, one key-encryption key"
  echo "- PostgreSQL $("$PSQL" -XAtq "$PG_URL" -c 'SHOW server_version' | awk '{ print $1 }') ($([[ -n ${BENCH_POSTGRES_URL:-} ]] && echo "a database in BENCH_POSTGRES_URL" || echo "throwaway cluster, fsync on")); Redis $REDIS_VERSION (no persistence)"
  echo "- load: $(wrk -v 2>&1 | head -n 1 | awk '{ print $1, $2 }'), \`-t$THREADS -c$CONNECTIONS\` in all on one instance, \`-t$((THREADS / 2 > 0 ? THREADS / 2 : 1)) -c$((CONNECTIONS / 2))\` per instance on two; sign-in: one bench/node/signin.mjs, $SIGNIN_CONCURRENCY drivers (alternating over the instances on two); ${DURATION}s measured after a ${WARMUP}s warm-up; per workload, $ROUNDS rounds over its shapes (one, two[, two + Redis], then the reverse); figures are means over rounds"
  echo "- load average (1, 5, 15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER; hypervisor steal time over the whole measurement: $STEAL_PCT % of the CPUs"
  [[ -n $ECDSA_SPEED ]] && echo "- \`openssl speed ecdsap256\` just before: $ECDSA_SPEED"
  echo
  echo "| workload | one: requests/s | one: CPU (µs/request) | two: requests/s | two: CPU (µs/request, both) | CPU two ÷ one | within 10 % | host steal, one / two |"
  echo "|---|---:|---:|---:|---:|---:|---|---:|"
  for w in "${MULTI_WL[@]}"; do
    [[ -z $w || $w == lockout ]] && continue
    c1=$(cpu_us "one:$w")
    c2=$(cpu_us "two:$w")
    r=$(awk -v a="$c2" -v b="$c1" 'BEGIN { if (b > 0 && a > 0) printf "%.3f", a / b; else print 0 }')
    verdict=$(awk -v r="$r" 'BEGIN { if (r == 0) print "—"; else if (r > 1.10) print "**no**"; else if (r < 0.90) print "no (cheaper)"; else print "yes" }')
    echo "| ${MTITLE[$w]} | $(avg "one:$w:rps" %.0f) | $c1 | $(avg "two:$w:rps" %.0f) | $c2 | $(awk -v r="$r" 'BEGIN { printf "%.2f", r }') | $verdict | $(steal_pct "one:$w") / $(steal_pct "two:$w") |"
  done
  if has_workload lockout || has_workload signin; then
    echo
    echo "Sign-in counters in PostgreSQL (two instances) against in Redis (the same two with \`[redis]\`). PostgreSQL figures per second of the measured run, and per request:"
    echo
    echo "| workload | counters in | requests/s | Portcullis CPU (µs/request, both) | Redis CPU (µs/request) | PostgreSQL transactions/s | rows written/s | WAL (KiB/s) | transactions/request | rows written/request | WAL bytes/request |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for w in signin lockout; do
      has_workload "$w" || continue
      for shape in two two-redis; do
        k=$shape:$w
        where=PostgreSQL
        rc="—"
        if [[ $shape == two-redis ]]; then
          where=Redis
          rc=$(awk -v t="${RES[$k:redis_ticks]:-0}" -v hz="$CLK_TCK" -v n="${RES[$k:requests]:-0}" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else printf "—" }')
        fi
        echo "| ${MTITLE[$w]} | $where | $(avg "$k:rps" %.0f) | $(cpu_us "$k") | $rc | $(per_s "$k" xact 1 %.0f) | $(per_s "$k" tup 1 %.0f) | $(per_s "$k" wal 0.0009765625 %.0f) | $(per_req "$k" xact 1 %.2f) | $(per_req "$k" tup 1 %.2f) | $(per_req "$k" wal 1 %.0f) |"
      done
    done
  fi
  echo "$MEND"
} >"$BLOCK"

if [[ $SMOKE == 1 ]]; then
  DOC=$(mktemp "${TMPDIR:-/tmp}/portcullis-bench-multi-smoke.XXXXXX.md")
  cp "$BLOCK" "$DOC"
else
  DOC=${BENCH_DOC:-$ROOT/docs/benchmarks.md}
  if [[ -f $DOC ]] && grep -qF "$MSTART" "$DOC" && grep -qF "$MEND" "$DOC"; then
    awk -v start="$MSTART" -v end="$MEND" -v block="$BLOCK" '
      $0 == start { while ((getline line < block) > 0) print line; skip = 1; next }
      $0 == end { skip = 0; next }
      !skip { print }
    ' "$DOC" >"$WORK/doc.md"
    cat "$WORK/doc.md" >"$DOC"
  else
    { [[ -f $DOC ]] && cat "$DOC" && echo; cat "$BLOCK"; } >"$WORK/doc.md"
    cat "$WORK/doc.md" >"$DOC"
  fi
fi
cat "$BLOCK"
log "wrote $DOC"
