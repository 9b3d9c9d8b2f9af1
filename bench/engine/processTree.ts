import { readdirSync, readFileSync } from "node:fs";

/**
 * The resident set size, in KiB, of a process and all its descendants (Prefect's ephemeral mode
 * runs its API server as a child process, so the process alone would under-count). Linux only:
 * reads /proc. Processes that exit mid-scan are skipped.
 *
 * @example
 * ```ts
 * const kib = treeRssKib(child.pid!);
 * ```
 */
export function treeRssKib(rootPid: number, seen?: Set<number>): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const parent = parentOf(pid);
    if (parent === undefined) continue;
    const siblings = children.get(parent);
    if (siblings) siblings.push(pid);
    else children.set(parent, [pid]);
  }
  let total = 0;
  const pending = [rootPid];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    seen?.add(pid);
    total += processRssKib(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return total;
}

/**
 * Samples {@link treeRssKib} every `intervalMs` until stopped, and keeps the peak.
 *
 * @example
 * ```ts
 * const sampler = new PeakRssSampler(child.pid!);
 * child.on("exit", () => console.log(sampler.stop(), "KiB at peak"));
 * ```
 */
export class PeakRssSampler {
  #peakKib = 0;
  readonly #timer: NodeJS.Timeout;
  /** Every process of the tree seen so far, the root included. */
  readonly seenPids = new Set<number>();

  constructor(
    private readonly rootPid: number,
    intervalMs = 20,
  ) {
    this.sample();
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Takes one more sample (call it just before the child exits, if you can). */
  sample(): void {
    this.#peakKib = Math.max(this.#peakKib, treeRssKib(this.rootPid, this.seenPids));
  }

  /** Stops sampling and returns the peak seen, in KiB. */
  stop(): number {
    clearInterval(this.#timer);
    return this.#peakKib;
  }
}

function parentOf(pid: number): number | undefined {
  const stat = readOrUndefined(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces and parentheses: parse after its closing one.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const parent = Number(fields[1]);
  return Number.isInteger(parent) ? parent : undefined;
}

/**
 * The resident set size of one process, in KiB (VmRSS in /proc/<pid>/status); 0 once it has exited.
 *
 * @example
 * ```ts
 * const kib = processRssKib(server.pid);
 * ```
 */
export function processRssKib(pid: number): number {
  return processMemoryKib(pid).rssKib;
}

/**
 * One process's resident memory, in KiB, and its two parts (/proc/<pid>/status): anonymous memory
 * (its heaps: what the process itself holds) and file-backed pages (its code and the files it maps,
 * pages the kernel can drop and read again). All 0 once it has exited.
 *
 * @example
 * ```ts
 * const { rssKib, anonKib, fileKib } = processMemoryKib(server.pid);
 * ```
 */
export function processMemoryKib(pid: number): { rssKib: number; anonKib: number; fileKib: number } {
  const status = readOrUndefined(`/proc/${pid}/status`) ?? "";
  const field = (name: string) => Number(status.match(new RegExp(`^${name}:\\s+(\\d+) kB$`, "m"))?.[1] ?? 0);
  return { rssKib: field("VmRSS"), anonKib: field("RssAnon"), fileKib: field("RssFile") + field("RssShmem") };
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Resolves once none of `pids` is alive (a child's server subprocess can outlive it for a moment,
 * and would otherwise load the machine during the next measurement), or after `timeoutMs`.
 *
 * @example
 * ```ts
 * await waitForExit(sampler.seenPids, 30_000);
 * ```
 */
export async function waitForExit(pids: Iterable<number>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const alive = () => [...pids].filter((pid) => /\) [^ZX] /.test(readOrUndefined(`/proc/${pid}/stat`) ?? ""));
  while (alive().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}
