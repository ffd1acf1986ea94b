#!/usr/bin/env bash
# Mode=compose killed (SIGKILL, by strace) right before each mutating
# system call of an upgrade that succeeds (1 -> 2) and of one rolled back
# (1 -> 3, whose web service answers 500): the next `systemctl start
# upgrade@demo` must end with the project up on one release, consistent
# (project_consistent, compose_lib.sh): the env file naming it with its
# other lines kept, no transaction, nothing temporary, the project's two
# containers, no image of a release not in service. compose_kills.sh kills
# at the named fault points; this covers every mutating call between
# them. In the suite every 30th call is tried (KILL_SWEEP_EVERY); every
# call is the test labelled long.
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/../container_lib.sh"
source "$(dirname "$0")/../compose_lib.sh"
KILL_SWEEP_EVERY=${KILL_SWEEP_EVERY:-30}
source "$(dirname "$0")/../kill_sweep_lib.sh"

install_upgrader
start_registry
setup_docker
two_service_release 1 test_service_v1 test_service_v1
two_service_release 2 test_service_v2 test_service_v2
two_service_release 3 test_service_v3_http_500 test_service_v3
# The health check's time (kill_test_project): 30 s for release 2, a
# minute for release 1 when a rollback brings it back, 10 s for release 3,
# whose 500s fail it only at its end.
kill_test_project

SWEEP_WAIT=30
service_up() { project_up; }
served_version() { project_version; }
reset_release() { reset_two_service_release; }
files_consistent() { project_consistent "$1"; }

echo "== 1 -> 2, which succeeds"
sweep "upgrade" 2

echo "== 1 -> 3, which answers 500 and is rolled back"
fail_fast_at_3
sweep "rollback" 1
finish
