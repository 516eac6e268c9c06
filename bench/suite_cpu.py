"""Where the test suite's CPU goes, per test: a pytest plugin, and its report.

    ./dev test -q -p bench.suite_cpu                   # writes var/suite-cpu/<worker>.jsonl
    .venv/bin/python bench/suite_cpu.py [--top 30]     # the report of the last run

The suite is CPU-bound on two cores (bench/RESULTS.md), so a test's cost is its CPU, not its
wall time: a test waiting for a flow run leaves the cores to the other workers. Each test is
charged the CPU its xdist worker's whole process tree spent from its set-up to its teardown:
the worker, the servers it started (a Prefect test server, a stack's Prefect server, gunicorn,
workers and their forked runs, SeaweedFS, Chromium) and the children they reaped. A stack's
start is charged to the first test of its group, the session's teardowns to a worker's last
test, an idle server to whichever test runs beside it; PostgreSQL and other workers'
processes are not counted, nor a process that left the tree (re-parented to init) before it
ended.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import time
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent.parent / "var" / "suite-cpu"
_TICKS = os.sysconf("SC_CLK_TCK")
_log = None
_recording = False


def tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU of `root_pid` and every process below it, with their reaped children's."""
    parents, cpu = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # ended meanwhile
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        parents[int(entry)] = int(fields[1])
        cpu[int(entry)] = sum(int(ticks) for ticks in fields[11:15]) / _TICKS  # utime stime cutime cstime
    total = 0.0
    for pid, seconds in cpu.items():
        ancestor = pid
        while ancestor not in (root_pid, 0, None):
            ancestor = parents.get(ancestor)
        total += seconds if ancestor == root_pid else 0.0
    return total


def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        shutil.rmtree(OUT_DIR, ignore_errors=True)  # the last run's files


def pytest_sessionstart(session):
    """Each test is recorded where it runs: in an xdist worker, or in the one process of a run
    without workers; not again in the controller, whose tree holds every worker. (xdist's
    controller plugin is registered in its own pytest_configure, which may come after ours.)"""
    global _recording
    config = session.config
    _recording = hasattr(config, "workerinput") or not config.pluginmanager.has_plugin("dsession")


def _record(event: str, nodeid: str) -> None:
    global _log
    if not _recording:
        return
    if _log is None:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        _log = open(OUT_DIR / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.jsonl", "w")
    _log.write(json.dumps({"event": event, "test": nodeid, "time": time.time(),
                           "cpu": tree_cpu_seconds(os.getpid())}) + "\n")
    _log.flush()


def pytest_runtest_logstart(nodeid, location):
    _record("start", nodeid)


def pytest_runtest_logfinish(nodeid, location):
    _record("end", nodeid)


def report(top: int) -> None:
    by_test, wall = collections.Counter(), collections.Counter()
    for path in sorted(OUT_DIR.glob("*.jsonl")):
        started = {}
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if event["event"] == "start":
                started[event["test"]] = event
            elif event["test"] in started:
                begin = started.pop(event["test"])
                by_test[event["test"]] += event["cpu"] - begin["cpu"]
                wall[event["test"]] += event["time"] - begin["time"]
    by_module, module_wall = collections.Counter(), collections.Counter()
    for test, seconds in by_test.items():
        module = test.split("::")[0]
        by_module[module] += seconds
        module_wall[module] += wall[test]
    print(f"{len(by_test)} tests, {sum(by_test.values()):.0f} s of CPU in their workers' process trees\n")
    print(f"{'CPU s':>7} {'wall s':>7}  module")
    for module, seconds in by_module.most_common(top):
        print(f"{seconds:7.1f} {module_wall[module]:7.1f}  {module}")
    print(f"\n{'CPU s':>7} {'wall s':>7}  test")
    for test, seconds in by_test.most_common(top):
        print(f"{seconds:7.1f} {wall[test]:7.1f}  {test}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--top", type=int, default=30, help="how many modules and tests to list")
    report(parser.parse_args().top)
