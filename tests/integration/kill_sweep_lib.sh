# The kill sweep, shared by scenarios/kill_sweep*.sh: the upgrader is killed
# (SIGKILL, injected by strace) right before one system call that changes
# the file system, then the next `systemctl start upgrade@demo` must end
# consistent. The scenario defines:
#   reset_release        the service back on release 1, no state;
#   files_consistent V   succeeds when the installed files are release V's
#                        and nothing temporary is left; prints what is
#                        wrong otherwise;
# and may redefine service_up and served_version (the demo service's by
# default) and SWEEP_WAIT (how long the service may take to come up). With
# SWEEP_COMMAND=fetch, `upgrader fetch demo` is the run killed, and the
# scenario's after_kill CALL checks what the killed run left before the
# next run (`systemctl start upgrade@demo`) goes on.
# In the suite every twelfth call is tried (KILL_SWEEP_EVERY=12); every call
# is the test labelled long: ctest --test-dir build -L long.
if ! command -v strace >/dev/null; then
  echo "skipped: strace is not installed (scripts/install-deps installs it)"
  exit 77
fi
KILL_SWEEP_EVERY=${KILL_SWEEP_EVERY:-12}
SWEEP_WAIT=${SWEEP_WAIT:-10}
SWEEP_COMMAND=${SWEEP_COMMAND:-apply}
service_up() { demo_healthy; }
served_version() { demo_version; }
MUTATING=rename,renameat,renameat2,link,linkat,symlink,symlinkat,unlink,unlinkat,mkdir,mkdirat,rmdir,fsync,fdatasync,ftruncate,truncate,fchmod,fchmodat,fchown,fchownat

# mutating_calls: "SYSCALL N" for each mutating call of one run of
# `upgrader $SWEEP_COMMAND demo` from release 1, in order (N counts that
# syscall's calls, as strace's when= does).
mutating_calls() {
  reset_release
  strace -qq -e trace="$MUTATING" -o /run/sweep-trace \
    upgrader "$SWEEP_COMMAND" demo >/dev/null 2>&1 || true
  awk -F'(' '/^[a-z0-9_]+\(/ { n[$1]++; print $1, n[$1] }' /run/sweep-trace
}

# sweep WHAT EXPECTED_FINAL_VERSION
sweep() {
  local what=$1 final=$2 calls=() call name nth i=0 rc served wrong tried=0 missed=0
  mapfile -t calls < <(mutating_calls)
  assert_true "$what: the run makes mutating calls to kill before (${#calls[@]})" \
    test "${#calls[@]}" -gt 10
  for call in "${calls[@]}"; do
    i=$((i + 1))
    [ $(((i - 1) % KILL_SWEEP_EVERY)) -eq 0 ] || continue
    tried=$((tried + 1))
    read -r name nth <<<"$call"
    reset_release
    rc=0
    strace -qq -o /dev/null -e trace="$name" -e inject="$name:signal=KILL:when=$nth" \
      upgrader "$SWEEP_COMMAND" demo >/dev/null 2>&1 || rc=$?
    if [ "$rc" -ne 137 ]; then
      # A run may make a call fewer than the traced one did (a save with
      # nothing new to say is skipped): ended normally, it never reached
      # the call. Anything else is a failure, and most calls must be hit.
      case $rc in
        0 | 3 | 5) missed=$((missed + 1)) ;;
        *) fail "$what: killed before $name #$nth: the run was not killed (exit $rc)" ;;
      esac
      continue
    fi
    if declare -F after_kill >/dev/null; then
      wrong=$(after_kill) || fail "$what: killed before $name #$nth: $wrong"
    fi
    # The next run finishes or undoes what the killed one left, then goes
    # on: the end state is the expected version.
    rc=$(upgrade_status demo)
    if ! wait_for "$SWEEP_WAIT" service_up; then
      fail "$what: after a kill before $name #$nth: the service is not healthy (next run: $rc)"
      continue
    fi
    served=$(served_version)
    [ "$served" = "$final" ] ||
      fail "$what: after a kill before $name #$nth: serving '$served', expected $final (next run: $rc)"
    wrong=$(files_consistent "$served") ||
      fail "$what: after a kill before $name #$nth: $wrong"
    [ -z "$(upgrader status demo | grep '^in progress' || true)" ] ||
      fail "$what: after a kill before $name #$nth: a transaction is left in progress"
  done
  assert_true "$what: $tried kills tried, $missed not reached, each other followed by a consistent run" \
    test "$tried" -gt 0 -a $((missed * 5)) -le "$tried"
}
