/**
 * The entry point of a local runner process. A supervisor (a worker, or the local server's pool)
 * forks it with an IPC channel and `ALOFT_API_URL` / `ALOFT_TOKEN` set, and hands it claimed runs
 * one at a time; it runs each with {@link runClaimedRun} and answers with the outcome. The process
 * stays warm between runs, keeping each flow file compiled. Ctrl-C in a terminal reaches every
 * process of the group: the runner ignores it and leaves stopping to its supervisor.
 */
import { hostname } from "node:os";
import { AloftClient } from "../api/client.js";
import { messageOf } from "../model/errors.js";
import { DeploymentCode, type CodeLocation } from "./deploymentCode.js";
import { runClaimedRun } from "./runClaimedRun.js";
import { RUNNER_UMASK_VARIABLE, type FromRunner, type ToRunner } from "./runnerMessages.js";

// Runs are reported by the runner's own link; the flow file's `import "aloft"` must not connect a
// second one (which it does by itself when ALOFT_API_URL is set).
(globalThis as typeof globalThis & { [key: symbol]: unknown })[Symbol.for("aloft.autoConnected")] = true;

// The umask its supervisor says (the local server's own is private to its data dir's owner).
const umask = process.env[RUNNER_UMASK_VARIABLE];
if (umask !== undefined && /^[0-7]{1,4}$/.test(umask)) process.umask(Number.parseInt(umask, 8));
delete process.env[RUNNER_UMASK_VARIABLE];

const send = (message: FromRunner): void => {
  process.send?.(message);
};
const client = new AloftClient();
const code = new DeploymentCode();
const runner = { kind: "process" as const, pid: process.pid, host: hostname() };
let busy: Promise<void> | undefined;
let exiting = false;

process.on("SIGINT", () => {});
process.on("message", (message: ToRunner) => {
  if (message.type === "exit") {
    exiting = true;
    void (busy ?? Promise.resolve()).then(() => process.exit(0));
    return;
  }
  if (message.type === "warm") {
    // Compile a flow the pool ran lately before taking a run: a replacement runner then starts its
    // first run as fast as the runner it replaces. One at a time, so the pool knows which one a death was.
    code.load(message.code).then(
      () => send({ type: "warmed", loaded: true }),
      () => send({ type: "warmed", loaded: false }),
    );
    return;
  }
  const { job } = message;
  const onCodeLoaded = (location: CodeLocation) => send({ type: "loaded", runId: job.runId, code: location });
  busy = runClaimedRun({ client, code, runner, onCodeLoaded, ...job })
    .then(
      (outcome) => send({ type: "done", runId: job.runId, outcome }),
      (error: unknown) => send({ type: "error", runId: job.runId, message: messageOf(error) }),
    )
    .finally(() => {
      busy = undefined;
    });
});
// The supervisor went away: finish the run in hand, then leave.
process.on("disconnect", () => {
  if (!exiting) void (busy ?? Promise.resolve()).then(() => process.exit(0));
});
send({ type: "ready" });
