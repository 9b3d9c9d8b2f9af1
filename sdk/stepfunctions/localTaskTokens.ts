import { randomUUID } from "node:crypto";

/**
 * The task tokens of `.waitForTaskToken` states that local executions (`runStateMachineLocally`)
 * wait on in this process. Completing one is what SendTaskSuccess / SendTaskFailure do on AWS.
 */

/** How a waiting state is completed: with its output, or failed with an ASL error and cause. */
export type TaskTokenOutcome = { output: unknown } | { error: string; cause?: string };

interface Waiter {
  settle(outcome: TaskTokenOutcome): void;
}

// One table per process, even with two copies of the SDK loaded (the server's and a flow file's).
const slots = globalThis as typeof globalThis & { [key: symbol]: unknown };
const KEY = Symbol.for("aloft.localTaskTokens");
const waiters = (slots[KEY] ??= new Map<string, Waiter>()) as Map<string, Waiter>;

/** Local tokens start with this, so that a token tells which adapter completes it. */
export const LOCAL_TOKEN_PREFIX = "aloft-local:";

/**
 * A new token and the promise of its outcome; `cancel` forgets the token (the state timed out or
 * the execution ended).
 *
 * @example
 * ```ts
 * const { token, outcome, cancel } = waitForLocalTaskToken();
 * ```
 */
export function waitForLocalTaskToken(): { token: string; outcome: Promise<TaskTokenOutcome>; cancel: () => void } {
  const token = `${LOCAL_TOKEN_PREFIX}${randomUUID()}`;
  const outcome = new Promise<TaskTokenOutcome>((resolve) => {
    waiters.set(token, {
      settle: (value) => {
        waiters.delete(token);
        resolve(value);
      },
    });
  });
  return { token, outcome, cancel: () => waiters.delete(token) };
}

/**
 * Completes a local execution's waiting state; false when no local execution waits on the token
 * (it ended, timed out, or the token is not local).
 *
 * @example
 * ```ts
 * completeLocalTaskToken(token, { output: { approved: true, input: null } }); // true
 * ```
 */
export function completeLocalTaskToken(token: string, outcome: TaskTokenOutcome): boolean {
  const waiter = waiters.get(token);
  if (!waiter) return false;
  waiter.settle(outcome);
  return true;
}
