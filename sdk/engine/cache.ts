import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hashText } from "./hash.js";

/**
 * A stored task result, found again by its cache key.
 *
 * @example
 * ```ts
 * const entry: CacheEntry = { key: "add:…", value: 3, createdAt: Date.now() };
 * ```
 */
export interface CacheEntry {
  key: string;
  value: unknown;
  createdAt: number;
  /** Milliseconds since the epoch; absent means it never expires. */
  expiresAt?: number;
}

/**
 * Where task results are cached. Aloft ships a file store (the local default, under `.aloft/cache`)
 * and a memory store; the control plane adds its own.
 *
 * @example
 * ```ts
 * const cache: CacheStore = new FileCacheStore(".aloft/cache");
 * await cache.put({ key: "k", value: 1, createdAt: Date.now() });
 * ```
 */
export interface CacheStore {
  get(key: string): Promise<CacheEntry | undefined>;
  put(entry: CacheEntry): Promise<void>;
}

/**
 * Caches results as one JSON file per key, written atomically (temp file, then rename), so other
 * processes and later runs see either the whole entry or none of it.
 *
 * @example
 * ```ts
 * await flow.run(params, { cache: new FileCacheStore("/tmp/aloft-cache") });
 * ```
 */
export class FileCacheStore implements CacheStore {
  private ready: Promise<unknown> | undefined;

  constructor(readonly directory: string) {}

  async get(key: string): Promise<CacheEntry | undefined> {
    try {
      const entry = JSON.parse(await readFile(this.pathOf(key), "utf8")) as CacheEntry;
      return entry.key === key ? entry : undefined;
    } catch (error) {
      if (isMissing(error) || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  async put(entry: CacheEntry): Promise<void> {
    // Cached results are the user's data (the default directory is in the local server's data dir): owner only.
    this.ready ??= mkdir(this.directory, { recursive: true, mode: 0o700 });
    await this.ready;
    const path = this.pathOf(entry.key);
    const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temporary, JSON.stringify(entry), { mode: 0o600 });
    await rename(temporary, path);
  }

  private pathOf(key: string): string {
    return join(this.directory, `${hashText(key)}.json`);
  }
}

/**
 * Caches results in memory, for one process.
 *
 * @example
 * ```ts
 * await flow.run(params, { cache: new MemoryCacheStore() });
 * ```
 */
export class MemoryCacheStore implements CacheStore {
  private readonly entries = new Map<string, CacheEntry>();
  async get(key: string): Promise<CacheEntry | undefined> {
    return this.entries.get(key);
  }
  async put(entry: CacheEntry): Promise<void> {
    this.entries.set(entry.key, entry);
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}
