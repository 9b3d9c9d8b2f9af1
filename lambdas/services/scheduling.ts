import type { FlowRunRecord } from "../store/records.js";
import type { DeploymentService } from "./deployments.js";
import { queueDelaySeconds, type WorkQueue } from "./ports.js";

/**
 * What a schedule fires: the deployment to run (id or name), optional parameters overlaid on the
 * deployment's, and when the run is due. EventBridge Scheduler fills `scheduledTime` when the
 * schedule's input says `"scheduledTime": "<aws.scheduler.scheduled-time>"`.
 */
export interface ScheduleFiring {
  deployment: string;
  parameters?: Record<string, unknown>;
  /** ISO 8601: when the run is due, and what makes a firing unique. */
  scheduledTime: string;
}

/** What a firing did: the run (new, or the one an earlier delivery of the same firing made). */
export interface FiringOutcome {
  run: FlowRunRecord;
  created: boolean;
  /** Present when a work-queue message was sent: how long SQS holds it back. */
  delaySeconds?: number;
}

/**
 * The idempotency key of a firing: one run per deployment and due time, however often the
 * scheduler delivers it.
 *
 * @example
 * ```ts
 * firingKey({ deployment: "nightly-etl", scheduledTime: "2026-11-01T02:00:00Z" }); // "schedule:nightly-etl:2026-11-01T02:00:00Z"
 * ```
 */
export function firingKey(firing: Pick<ScheduleFiring, "deployment" | "scheduledTime">): string {
  return `schedule:${firing.deployment}:${firing.scheduledTime}`;
}

/**
 * Scheduled deployment runs: a firing creates the run (SCHEDULED for its due time, idempotent by
 * {@link firingKey}) and queues it for dispatch, held back until it is due (at most 15 minutes; the
 * dispatcher re-queues a message that arrives early). Only the delivery that created the run sends
 * a message, so a resent firing makes neither a second run nor a second message; if the process
 * dies between the two, the monitor finds the run Late and queues it.
 *
 * @example
 * ```ts
 * const schedules = new ScheduleService({ deployments, queue, now: Date.now });
 * await schedules.fire({ deployment: "nightly-etl", scheduledTime: "2026-11-01T02:00:00Z" });
 * ```
 */
export class ScheduleService {
  constructor(private readonly deps: { deployments: DeploymentService; queue: WorkQueue; now: () => number }) {}

  async fire(firing: ScheduleFiring): Promise<FiringOutcome> {
    const { run, created } = await this.deps.deployments.run(firing.deployment, {
      idempotencyKey: firingKey(firing),
      scheduledTime: firing.scheduledTime,
      ...(firing.parameters === undefined ? {} : { parameters: firing.parameters }),
    });
    if (!created) return { run, created };
    const delaySeconds = queueDelaySeconds(run.scheduledTime, this.deps.now());
    await this.deps.queue.send({ runId: run.id }, { delaySeconds });
    return { run, created, delaySeconds };
  }
}
