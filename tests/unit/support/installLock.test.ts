import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { takeInstallLock } from "../../support/pythonTool.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "aloft-lock-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the install lock of a Python test tool", () => {
  it("stays with a live installer however old the lock looks, so a skewed clock (faketime) never lets two install at once", async () => {
    const lock = join(dir, "venv.lock");
    expect(await takeInstallLock(lock)).toBe(true);
    const yearAgo = new Date(Date.now() - 365 * 86_400_000);
    await utimes(lock, yearAgo, yearAgo);

    expect(await takeInstallLock(lock)).toBe(false);
    expect(await takeInstallLock(lock)).toBe(false);
  });

  it("is taken over from an installer that was killed", async () => {
    const lock = join(dir, "venv.lock");
    const child = spawn(process.execPath, ["-e", ""]);
    await new Promise((resolve) => child.once("exit", resolve));
    await mkdir(lock);
    await writeFile(join(lock, "pid"), String(child.pid));

    expect(await takeInstallLock(lock)).toBe(false);
    expect(await takeInstallLock(lock)).toBe(true);
  });
});
