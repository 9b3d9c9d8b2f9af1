import type { AloftClient } from "../../sdk/api/client.js";
import { LatencyRecorder, percentile } from "../api/load.js";

/** The deployment whose runs go through the local pool (bench/runs' one-task flow). */
export const SOAK_DEPLOYMENT = "soak-runs";
/** Flow names of the recorded runs the clients make (a few, so lists filtered by flow find some). */
const FLOW_NAMES = ["soak-etl", "soak-report", "soak-sync", "soak-train", "soak-notify"] as const;
const TAGS = ["nightly", "team-a", "team-b", "adhoc"] as const;
/** A concurrency limit the clients take and give back slots in; large enough never to be full. */
const LIMIT_TAG = "soak-slot";
/** Reads pick among the runs made lately most of the time, any run made so far otherwise. */
const RECENT_RUNS = 200;

/**
 * One kind of user operation and how often the clients pick it, relative to the others. A recorded
 * run (what `ALOFT_API_URL=… aloft run` sends) is 8–9 requests; every other operation 1 or 2.
 */
interface Operation {
  name: string;
  weight: number;
  run(workload: SoakWorkload, client: AloftClient): Promise<void>;
}

/** A run the clients recorded, for the reads that follow. */
interface KnownRun {
  id: string;
  taskRunId?: string;
}

/** The figures of one kind of request. */
export interface RequestKindFigures {
  kind: string;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * The soak's API traffic: clients pick operations at random (seeded, so every run of the benchmark
 * sends the same mix) among recorded runs (create, RUNNING, a task run through RUNNING and
 * COMPLETED with a result, a log batch, a journal entry, sometimes an artifact, the run's final
 * state), reads of runs old and new (the run, its task runs, logs, history, journal, artifacts, a
 * task run), run lists (plain, by flow with its next page, by state, tag, deployment, and the last
 * hour), deployments (list, get, update), work pools, and a concurrency slot taken and released.
 * Every request goes through the SDK's {@link AloftClient}, without retries, and is counted by kind.
 *
 * @example
 * ```ts
 * const workload = new SoakWorkload(client);
 * await workload.prepare();
 * while (workload.requests < 1_000) await workload.step();
 * ```
 */
export class SoakWorkload {
  private readonly recorders = new Map<string, LatencyRecorder>();
  private readonly runs: KnownRun[] = [];
  private readonly random: () => number;
  private readonly totalWeight: number;
  private sequence = 0;

  constructor(
    private readonly client: AloftClient,
    seed = 42,
  ) {
    this.random = mulberry32(seed);
    this.totalWeight = OPERATIONS.reduce((sum, operation) => sum + operation.weight, 0);
  }

  /** Requests sent so far (failed ones included). */
  get requests(): number {
    let count = 0;
    for (const recorder of this.recorders.values()) count += recorder.latenciesMs.length;
    return count;
  }

  /** Requests that did not get the expected answer. */
  get errors(): number {
    let count = 0;
    for (const recorder of this.recorders.values()) count += recorder.errors;
    return count;
  }

  /** The first few failure messages, by kind. */
  firstErrors(): string[] {
    return [...this.recorders].flatMap(([kind, recorder]) => recorder.firstErrors.map((message) => `${kind}: ${message}`)).slice(0, 10);
  }

  /** What the operations need before the first one: the concurrency limit, and one recorded run to read. */
  async prepare(): Promise<void> {
    await this.client.concurrencyLimits.set(LIMIT_TAG, 1_000);
    await recordRun(this, this.client);
    if (this.runs.length === 0) throw new Error(`the first recorded run failed: ${this.firstErrors().join("; ")}`);
  }

  /** Picks one operation and sends its requests. */
  async step(): Promise<void> {
    let pick = this.random() * this.totalWeight;
    for (const operation of OPERATIONS) {
      pick -= operation.weight;
      if (pick < 0) return operation.run(this, this.client);
    }
    return OPERATIONS[0]!.run(this, this.client);
  }

