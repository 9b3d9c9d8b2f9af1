"""One Prefect 3 workload in a fresh process, run by bench/engine/run.ts.

Usage: python workloads.py <W1|W2|W3> <tasks>
Prints one JSON line: {"workload", "tasks", "seconds", "maxRssKb", "prefectVersion"}.

The same shapes as bench/engine/aloftWorkload.mjs:
  W1  tasks called one after another in one flow (each call runs the task and returns its result);
  W2  one ``noop.map(items)`` on a flow whose task runner is ThreadPoolTaskRunner(max_workers=64),
      so at most 64 task runs are in flight; the flow waits for every future's result;
  W3  sequential calls of a task returning a 10,000-element list of ints; the flow checks each
      list's length and keeps none of them.
Prefect runs in its default local mode: no PREFECT_API_URL, so it starts its ephemeral server.
"""

import json
import resource
import sys
import time

import prefect
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

ARRAY_LENGTH = 10_000
MAP_CONCURRENCY = 64


@task
def noop(i: int) -> int:
    return i


@task
def make_array(i: int) -> list[int]:
    return [i + k for k in range(ARRAY_LENGTH)]


@flow
def w1(n: int) -> int:
    done = 0
    for i in range(n):
        if noop(i) == i:
            done += 1
    return done


@flow(task_runner=ThreadPoolTaskRunner(max_workers=MAP_CONCURRENCY))
def w2(n: int) -> int:
    results = noop.map(list(range(n))).result()
    return sum(1 for i, value in enumerate(results) if value == i)


@flow
def w3(n: int) -> int:
    done = 0
    for i in range(n):
        if len(make_array(i)) == ARRAY_LENGTH:
            done += 1
    return done


FLOWS = {"W1": w1, "W2": w2, "W3": w3}


def run_checked(workload: str, n: int) -> None:
    state = FLOWS[workload](n, return_state=True)
    result = state.result(raise_on_failure=False)
    if not state.is_completed() or result != n:
        raise SystemExit(f"flow run of {workload} ended {state.name} with {result!r} of {n} task results checked")


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in FLOWS or not sys.argv[2].isdigit() or int(sys.argv[2]) < 1:
        raise SystemExit(f"usage: workloads.py <{'|'.join(FLOWS)}> <tasks >= 1> (got {' '.join(sys.argv[1:])})")
    workload, count = sys.argv[1], int(sys.argv[2])
    # A small warm-up run (same as the Aloft side): it also starts the ephemeral server, so the
    # timed run measures task throughput rather than server start-up and database migration.
    run_checked(workload, min(10, count))
    started = time.perf_counter()
    run_checked(workload, count)
    seconds = time.perf_counter() - started
    max_rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"workload": workload, "tasks": count, "seconds": seconds, "maxRssKb": max_rss_kb, "prefectVersion": prefect.__version__}), flush=True)


if __name__ == "__main__":
    main()
