#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026 upgrader maintainers
# MIT License (see LICENSE in the repository)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: upgrade
short_description: Upgrade, fetch ahead or roll back one service with upgrader
version_added: "0.1.0"
description:
  - Runs one instance of upgrader (C(/etc/upgrader/NAME.conf)) on the host
    and reports what happened, read from upgrader's own JSON output.
  - With I(state=upgraded) the upgrade runs as
    C(systemctl start upgrade@NAME.service), the sandboxed unit the timer
    starts, and waits for it; the outcome is the unit's exit status, the
    versions and message come from C(upgrader --json status NAME).
  - With I(state=fetched) it runs C(upgrader --json fetch NAME), which
    downloads (or pulls) and verifies the new release and keeps it staged;
    no unit is touched. It runs as the connecting user (root), not through
    C(upgrade-fetch@NAME.service), so that a refusal's own message (a
    checksum or signature that does not match) comes back to Ansible.
  - With I(state=rolled_back) it runs C(upgrader --json rollback NAME), as
    an operator would by hand (the unit template runs apply only).
  - In check mode it runs C(upgrader --json check NAME) (and C(status))
    and reports whether anything would change; nothing is changed.
  - The task fails for every outcome but C(upgraded), C(fetched),
    C(rolled-back-on-request) and C(nothing-to-do).
options:
  name:
    description:
      - The instance, the C(NAME) of C(/etc/upgrader/NAME.conf).
    type: str
    required: true
  state:
    description:
      - C(upgraded) installs the release the configuration points at.
      - C(fetched) acquires, verifies and stages it without stopping
        anything, so that a later C(upgraded) only swaps, starts and checks.
      - C(rolled_back) goes back to the previous release (which quarantines
        the one it leaves).
    type: str
    choices: [upgraded, fetched, rolled_back]
    default: upgraded
  upgrader:
    description:
      - The upgrader program.
    type: path
    default: /usr/bin/upgrader
requirements:
  - upgrader on the managed host, with its units (the .deb or .rpm).
author:
  - upgrader maintainers (@upgrader)
notes:
  - Supports check mode through upgrader's own C(check) command.
'''

EXAMPLES = r'''
- name: Fetch and verify the new ProgressDB everywhere first
  upgrader.fleet.upgrade:
    name: progressdb
    state: fetched

- name: Upgrade it (through upgrade@progressdb.service)
  upgrader.fleet.upgrade:
    name: progressdb
  register: upgrade

- name: Go back to the previous release
  upgrader.fleet.upgrade:
    name: progressdb
    state: rolled_back
'''

RETURN = r'''
outcome:
  description: >-
    What the run did: upgraded, fetched, rolled-back-on-request,
    nothing-to-do, failed-unchanged (refused before anything changed),
    rolled-back (the new release failed and the old one is back and
    healthy), rollback-failed (an operator is needed); in check mode
    upgrade-available, fetch-available or rollback-available.
  returned: always
  type: str
  sample: upgraded
from:
  description: The version installed before the run.
  returned: always
  type: str
  sample: "2.0.1"
to:
  description: The version the run went to (or tried to).
  returned: always
  type: str
  sample: "2.1.0"
installed:
  description: The version installed after the run.
  returned: always
  type: str
  sample: "2.1.0"
quarantined:
  description: The versions upgrader will not install again, after the run.
  returned: always
  type: list
  elements: str
  sample: ["2.2.0"]
message:
  description: upgrader's own message for the run.
  returned: always
  type: str
  sample: upgraded progressdb to 2.1.0
exit_status:
  description: upgrader's exit status (0 done, 1 refused, 3 rolled back, 4 rollback failed, 5 nothing to do).
  returned: always
  type: int
  sample: 0
seconds:
  description: Wall time of the run on the host.
  returned: always
  type: float
  sample: 3.2