  /** Per kind of request: how many, how many failed, p50 and p99 latency. */
  figures(): RequestKindFigures[] {
    return [...this.recorders]
      .map(([kind, recorder]) => ({ kind, requests: recorder.latenciesMs.length, errors: recorder.errors, p50Ms: percentile(recorder.latenciesMs, 0.5), p99Ms: percentile(recorder.latenciesMs, 0.99) }))
      .sort((a, b) => b.requests - a.requests);
  }

  /** Sends one request of `kind`, timed and counted; its value, or undefined if it failed. */
  async send<T>(kind: string, request: () => Promise<T>): Promise<T | undefined> {
    let recorder = this.recorders.get(kind);
    if (!recorder) this.recorders.set(kind, (recorder = new LatencyRecorder()));
    return (await recorder.time(request))?.value;
  }

  /** The next number of a sequence the operations share (run names, log lines, artifact keys). */
  next(): number {
    return this.sequence++;
  }

  /** A uniform pick in [0, 1). */
  chance(): number {
    return this.random();
  }

  pickOf<T>(values: readonly T[]): T {
    return values[Math.floor(this.random() * values.length)]!;
  }

  remember(run: KnownRun): void {
    this.runs.push(run);
  }

  /** A run recorded earlier: one of the last {@link RECENT_RUNS} most of the time, else any. */
  knownRun(): KnownRun {
    const recent = this.random() < 0.7;
    const from = recent ? Math.max(0, this.runs.length - RECENT_RUNS) : 0;
    return this.runs[from + Math.floor(this.random() * (this.runs.length - from))]!;
  }
}

/** A flow run recorded as a runner or `aloft run` records one: 8 requests, 9 with an artifact. */
async function recordRun(workload: SoakWorkload, client: AloftClient): Promise<void> {
  const n = workload.next();
  const flowName = workload.pickOf(FLOW_NAMES);
  const run = await workload.send("create flow run", () => client.flowRuns.create({ flowName, name: `${flowName}-${n}`, parameters: { n, day: "2026-01-01" }, tags: [workload.pickOf(TAGS)], initialState: "PENDING" }));
  if (!run) return;
  const known: KnownRun = { id: run.id };
  workload.remember(known);
  if (!(await workload.send("propose flow run state", () => client.flowRuns.proposeState(run.id, { state: { type: "RUNNING" } })))) return;
  const taskRun = await workload.send("create task run", () => client.taskRuns.create({ flowRunId: run.id, taskName: "extract", name: `extract-${n}` }));
  if (!taskRun) return;
  known.taskRunId = taskRun.id;
  if (!(await workload.send("propose task run state", () => client.taskRuns.proposeState(taskRun.id, { state: { type: "RUNNING" } })))) return;
  const rows = Array.from({ length: 5 }, (_, index) => ({ id: index, value: `row-${n}-${index}` }));
  await workload.send("propose task run state", () => client.taskRuns.proposeState(taskRun.id, { state: { type: "COMPLETED" }, result: { rows } }));
  const timestamp = new Date().toISOString();
  const logs = Array.from({ length: 5 }, (_, index) => ({ flowRunId: run.id, taskRunId: taskRun.id, timestamp, level: "info" as const, message: `loaded batch ${index} of run ${n}` }));
  await workload.send("post logs", () => client.logs.create({ logs }));
  await workload.send("put journal entry", () => client.flowRuns.putJournalEntry(run.id, `extract-${n}-0`, { rows: rows.length }));
  if (n % 4 === 0) await workload.send("create artifact", () => client.artifacts.create({ key: `soak-report-${n % 50}`, type: "markdown", data: `# Run ${n}\n\n${rows.length} rows`, flowRunId: run.id }));
  const failed = n % 10 === 9;
  await workload.send("propose flow run state", () => client.flowRuns.proposeState(run.id, { state: failed ? { type: "FAILED", message: "soak: every tenth run fails" } : { type: "COMPLETED" }, ...(failed ? {} : { result: { rows: rows.length } }) }));
}

const hourAgo = () => new Date(Date.now() - 3_600_000).toISOString();

