import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, vi } from "vitest";

/** Temp directories a test may use as the login-config dir and the data dir. */
export interface IsolatedDirs {
  /** A fresh temp dir, removed after the test; the two below are (not yet created) paths in it. */
  root: string;
  configDir: string;
  dataDir: string;
}

/**
 * Gives every test of the file an environment of its own: empty temp dirs as `ALOFT_CONFIG_DIR` and
 * `ALOFT_DATA_DIR`, and no `ALOFT_API_URL`, `ALOFT_TOKEN` or AWS region from the machine running the
 * tests. The returned object is refilled before each test.
 *
 * @example
 * ```ts
 * const dirs = isolateEnvironment();
 * it("...", async () => { await saveLoginConfig({ apiUrl }, dirs.configDir); });
 * ```
 */
export function isolateEnvironment(): IsolatedDirs {
  const dirs: IsolatedDirs = { root: "", configDir: "", dataDir: "" };
  beforeEach(async () => {
    dirs.root = await mkdtemp(join(tmpdir(), "aloft-client-"));
    dirs.configDir = join(dirs.root, "config");
    dirs.dataDir = join(dirs.root, "data");
    vi.stubEnv("ALOFT_CONFIG_DIR", dirs.configDir);
    vi.stubEnv("ALOFT_DATA_DIR", dirs.dataDir);
    for (const name of ["ALOFT_API_URL", "ALOFT_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"]) vi.stubEnv(name, "");
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    await rm(dirs.root, { recursive: true, force: true });
  });
  return dirs;
}
