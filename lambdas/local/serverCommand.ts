import { setFlagsFromString } from "node:v8";
import type { Command } from "commander";
import { UsageError } from "../../sdk/cli/usageError.js";
import { MAX_RUNNERS } from "../../sdk/cli/commands/worker.js";
import { DEFAULT_LOCAL_RUNNERS, startLocalServer } from "./server.js";

/**
 * How much V8 lets the server's heap grow at a time, in percent. Left to itself, V8 sizes a busy
 * server's heap to its allocation rate (some 200 MB committed for about 35 MB of live objects under
 * sixteen clients); growing 20 % at a time keeps the server's RSS about 40 % lower at the same
 * throughput and latency (BENCHMARKS.md, "Soak"). A `--heap-growing-percent` given to Node wins.
 */
export const SERVER_HEAP_GROWING_PERCENT = 20;

/**
 * Adds `aloft server start [--port 4200] [--data .aloft] [--host 127.0.0.1]`: runs the local control
 * plane until Ctrl-C (or SIGTERM), then shuts down cleanly.
 *
 * @example
 * ```ts
 * addServerCommand(program);
 * ```
 */
export function addServerCommand(program: Command): Command {
  const server = program.command("server").description("the local Aloft control plane");
  server
    .command("start")
    .description("start the local control plane (API on http://localhost:4200)")
    .option("--port <port>", "port to listen on", "4200")
    .option("--host <host>", "address to listen on (loopback by default)", "127.0.0.1")
    .option("--data <dir>", "data directory (database, token)", process.env.ALOFT_DATA_DIR ?? ".aloft")
    .option("--runners <n>", "runner processes of the local pool (0 for none)", String(DEFAULT_LOCAL_RUNNERS))
    .action(async (options: { port: string; host: string; data: string; runners: string }) => {
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new UsageError(`--port must be a port number (0-65535), got "${options.port}"`);
      if (options.data.trim() === "") throw new UsageError(`--data must name a directory, got an empty string`);
      const runners = Number(options.runners);
      if (!Number.isInteger(runners) || runners < 0 || runners > MAX_RUNNERS) throw new UsageError(`--runners must be a whole number from 0 to ${MAX_RUNNERS}, got "${options.runners}"`);
      if (!process.execArgv.some((flag) => flag.startsWith("--heap-growing-percent"))) setFlagsFromString(`--heap-growing-percent=${SERVER_HEAP_GROWING_PERCENT}`);
      let running;
      try {
        running = await startLocalServer({ port, host: options.host, dataDir: options.data, runners });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      process.stdout.write(`Aloft server on ${running.url}\n  data:  ${running.dataDir}\n  token: ${running.tokenFile}\n  webhook key: ${running.webhookSecretFile}\n  runners: ${runners} (work pool "local")\nPress Ctrl-C to stop.\n`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          process.stdout.write("Stopping…\n");
          void running.close().then(resolve);
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
    });
  return server;
}
