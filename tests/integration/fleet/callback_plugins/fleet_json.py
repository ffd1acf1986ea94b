# -*- coding: utf-8 -*-
# Copyright (c) 2026 upgrader maintainers
# MIT License (see LICENSE in the repository)
"""The fleet tests' record of a playbook run, as one JSON object on
stdout: every play entry (one per serial batch) with its tasks and each
host's result, and the per-host stats. ansible-core has no JSON callback of
its own (that one is in ansible.posix)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
name: fleet_json
type: stdout
short_description: the fleet tests' JSON record of a playbook run
description: Plays, tasks and each host's result, and the stats, as JSON.
'''

import json
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'fleet_json'

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name(), 'started': time.time()}, 'tasks': []})

    def _task(self, task):
        tasks = self.plays[-1]['tasks']
        if not tasks or tasks[-1]['task']['uuid'] != task._uuid:
            tasks.append({'task': {'name': task.get_name(), 'uuid': task._uuid, 'started': time.time()},
                          'hosts': {}})
        return tasks[-1]

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task(task)

    def _record(self, result, **extra):
        entry = dict(result._result)
        entry.update(extra)
        entry['_ended'] = time.time()
        self._task(result._task)['hosts'][result._host.get_name()] = entry

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        summary = dict((h, stats.summarize(h)) for h in hosts)
        self._display.display(json.dumps({'plays': self.plays, 'stats': summary},
                                         default=str, sort_keys=True))
