# -*- coding: utf-8 -*-
# Copyright (c) 2026 upgrader maintainers
# MIT License (see LICENSE in the repository)
"""The module's logic: what each exit status of upgrader means for Ansible,
and what is read from `upgrader --json status`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import unittest

from ansible_collections.upgrader.fleet.plugins.module_utils.upgrader_result import (
    fetched_version,
    is_change,
    is_failure,
    last_run,
    outcome_of,
    parse_time,
    quarantined,
    unit_report,
)

STATUS = {
    "installed": {"version": "2", "id": "b"},
    "previous": {"version": "1", "id": "a"},
    "last": {"result": "rolled-back", "time": "2026-12-07T15:40:00Z", "from": "2",
             "to": "3", "message": "upgrade to 3 failed (...); rolled back to 2"},
    "quarantined": [{"version": "3", "time": "t", "reason": "r"}],
}
RUN_BEGAN = parse_time("2026-12-07T15:39:58Z")


class TheOutcomes(unittest.TestCase):
    def test_each_exit_status_is_an_outcome(self):
        self.assertEqual(outcome_of("upgraded", 0), "upgraded")
        self.assertEqual(outcome_of("fetched", 0), "fetched")
        self.assertEqual(outcome_of("rolled_back", 0), "rolled-back-on-request")
        self.assertEqual(outcome_of("upgraded", 5), "nothing-to-do")
        self.assertEqual(outcome_of("upgraded", 1), "failed-unchanged")
        self.assertEqual(outcome_of("upgraded", 2), "failed-unchanged")
        self.assertEqual(outcome_of("upgraded", 3), "rolled-back")
        self.assertEqual(outcome_of("upgraded", 4), "rollback-failed")
        self.assertEqual(outcome_of("upgraded", 137), "failed-unchanged")

    def test_only_doing_the_job_or_nothing_to_do_succeeds(self):
        for ok in ("upgraded", "fetched", "rolled-back-on-request", "nothing-to-do"):
            self.assertFalse(is_failure(ok), ok)
        for bad in ("failed-unchanged", "rolled-back", "rollback-failed"):
            self.assertTrue(is_failure(bad), bad)

    def test_a_rollback_changed_the_host_a_refusal_did_not(self):
        self.assertTrue(is_change("upgraded"))
        self.assertTrue(is_change("rolled-back"))
        self.assertTrue(is_change("rollback-failed"))
        self.assertFalse(is_change("nothing-to-do"))
        self.assertFalse(is_change("failed-unchanged"))


class TheStatus(unittest.TestCase):
    def test_reads_the_last_result_of_this_run(self):
        self.assertEqual(last_run(STATUS, RUN_BEGAN)["to"], "3")

    def test_ignores_a_last_result_from_before_this_run(self):
        self.assertEqual(last_run(STATUS, RUN_BEGAN + 10), {})

    def test_ignores_a_time_that_is_not_one(self):
        self.assertEqual(last_run({"last": {"time": "yesterday"}}, 0), {})
        self.assertIsNone(parse_time(None))

    def test_reports_a_unit_run_from_the_result_the_state_recorded_for_it(self):
        report = unit_report(1, STATUS, RUN_BEGAN)
        self.assertEqual(report["outcome"], "rolled-back")
        self.assertEqual(report["exit_status"], 3)
        self.assertEqual((report["from"], report["to"]), ("2", "3"))
        self.assertIn("rolled back to 2", report["message"])

    def test_reports_a_refused_first_run_by_the_units_failure(self):
        report = unit_report(1, {}, RUN_BEGAN)
        self.assertEqual(report["outcome"], "failed-unchanged")
        self.assertEqual(report["exit_status"], 1)
        self.assertEqual(report["message"], "upgrade@ failed")

    def test_does_not_take_an_earlier_runs_result_for_this_one(self):
        report = unit_report(0, STATUS, RUN_BEGAN + 10)
        self.assertEqual(report["outcome"], "nothing-to-do")
        self.assertEqual(report["from"], "2")

    def test_does_not_take_an_earlier_success_in_the_same_second_for_a_failed_unit(self):
        upgraded = dict(STATUS, last=dict(STATUS["last"], result="upgraded"))
        report = unit_report(1, upgraded, RUN_BEGAN)
        self.assertEqual(report["outcome"], "failed-unchanged")
        self.assertEqual(report["message"], "upgrade@ failed")

    def test_does_not_take_an_earlier_failure_in_the_same_second_for_a_good_unit(self):
        report = unit_report(0, STATUS, RUN_BEGAN)
        self.assertEqual(report["outcome"], "nothing-to-do")

    def test_lists_quarantined_and_fetched_versions(self):
        self.assertEqual(quarantined(STATUS), ["3"])
        self.assertEqual(quarantined({"quarantined": ["junk", {"version": "4"}]}), ["4"])
        self.assertEqual(fetched_version({"fetched": {"release": {"version": "5"}}}), "5")
        self.assertEqual(fetched_version({}), "")


if __name__ == "__main__":
    unittest.main()
