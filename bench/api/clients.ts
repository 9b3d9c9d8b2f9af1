import { UnexpectedAnswerError } from "./load.js";

/**
 * The workload's requests, as one system's REST API spells them. Both implementations send their
 * requests through {@link JsonHttp} (Node's fetch, keep-alive connections), so the client side costs
 * the same on both; each checks the answer and throws {@link UnexpectedAnswerError} when it is not
 * the expected one.
 */
export interface BenchClient {
  /** The HTTP side, with its retry counts. */
  readonly http: JsonHttp;
  /** Once, before anything is timed (Prefect: create the flow the runs belong to). */
  prepare(): Promise<void>;
  /** Creates a PENDING flow run of the flow named `flowName`; resolves with its id. */
  createFlowRun(flowName: string): Promise<string>;
  /** Proposes RUNNING for a flow run (Prefect only lets task runs start inside a running flow run). */
  startFlowRun(id: string): Promise<void>;
  /** Creates a PENDING task run (`noop-<index>`) in a flow run; resolves with its id. */
  createTaskRun(flowRunId: string, index: number): Promise<string>;
  /** Proposes a task-run state; resolves only if the answer is ACCEPT. */
  setTaskRunState(id: string, type: "RUNNING" | "COMPLETED"): Promise<void>;
}

/** Answers a client retries, as Prefect's own client does: rate limited, bad gateway, unavailable (Prefect's server answers 503 when SQLite is busy). */
export const RETRIED_STATUSES: readonly number[] = [429, 502, 503];
/** Prefect's client default (PREFECT_CLIENT_MAX_RETRIES). */
export const MAX_RETRIES = 5;
/** Prefect's client default (PREFECT_CLIENT_RETRY_JITTER_FACTOR). */
const JITTER = 0.2;

/**
 * JSON over HTTP with the retry policy of Prefect's Python client (`prefect/client/base.py`): an
 * answer in {@link RETRIED_STATUSES} is retried up to {@link MAX_RETRIES} times after Retry-After
 * seconds or else 2^n s (2, 4, 8…) with ±20 % jitter. Both systems' clients use it, so the client side
 * costs the same on both; it counts the retries so a run can report them.
 *
 * @example
 * ```ts
 * const http = new JsonHttp({ authorization: `Bearer ${token}` });
 * const run = await http.post(`${base}/v1/flow-runs`, { flowName: "bench" }, [201]);
 * ```
 */
export class JsonHttp {
  /** Answers retried so far, by status (0: no answer, a transport error). */
  readonly retried = new Map<number, number>();

  constructor(
    private readonly headers: Record<string, string> = {},
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  ) {}

  /**
   * POSTs `body` as JSON and returns the parsed answer; throws {@link UnexpectedAnswerError} naming
   * the request when the final status is not one of `expected`. The body is always read, so the
   * connection goes back to the keep-alive pool.
   */
  async post(url: string, body: unknown, expected: readonly number[]): Promise<Record<string, unknown>> {
    const init = { method: "POST", headers: { "content-type": "application/json", ...this.headers }, body: JSON.stringify(body) };
    for (let attempt = 0; ; attempt++) {
      const retries = attempt > 0 ? ` after ${attempt} ${attempt === 1 ? "retry" : "retries"}` : "";
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, init);
        text = await response.text();
      } catch (error) {
        // Prefect's client also retries transport errors (a keep-alive connection the server closed
        // while this client was backing off, say); code "0" counts them.
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        if (attempt === MAX_RETRIES) throw new UnexpectedAnswerError(`POST ${new URL(url).pathname} failed${retries}: ${(error as Error).message} (${cause?.code ?? cause?.message ?? "no cause"})`);
        this.retried.set(0, (this.retried.get(0) ?? 0) + 1);
        await this.sleep(2 ** (attempt + 1) * 1000 * (1 + JITTER * (2 * Math.random() - 1)));
        continue;
      }
      if (expected.includes(response.status)) return JSON.parse(text) as Record<string, unknown>;
      if (!RETRIED_STATUSES.includes(response.status) || attempt === MAX_RETRIES) {
        throw new UnexpectedAnswerError(`POST ${new URL(url).pathname} answered ${response.status}${retries}: ${text.slice(0, 200)}`);
      }
      this.retried.set(response.status, (this.retried.get(response.status) ?? 0) + 1);
      const retryAfter = Number(response.headers.get("retry-after"));
      const seconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 2 ** (attempt + 1);
      await this.sleep(seconds * 1000 * (1 + JITTER * (2 * Math.random() - 1)));
    }
  }
}

