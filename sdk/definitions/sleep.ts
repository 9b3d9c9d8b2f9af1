import { activeTrace } from "../compiler/traceContext.js";
import { systemClock } from "../engine/clock.js";
import { runScopes } from "../engine/context.js";
import { durationToMs, type Duration } from "../model/duration.js";

/**
 * Pauses a flow for a while: on the run's clock (so `FakeClock` from `aloft/testing` skips it), and
 * as a Wait state when the flow is compiled for Step Functions. A cancelled run stops waiting.
 * Outside a run it simply waits.
 *
 * @example
 * ```ts
 * import { flow, sleep } from "aloft";
 *
 * export const nudge = flow({ name: "nudge", run: async ({ user }: { user: string }) => {
 *   await sendReminder(user);
 *   await sleep("1h");
 *   await sendReminder(user);
 * }});
 * ```
 */
export function sleep(duration: Duration): Promise<void> {
  const trace = activeTrace();
  if (trace) return trace.sleep(duration);
  const ms = durationToMs(duration);
  if (ms === undefined) return Promise.reject(new TypeError(`sleep(duration): not a duration: ${String(duration)} (give seconds or a string like "30s", "5m")`));
  const scope = runScopes.getStore();
  const clock = scope?.flow?.services.clock ?? systemClock;
  return clock.sleep(ms, scope?.task?.signal ?? scope?.flow?.signal);
}
