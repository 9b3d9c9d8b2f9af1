/**
 * Traps for what makes a flow body non-deterministic — the clock, randomness, timers and network —
 * while (and only while) the compiler traces a flow. Outside a trace each trap calls the original.
 */
import { createRequire, syncBuiltinESMExports } from "node:module";
import { activeTrace } from "./traceContext.js";

const FIX_INPUT = "pass it in as a parameter or compute it in a task, or run the flow in durable mode";
const INSTALLED = Symbol.for("aloft.compilerTraps");

const slots = globalThis as typeof globalThis & { [key: symbol]: unknown };
const DATE_SWAP = Symbol.for("aloft.compilerDateSwap");

/**
 * Runs `body` (a trace) with the traps on. Function traps (`Date.now`, `Math.random`, `fetch` …) are
 * installed once and call the original outside a trace; the `Date` constructor is replaced only
 * while some trace runs, so `value.constructor === Date` holds the rest of the time.
 *
 * @example
 * ```ts
 * const traced = await withDeterminismTraps(() => runTheFlowBody());
 * ```
 */
export async function withDeterminismTraps<T>(body: () => Promise<T>): Promise<T> {
  installDeterminismTraps();
  const swap = slots[DATE_SWAP] as { original: DateConstructor; trapped: DateConstructor; depth: number };
  if (swap.depth++ === 0) globalThis.Date = swap.trapped;
  try {
    return await body();
  } finally {
    if (--swap.depth === 0) globalThis.Date = swap.original;
  }
}

function installDeterminismTraps(): void {
  if (slots[INSTALLED]) return;
  slots[INSTALLED] = true;

  const refuse = (what: string, fix: string) => activeTrace()?.refuse(what, fix);
  const trap = <F extends (...args: never[]) => unknown>(original: F, what: string, fix: string): F =>
    function (this: unknown, ...args: Parameters<F>) {
      refuse(what, fix);
      return original.apply(this, args);
    } as F;

  const clock = "reads the clock (Date.now / new Date()) in the flow body";
  const OriginalDate = Date;
  const originalNow = Date.now.bind(Date);
  const trapped = new Proxy(OriginalDate, {
    construct(target, args, newTarget) {
      if (args.length === 0) refuse(clock, FIX_INPUT);
      return Reflect.construct(target, args, newTarget) as object;
    },
    apply(target, thisArg, args) {
      refuse(clock, FIX_INPUT);
      return Reflect.apply(target, thisArg, args) as unknown;
    },
  });
  slots[DATE_SWAP] = { original: OriginalDate, trapped, depth: 0 };
  OriginalDate.now = trap(originalNow, clock, FIX_INPUT);

  const random = "reads randomness (Math.random / randomUUID) in the flow body";
  Math.random = trap(Math.random.bind(Math), random, FIX_INPUT);
  const webCrypto = globalThis.crypto;
  if (webCrypto) {
    webCrypto.randomUUID = trap(webCrypto.randomUUID.bind(webCrypto), random, FIX_INPUT);
    webCrypto.getRandomValues = trap(webCrypto.getRandomValues.bind(webCrypto), random, FIX_INPUT) as typeof webCrypto.getRandomValues;
  }
  const nodeCrypto = createRequire(import.meta.url)("node:crypto") as Record<string, (...args: never[]) => unknown>;
  for (const name of ["randomUUID", "randomBytes", "randomInt"]) {
    const original = nodeCrypto[name];
    if (original) nodeCrypto[name] = trap(original, random, FIX_INPUT);
  }
  syncBuiltinESMExports();

  if (typeof globalThis.fetch === "function") {
    globalThis.fetch = trap(globalThis.fetch, "calls fetch() in the flow body", "call it in a task, or run the flow in durable mode");
  }
  const timer = "sets a timer in the flow body";
  const timerFix = "wait with sleep(duration) from aloft, or run the flow in durable mode";
  globalThis.setTimeout = trap(globalThis.setTimeout, timer, timerFix) as typeof setTimeout;
  globalThis.setInterval = trap(globalThis.setInterval, timer, timerFix) as typeof setInterval;
}