function idOf(answer: Record<string, unknown>, what: string): string {
  if (typeof answer.id !== "string") throw new UnexpectedAnswerError(`${what} answered without an id: ${JSON.stringify(answer).slice(0, 200)}`);
  return answer.id;
}

function expectAccept(answer: Record<string, unknown>, what: string): void {
  if (answer.status !== "ACCEPT") throw new UnexpectedAnswerError(`${what} answered ${String(answer.status)}, not ACCEPT: ${JSON.stringify(answer).slice(0, 300)}`);
}

/**
 * The Aloft control plane's API (`/v1/...`, bearer token).
 *
 * @example
 * ```ts
 * const client = new AloftClient("http://127.0.0.1:4200", token);
 * const runId = await client.createFlowRun("bench");
 * ```
 */
export class AloftClient implements BenchClient {
  readonly http: JsonHttp;

  constructor(
    private readonly baseUrl: string,
    token: string,
  ) {
    this.http = new JsonHttp({ authorization: `Bearer ${token}` });
  }

  async prepare(): Promise<void> {}

  async createFlowRun(flowName: string): Promise<string> {
    return idOf(await this.http.post(`${this.baseUrl}/v1/flow-runs`, { flowName, initialState: "PENDING" }, [201]), "flow-run creation");
  }

  async startFlowRun(id: string): Promise<void> {
    expectAccept(await this.http.post(`${this.baseUrl}/v1/flow-runs/${id}/state`, { state: { type: "RUNNING" } }, [200]), `flow run ${id} → RUNNING`);
  }

  async createTaskRun(flowRunId: string, index: number): Promise<string> {
    return idOf(await this.http.post(`${this.baseUrl}/v1/task-runs`, { flowRunId, taskName: "noop", name: `noop-${index}` }, [201]), "task-run creation");
  }

  async setTaskRunState(id: string, type: "RUNNING" | "COMPLETED"): Promise<void> {
    expectAccept(await this.http.post(`${this.baseUrl}/v1/task-runs/${id}/state`, { state: { type } }, [200]), `task run ${id} → ${type}`);
  }
}

/**
 * Prefect 3's server API (`/api/...`, no auth), with the bodies its REST reference gives: flow runs
 * created with a PENDING state, task runs keyed by (flow run, task_key, dynamic_key), and
 * `set_state` with `force: false` so the orchestration rules decide.
 *
 * @example
 * ```ts
 * const client = new PrefectClient("http://127.0.0.1:4201");
 * await client.prepare();
 * const runId = await client.createFlowRun("bench");
 * ```
 */
export class PrefectClient implements BenchClient {
  readonly http = new JsonHttp();
  readonly #flowIds = new Map<string, string>();

  constructor(private readonly baseUrl: string) {}

  async prepare(): Promise<void> {
    for (const name of ["warmup", "bench"]) this.#flowIds.set(name, idOf(await this.http.post(`${this.baseUrl}/api/flows/`, { name }, [200, 201]), `flow ${name} creation`));
  }

  async createFlowRun(flowName: string): Promise<string> {
    const flowId = this.#flowIds.get(flowName);
    if (flowId === undefined) throw new Error(`no Prefect flow named ${flowName}: prepare() creates "warmup" and "bench"`);
    return idOf(await this.http.post(`${this.baseUrl}/api/flow_runs/`, { flow_id: flowId, state: { type: "PENDING" } }, [201]), "flow-run creation");
  }

  async startFlowRun(id: string): Promise<void> {
    expectAccept(await this.http.post(`${this.baseUrl}/api/flow_runs/${id}/set_state`, { state: { type: "RUNNING" }, force: false }, [200, 201]), `flow run ${id} → RUNNING`);
  }

  async createTaskRun(flowRunId: string, index: number): Promise<string> {
    const body = { flow_run_id: flowRunId, task_key: "noop", dynamic_key: String(index), name: `noop-${index}`, state: { type: "PENDING" } };
    return idOf(await this.http.post(`${this.baseUrl}/api/task_runs/`, body, [201]), "task-run creation");
  }

  async setTaskRunState(id: string, type: "RUNNING" | "COMPLETED"): Promise<void> {
    expectAccept(await this.http.post(`${this.baseUrl}/api/task_runs/${id}/set_state`, { state: { type }, force: false }, [200, 201]), `task run ${id} → ${type}`);
  }
}