const OPERATIONS: readonly Operation[] = [
  { name: "record a run", weight: 10, run: recordRun },
  { name: "get a run", weight: 12, run: (w, c) => w.send("get flow run", () => c.flowRuns.get(w.knownRun().id)).then(() => undefined) },
  {
    name: "get a task run",
    weight: 6,
    run: async (w, c) => {
      const { taskRunId } = w.knownRun();
      if (taskRunId !== undefined) await w.send("get task run", () => c.taskRuns.get(taskRunId));
    },
  },
  { name: "a run's task runs", weight: 5, run: (w, c) => w.send("list a run's task runs", () => c.flowRuns.taskRuns(w.knownRun().id)).then(() => undefined) },
  { name: "a run's logs", weight: 5, run: (w, c) => w.send("list a run's logs", () => c.flowRuns.logs(w.knownRun().id, { limit: 100 })).then(() => undefined) },
  { name: "a run's history", weight: 4, run: (w, c) => w.send("get a run's history", () => c.flowRuns.history(w.knownRun().id)).then(() => undefined) },
  { name: "a run's journal", weight: 3, run: (w, c) => w.send("get a run's journal", () => c.flowRuns.journal(w.knownRun().id)).then(() => undefined) },
  { name: "a run's artifacts", weight: 2, run: (w, c) => w.send("get a run's artifacts", () => c.flowRuns.artifacts(w.knownRun().id)).then(() => undefined) },
  { name: "list runs", weight: 3, run: (w, c) => w.send("list runs", () => c.flowRuns.list({ limit: 20 })).then(() => undefined) },
  { name: "list the last hour's runs", weight: 2, run: (w, c) => w.send("list runs (since)", () => c.flowRuns.list({ since: hourAgo(), limit: 20 })).then(() => undefined) },
  {
    name: "list a flow's runs, two pages",
    weight: 3,
    run: async (w, c) => {
      const flow = w.pickOf(FLOW_NAMES);
      const page = await w.send("list runs (flow)", () => c.flowRuns.list({ flow, limit: 10 }));
      const cursor = page?.cursor;
      if (cursor !== undefined) await w.send("list runs (flow, next page)", () => c.flowRuns.list({ flow, limit: 10, cursor }));
    },
  },
  { name: "list runs by state", weight: 2, run: (w, c) => w.send("list runs (state)", () => c.flowRuns.list({ state: w.pickOf(["COMPLETED", "FAILED", "RUNNING"] as const), limit: 20 })).then(() => undefined) },
  { name: "list runs by tag", weight: 2, run: (w, c) => w.send("list runs (tag)", () => c.flowRuns.list({ tag: w.pickOf(TAGS), limit: 20 })).then(() => undefined) },
  { name: "list a deployment's runs", weight: 1, run: (w, c) => w.send("list runs (deployment)", () => c.flowRuns.list({ deployment: SOAK_DEPLOYMENT, limit: 20 })).then(() => undefined) },
  { name: "list deployments", weight: 2, run: (w, c) => w.send("list deployments", () => c.deployments.list()).then(() => undefined) },
  { name: "get a deployment", weight: 2, run: (w, c) => w.send("get deployment", () => c.deployments.get(SOAK_DEPLOYMENT)).then(() => undefined) },
  { name: "update a deployment", weight: 1, run: (w, c) => w.send("update deployment", () => c.deployments.update(SOAK_DEPLOYMENT, { description: `soak revision ${w.next()}` })).then(() => undefined) },
  {
    name: "work pools",
    weight: 1,
    run: async (w, c) => {
      await (w.chance() < 0.5 ? w.send("list work pools", () => c.workPools.list()) : w.send("get work pool", () => c.workPools.get("local")));
    },
  },
  {
    name: "take and give back a concurrency slot",
    weight: 1,
    run: async (w, c) => {
      const lease = await w.send("acquire concurrency slot", () => c.concurrencyLimits.acquire(LIMIT_TAG, { ttlSeconds: 60 }));
      if (lease) await w.send("release concurrency slot", () => c.concurrencyLimits.release(LIMIT_TAG, lease.leaseId));
    },
  },
];

/** A small seeded PRNG (mulberry32): the same seed gives the same mix of operations. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
