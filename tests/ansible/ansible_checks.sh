#!/usr/bin/env bash
# The Ansible collection's own checks, with Debian's tools:
#   ansible_checks.sh sanity SRC   ansible-test sanity (scripts/ansible-sanity)
#   ansible_checks.sh lint SRC     ansible-lint on the playbook and the role
#   ansible_checks.sh units SRC    the unit tests of the module's logic
# Skipped (77), saying why, without ansible-core or ansible-lint.
set -euo pipefail
what=$1 src=$(cd "$2" && pwd)
collection=$src/ansible/ansible_collections/upgrader/fleet
export PATH=/usr/bin:/bin:/usr/sbin:/sbin
need() {
  command -v "$1" >/dev/null || {
    echo "skipped: $1 is not installed (scripts/install-deps installs it)"
    exit 77
  }
}
case $what in
  sanity)
    need ansible-test
    exec "$src/scripts/ansible-sanity"
    ;;
  lint)
    need ansible-lint
    # On a copy: newer ansible-lint (Debian 13's) installs the collection it
    # checks into .ansible/ of the directory it runs in.
    work=$(mktemp -d)
    trap 'rm -rf -- "$work"' EXIT
    mkdir -p "$work/ansible_collections/upgrader"
    cp -r "$collection" "$work/ansible_collections/upgrader/fleet"
    rm -rf "$work/ansible_collections/upgrader/fleet/tests/output"
    cd "$work/ansible_collections/upgrader/fleet"
    ANSIBLE_HOME=$work/home ANSIBLE_COLLECTIONS_PATH=$work ansible-lint --nocolor --strict \
      playbooks/rolling_upgrade.yml roles/rolling_upgrade
    ;;
  units)
    need ansible
    cd "$src/ansible"
    PYTHONPATH=$src/ansible exec /usr/bin/python3 -m unittest -v \
      ansible_collections.upgrader.fleet.tests.unit.plugins.module_utils.test_upgrader_result
    ;;
  *) echo "usage: $0 sanity|lint|units SRC" >&2; exit 2 ;;
esac