'''

import json
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.upgrader.fleet.plugins.module_utils.upgrader_result import (
    fetched_version,
    is_change,
    is_failure,
    outcome_of,
    quarantined,
    unit_report,
    version_of,
)


def json_of(module, text, what):
    try:
        value = json.loads(text)
    except ValueError:
        module.fail_json(msg='%s did not print JSON: %r' % (what, text[:2000]))
    if not isinstance(value, dict):
        module.fail_json(msg='%s printed %r, not an object' % (what, text[:2000]))
    return value


def status_of(module, program, name):
    rc, out, err = module.run_command([program, '--json', 'status', name])
    if rc != 0:
        module.fail_json(msg='upgrader status %s failed: %s' % (name, (err or out).strip()))
    return json_of(module, out, 'upgrader status %s' % name)


def check(module, program, name, state):
    """What a run would do, from upgrader's check and status."""
    status = status_of(module, program, name)
    installed = version_of(status, 'installed')
    if state == 'rolled_back':
        previous = version_of(status, 'previous')
        return dict(changed=bool(previous),
                    outcome='rollback-available' if previous else 'nothing-to-do',
                    to=previous, message='rollback to %s' % previous if previous
                    else 'no previous release', exit_status=0 if previous else 5)
    rc, out, err = module.run_command([program, '--json', 'check', name])
    result = json_of(module, out, 'upgrader check %s' % name) if out.strip() else {}
    if rc not in (0, 5):
        module.fail_json(msg=result.get('message') or err.strip(), exit_status=rc,
                         outcome='failed-unchanged', installed=installed)
    available = rc == 0
    to = result.get('to', '')
    if state == 'fetched' and available and fetched_version(status) == to:
        available = False
    kind = 'fetch-available' if state == 'fetched' else 'upgrade-available'
    return dict(changed=available, outcome=kind if available else 'nothing-to-do',
                to=to, message=result.get('message', ''), exit_status=rc)


def run_unit(module, name):
    """`systemctl start upgrade@NAME.service`, which waits for the oneshot;
    its exit status (0 when the unit succeeded: upgraded or nothing to do)."""
    rc, out, err = module.run_command(['systemctl', 'start', 'upgrade@%s.service' % name])
    return rc


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='upgraded',
                       choices=['upgraded', 'fetched', 'rolled_back']),
            upgrader=dict(type='path', default='/usr/bin/upgrader'),
        ),
        supports_check_mode=True,
    )
    name = module.params['name']
    state = module.params['state']
    program = module.params['upgrader']
    began = time.time()

    if module.check_mode:
        result = check(module, program, name, state)
        status = status_of(module, program, name)
        result.update(installed=version_of(status, 'installed'),
                      quarantined=quarantined(status),
                      seconds=round(time.time() - began, 3))
        result.setdefault('from', version_of(status, 'installed'))
        module.exit_json(**result)

    if state == 'upgraded':
        systemctl_rc = run_unit(module, name)
        status = status_of(module, program, name)
        report = unit_report(systemctl_rc, status, began)
        exit_status = report['exit_status']
    else:
        command = 'fetch' if state == 'fetched' else 'rollback'
        exit_status, out, err = module.run_command([program, '--json', command, name])
        printed = json_of(module, out, 'upgrader %s %s' % (command, name)) if out.strip() else {}
        status = status_of(module, program, name)
        report = {'outcome': outcome_of(state, exit_status),
                  'from': printed.get('from', ''), 'to': printed.get('to', ''),
                  'message': printed.get('message') or err.strip()}

    result = dict(
        changed=is_change(report['outcome']),
        outcome=report['outcome'],
        installed=version_of(status, 'installed'),
        quarantined=quarantined(status),
        message=report['message'],
        exit_status=exit_status,
        seconds=round(time.time() - began, 3),
    )
    result['from'] = report['from']
    result['to'] = report['to']
    if is_failure(report['outcome']):
        module.fail_json(msg='%s: %s' % (report['outcome'], report['message']), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
