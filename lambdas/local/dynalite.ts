import type { AddressInfo } from "node:net";
import dynalite from "dynalite";

/** A dynalite server running in this process. */
export interface DynaliteServer {
  /** `http://127.0.0.1:<port>`, for `makeDynamoDbClient({ endpoint })`. */
  endpoint: string;
  /** Stops the server (and closes its LevelDB store when it has a path). */
  close(): Promise<void>;
}

/**
 * Starts dynalite in this process on a free port of 127.0.0.1, with tables ACTIVE at once.
 * In memory unless `path` names a folder for its LevelDB files.
 *
 * @example
 * ```ts
 * const server = await startDynalite();
 * const client = makeDynamoDbClient({ endpoint: server.endpoint });
 * // …
 * client.destroy();
 * await server.close();
 * ```
 */
export async function startDynalite(options: { path?: string } = {}): Promise<DynaliteServer> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path === undefined ? {} : { path: options.path }) });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
