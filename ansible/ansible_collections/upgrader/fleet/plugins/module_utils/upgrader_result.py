# -*- coding: utf-8 -*-
# Copyright (c) 2026 upgrader maintainers
# MIT License (see LICENSE in the repository)
"""What a run of upgrader means for Ansible: its outcome, whether it
changed the host, whether it failed, and the versions and message read
from `upgrader --json status`. Pure functions, unit-tested without a
host (tests/unit)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

# upgrader's documented exit statuses (man upgrader, EXIT STATUS).
EXIT_DONE = 0
EXIT_FAILED_UNCHANGED = 1
EXIT_USAGE = 2
EXIT_ROLLED_BACK = 3
EXIT_ROLLBACK_FAILED = 4
EXIT_NOTHING_TO_DO = 5

# What a successful run of each state is called.
DONE_OUTCOME = {
    'upgraded': 'upgraded',
    'fetched': 'fetched',
    'rolled_back': 'rolled-back-on-request',
}

FAILED_OUTCOMES = {
    EXIT_FAILED_UNCHANGED: 'failed-unchanged',
    EXIT_USAGE: 'failed-unchanged',
    EXIT_ROLLED_BACK: 'rolled-back',
    EXIT_ROLLBACK_FAILED: 'rollback-failed',
}


def outcome_of(state, exit_status):
    """The outcome of a run of `state` that exited with `exit_status`."""
    if exit_status == EXIT_DONE:
        return DONE_OUTCOME[state]
    if exit_status == EXIT_NOTHING_TO_DO:
        return 'nothing-to-do'
    return FAILED_OUTCOMES.get(exit_status, 'failed-unchanged')


def is_failure(outcome):
    """Every outcome but doing the job or having nothing to do fails."""
    return outcome not in ('upgraded', 'fetched', 'rolled-back-on-request',
                           'nothing-to-do')


def is_change(outcome):
    """What changed the host: a release installed, fetched, rolled back
    (also a failed upgrade that was rolled back: it stopped the service and
    quarantined a version)."""
    return outcome not in ('nothing-to-do', 'failed-unchanged')


def parse_time(text):
    """upgrader's ISO 8601 UTC time ("2026-12-07T15:40:00Z") as seconds
    since the epoch; None if it is not one."""
    try:
        parsed = datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ')
    except (TypeError, ValueError):
        return None
    return (parsed - datetime.datetime(1970, 1, 1)).total_seconds()


def last_run(status, since):
    """The state file's last result if it was written at or after `since`
    (seconds since the epoch; the state's times have whole seconds), else
    an empty dict."""
    last = status.get('last') or {}
    when = parse_time(last.get('time'))
    if when is None or when < int(since):
        return {}
    return last


def quarantined(status):
    """The quarantined versions, oldest first."""
    return [q.get('version', '') for q in status.get('quarantined') or []
            if isinstance(q, dict)]


def version_of(status, key):
    """The version of status[key] (installed, previous), '' if none."""
    ref = status.get(key) or {}
    return ref.get('version', '') if isinstance(ref, dict) else ''


def fetched_version(status):
    """The version of the release fetched ahead, '' if none."""
    fetched = status.get('fetched') or {}
    release = fetched.get('release') or {} if isinstance(fetched, dict) else {}
    return release.get('version', '') if isinstance(release, dict) else ''


# The state file's last results, as outcomes, and their exit statuses.
EXIT_OF = {
    'upgraded': EXIT_DONE,
    'rolled-back-on-request': EXIT_DONE,
    'nothing-to-do': EXIT_NOTHING_TO_DO,
    'failed-unchanged': EXIT_FAILED_UNCHANGED,
    'rolled-back': EXIT_ROLLED_BACK,
    'rollback-failed': EXIT_ROLLBACK_FAILED,
}


def unit_report(systemctl_rc, status, since):
    """A run through upgrade@NAME.service. systemd keeps no exit status of
    a oneshot's run, so the outcome is the one the state file recorded for
    it (every run records one, written at or after `since`); without one (a
    refused first run of an instance, which writes no state) it is said by
    whether the unit failed. The state's times have whole seconds: a result
    of an earlier run in the same second is told apart by the unit, which
    succeeds exactly when upgrader exits 0 or 5 (upgraded, nothing to do)."""
    last = last_run(status, since)
    outcome = last.get('result', '')
    if outcome in EXIT_OF and is_failure(outcome) == (systemctl_rc == 0):
        outcome = ''
    if outcome not in EXIT_OF:
        outcome = 'nothing-to-do' if systemctl_rc == 0 else 'failed-unchanged'
        last = {}
    return {
        'outcome': outcome,
        'exit_status': EXIT_OF[outcome],
        'from': last.get('from', version_of(status, 'installed')),
        'to': last.get('to', version_of(status, 'installed')),
        'message': last.get('message', '') or (
            'upgrade@ succeeded' if systemctl_rc == 0 else 'upgrade@ failed'),
    }
