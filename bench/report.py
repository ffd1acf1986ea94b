#!/usr/bin/env python3
"""Merges the benchmark parts into one JSON file and prints the table.

Fails (exit 1) only if a figure is missing or not a number: targets are
shown, never enforced.
"""
import argparse
import json
import os
import platform
import sys

# key, target as text, check (None: report only)
FIGURES = [
    ("fetch_vs_curl_sha256sum", "<= 0.35", lambda v: v <= 0.35),
    ("fetch_vs_curl_sync", "<= 1.00", lambda v: v <= 1.00),
    ("fetch_vs_curl_sync_keep_file", "report", None),
    ("fetch_https_vs_http", "report", None),
    ("peak_rss_mib", "<= 16", lambda v: v <= 16),
    ("peak_rss_mib_2g", "<= 16", lambda v: v <= 16),
    ("peak_rss_mib_bare_env", "report", None),
    ("downtime_ms_restart", "floor", None),
    ("downtime_ms_manual", "report", None),
    ("downtime_ms_upgrader", "report", None),
    ("downtime_ratio_upgrader_vs_restart", "<= 1.1", lambda v: v <= 1.1),
    ("downtime_ratio_upgrader_vs_manual", "< 1", lambda v: v < 1),
    ("refused_socket_activated", "0", lambda v: v == 0),
    ("rollback_latency_ms", "<= 1000 + old_start_ms", "rollback"),
    ("old_start_ms", "report", None),
    ("noop_ms", "<= 20", lambda v: v <= 20),
    ("swap_ms_p99", "report", None),
    ("apply_ms", "report", None),
    ("apply_after_fetch_ms", "report", None),
    ("apply_after_fetch_vs_apply", "<= 0.5", lambda v: v <= 0.5),
    ("fleet_apply_alone_ms", "report", None),
    ("fleet_rollout_ms", "report", None),
    ("fleet_batches", "report", None),
    ("fleet_fetch_play_ms", "report", None),
    ("fleet_batch_beyond_module_ms", "report", None),
    ("fleet_wall_vs_batches", "<= 1.2", lambda v: v <= 1.2),
    ("container_upgrade_ms", "report", None),
    ("podman_auto_update_ms", "report", None),
    ("container_upgrade_vs_podman_auto_update", "<= 1.0", lambda v: v <= 1.0),
    ("container_restart_downtime_ms", "report", None),
    ("container_downtime_ms", "report", None),
    ("container_downtime_vs_restart", "<= 1.1", lambda v: v <= 1.1),
    ("podman_auto_update_downtime_ms", "report", None),
]
# Debian 13 (bench/container.sh with BENCH_QUADLET=1): reported when that
# part ran (bench/run says when it did not).
TRIXIE_FIGURES = [
    ("container_upgrade_ms_trixie", "report", None),
    ("podman_auto_update_ms_trixie", "report", None),
    ("container_upgrade_vs_podman_auto_update_trixie", "<= 1.0", lambda v: v <= 1.0),
    ("container_downtime_ms_trixie", "report", None),
    ("podman_auto_update_downtime_ms_trixie", "report", None),
    ("container_downtime_vs_podman_auto_update_trixie", "<= 1.0", lambda v: v <= 1.0),
    ("bad_image_day1_downtime_ms_upgrader_trixie", "report", None),
    ("bad_image_day1_downtime_ms_podman_auto_update_trixie", "report", None),
    ("bad_image_day2_downtime_ms_upgrader_trixie", "0", lambda v: v == 0),
    ("bad_image_day2_downtime_ms_podman_auto_update_trixie", "report", None),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", required=True, help="where to write the merged JSON")
    parser.add_argument("parts", nargs="+")
    args = parser.parse_args()

    merged = {}
    for part in args.parts:
        with open(part) as f:
            merged.update(json.load(f))
    merged["machine"] = "%s, %d cores, %s" % (
        platform.node(), os.cpu_count() or 0, platform.platform())
    merged["smoke"] = os.environ.get("BENCH_SMOKE", "0") == "1"

    # The Debian 13 figures when that part ran; only them when only it ran.
    trixie = any(k.endswith("_trixie") for k in merged)
    measured = [k for k in merged if k not in ("machine", "smoke")]
    figures = (FIGURES if any(not k.endswith("_trixie") for k in measured) else []) + \
        (TRIXIE_FIGURES if trixie else [])
    missing = [k for k, _, _ in figures
               if not isinstance(merged.get(k), (int, float)) or isinstance(merged.get(k), bool)]
    print("%-40s %12s  %-24s %s" % ("figure", "value", "target", ""))
    for key, target, check in figures:
        value = merged.get(key)
        if key in missing:
            print("%-40s %12s  %-24s MISSING" % (key, "-", target))
            continue
        if check == "rollback":
            met = value <= 1000 + merged.get("old_start_ms", 0)
        elif check is None:
            met = None
        else:
            met = check(value)
        mark = "" if met is None else ("met" if met else "MISSED")
        print("%-40s %12.3f  %-24s %s" % (key, value, target, mark))
    print("machine: %s" % merged["machine"])

    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(merged, f, indent=2, sort_keys=True)
        f.write("\n")
    print("written: %s" % args.json)
    if missing:
        print("missing or not a number: %s" % ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
