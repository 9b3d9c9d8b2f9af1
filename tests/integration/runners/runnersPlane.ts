import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { AloftClient } from "aloft";
import { startLocalServer, type LocalServer } from "../../../lambdas/local/server.js";
import { LocalProcessLauncher } from "../../../lambdas/adapters/localProcessLauncher.js";

/** The built runner script (`npm test` builds dist/ first): runners start in ~100 ms instead of compiling the SDK. */
export const RUNNER_SCRIPT = { path: join(process.cwd(), "dist", "sdk", "runner", "runnerProcess.js"), execArgv: [] };
/** The reliability fixtures' flows, in TypeScript (loaded through tsx) and as a plain ES module. */
export const FIXTURES = {
  ts: fileURLToPath(new URL("./fixtures/sideEffects.ts", import.meta.url)),
  mjs: fileURLToPath(new URL("./fixtures/sideEffects.mjs", import.meta.url)),
};

/** The fixtures' flows: export name → flow name. */
const FLOW_NAMES = { fiveSteps: "five-steps", oneStep: "one-step", untilCancelled: "until-cancelled", stubborn: "stubborn", poolNote: "pool-note" } as const;
type FixtureFlow = keyof typeof FLOW_NAMES;

/** A local control plane for runner tests, with short heartbeats, and a folder for side-effect files. */
export interface RunnersPlane {
  server: LocalServer;
  client: AloftClient;
  token: string;
  /** Where the flows write their side-effect files. */
  effects: string;
  /** Runner processes on this plane (their stdout/stderr discarded), with the runners' env. */
  launcher(size: number): LocalProcessLauncher;
  /** Creates `count` runs of a deployment of `flow` on the `local` pool; returns their ids. */
  queueRuns(deployment: string, flow: FixtureFlow, count: number, file?: keyof typeof FIXTURES): Promise<string[]>;
  /**
   * Polls until every run is COMPLETED, FAILED or CANCELLED, or `timeoutMs` passed; returns the runs'
   * state types by id. CRASHED is not final here: the monitor re-schedules a crashed run with retries left.
   */
  waitForRuns(ids: readonly string[], timeoutMs: number): Promise<Map<string, string>>;
  /** Per run: how many times each step executed, and in which processes (in order). */
  executions(runId: string): Promise<Map<number, number[]>>;
  dispose(): Promise<void>;
}

/**
 * Starts a local server on a free port and a temp data dir with heartbeats every
 * `heartbeatSeconds` (a run is declared crashed after three missed beats) and no built-in worker.
 */
export async function startRunnersPlane(options: { heartbeatSeconds: number; cancelGraceSeconds?: number }): Promise<RunnersPlane> {
  const dataDir = await mkdtemp(join(tmpdir(), "aloft-runners-"));
  const effects = join(dataDir, "effects");
  const server = await startLocalServer({ port: 0, dataDir, runners: 0, heartbeatSeconds: options.heartbeatSeconds, launchTimeoutSeconds: options.heartbeatSeconds * 5, ...(options.cancelGraceSeconds === undefined ? {} : { cancelGraceSeconds: options.cancelGraceSeconds }) });
  const token = (await readFile(server.tokenFile, "utf8")).trim();
  const client = new AloftClient({ apiUrl: server.url, token });
  const launchers: LocalProcessLauncher[] = [];
  const env = { ...process.env, ALOFT_API_URL: server.url, ALOFT_TOKEN: token, ALOFT_HEARTBEAT_SECONDS: String(options.heartbeatSeconds), ALOFT_LOG_LEVEL: "silent" };
  return {
    server,
    client,
    token,
    effects,
    launcher(size) {
      const launcher = new LocalProcessLauncher({ size, env, script: RUNNER_SCRIPT, stdio: "ignore" });
      launchers.push(launcher);
      return launcher;
    },
    async queueRuns(deployment, flow, count, file = "ts") {
      await client.deployments.create({ name: deployment, flowName: FLOW_NAMES[flow], entrypoint: `${FIXTURES[file]}:${flow}`, workPool: "local" });
      // 16 requests at a time: the runs are queued in about the order they are created.
      const ids: string[] = new Array(count);
      let next = 0;
      const create = async () => {
        while (next < count) {
          const index = next++;
          ids[index] = (await client.deployments.run(deployment, { parameters: { dir: effects } })).id;
        }
      };
      await Promise.all(Array.from({ length: Math.min(16, count) }, create));
      return ids;
    },
    async waitForRuns(ids, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const states = new Map<string, string>();
      for (;;) {
        for (const id of ids) {
          const known = states.get(id);
          if (known !== undefined && TERMINAL.has(known)) continue;
          states.set(id, (await client.flowRuns.get(id)).state.type);
        }
        if ([...states.values()].every((type) => TERMINAL.has(type)) || Date.now() > deadline) return states;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    async executions(runId) {
      const text = await readFile(join(effects, `${runId}.log`), "utf8").catch(() => "");
      const byStep = new Map<number, number[]>();
      for (const line of text.split("\n").filter(Boolean)) {
        const [step, pid] = line.split(" ").map(Number) as [number, number];
        byStep.set(step, [...(byStep.get(step) ?? []), pid]);
      }
      return byStep;
    },
    async dispose() {
      await Promise.all(launchers.map((launcher) => launcher.close({ kill: true })));
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const TERMINAL = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

/** Side-effect files written so far. */
export async function effectFiles(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [])).filter((name) => name.endsWith(".log"));
}
