import { mkdtemp, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AloftClient } from "aloft";
import { startLocalServer } from "../../../lambdas/local/server.js";

describe("the local server", () => {
  it("creates a private token, answers /health without it and everything else only with it", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "aloft-server-"));
    const server = await startLocalServer({ port: 0, dataDir });
    try {
      const token = (await readFile(join(dataDir, "token"), "utf8")).trim();
      expect(token.length).toBeGreaterThanOrEqual(40);
      expect((await stat(join(dataDir, "token"))).mode & 0o777).toBe(0o600);
      expect(JSON.parse(await readFile(join(dataDir, "server.json"), "utf8"))).toMatchObject({ url: server.url, pid: process.pid });
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect((await fetch(`${server.url}/v1/flow-runs`)).status).toBe(401);
      expect((await fetch(`${server.url}/v1/flow-runs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it("keeps runs and the token across a restart", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "aloft-server-"));
    const first = await startLocalServer({ port: 0, dataDir });
    const token = await readFile(join(dataDir, "token"), "utf8");
    const created = await new AloftClient({ apiUrl: first.url, dataDir }).flowRuns.create({ flowName: "persisted", parameters: { n: 1 } });
    await first.close();
    await expect(readFile(join(dataDir, "server.json"))).rejects.toThrow();

    const second = await startLocalServer({ port: 0, dataDir });
    try {
      expect(await readFile(join(dataDir, "token"), "utf8")).toBe(token);
      const read = await new AloftClient({ apiUrl: second.url, dataDir }).flowRuns.get(created.id);
      expect(read).toMatchObject({ id: created.id, flowName: "persisted", parameters: { n: 1 } });
    } finally {
      await second.close();
    }
  });

  it("refuses a second server on the same data dir, saying which process holds it", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "aloft-server-"));
    const server = await startLocalServer({ port: 0, dataDir });
    try {
      await expect(startLocalServer({ port: 0, dataDir })).rejects.toThrow(`another aloft server (pid ${process.pid}) is using ${dataDir}`);
    } finally {
      await server.close();
    }
  });
});
