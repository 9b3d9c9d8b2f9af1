import { MetricUnit, type Metrics } from "@aws-lambda-powertools/metrics";
import type { FlowRunRecord } from "../store/records.js";

/**
 * An `onFlowRunFinished` hook that counts the finished run in `metrics`: `FlowRunsFinished` always,
 * and `FlowRunsFailed` too when it FAILED or CRASHED (the failure-rate alarm divides the two). Each
 * function publishes under its own `service` dimension, for the runs that finished in it.
 *
 * @example
 * ```ts
 * const deps = serviceDeps(store, payloads, { onFlowRunFinished: countFinishedFlowRuns(metrics) });
 * ```
 */
export function countFinishedFlowRuns(metrics: Metrics): (run: FlowRunRecord) => void {
  return (run) => {
    metrics.addMetric("FlowRunsFinished", MetricUnit.Count, 1);
    if (run.state.type === "FAILED" || run.state.type === "CRASHED") metrics.addMetric("FlowRunsFailed", MetricUnit.Count, 1);
  };
}
