import { CancelledError } from "../model/errors.js";

/**
 * A counting semaphore with a FIFO queue: at most `limit` holders at once. `tryAcquire` is the
 * allocation-free fast path; `acquire` waits in line and gives up if the signal aborts.
 *
 * @example
 * ```ts
 * const slots = new Limiter("taskConcurrency", 16);
 * if (!slots.tryAcquire()) await slots.acquire(signal);
 * try { await work(); } finally { slots.release(); }
 * ```
 */
export class Limiter {
  private inUse = 0;
  private readonly waiting: Array<{ grant: () => void }> = [];

  constructor(
    readonly label: string,
    readonly limit: number,
  ) {}

  get active(): number {
    return this.inUse;
  }

  tryAcquire(): boolean {
    if (this.inUse < this.limit && this.waiting.length === 0) {
      this.inUse++;
      return true;
    }
    return false;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const entry = {
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const index = this.waiting.indexOf(entry);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(abortReason(signal));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next.grant(); // the slot passes straight to the next in line
    else this.inUse--;
  }
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new CancelledError("cancelled while waiting for a concurrency slot");
}
