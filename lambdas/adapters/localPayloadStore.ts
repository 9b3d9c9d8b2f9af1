import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import type { PayloadStore } from "../services/payloads.js";

/**
 * The local payload store: one file per key under a folder, written atomically (temp file, then
 * rename) so a crash never leaves half a payload behind.
 *
 * @example
 * ```ts
 * const payloads = new LocalPayloadStore(".aloft/payloads");
 * ```
 */
export class LocalPayloadStore implements PayloadStore {
  private readonly root: string;

  constructor(directory: string) {
    this.root = resolve(directory);
  }

  async put(key: string, json: string): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temporary, json, { mode: 0o600 });
    await rename(temporary, path);
  }

  async get(key: string): Promise<string> {
    return readFile(this.pathOf(key), "utf8");
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  private pathOf(key: string): string {
    const path = resolve(join(this.root, key));
    if (!path.startsWith(this.root + sep)) throw new Error(`payload key "${key}" leaves the payload folder`);
    return path;
  }
}
