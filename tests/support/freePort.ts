import { createServer } from "node:net";

/**
 * A TCP port that was free a moment ago on 127.0.0.1 (the OS picks it by binding port 0). Another
 * process may take it before the caller binds it, so launchers retry on a port clash.
 *
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("could not read the port the OS assigned"));
      });
    });
  });
}
