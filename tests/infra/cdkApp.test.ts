import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCfnLint } from "../support/cfnLint.js";

const REPOSITORY = fileURLToPath(new URL("../../", import.meta.url));
const CDK = join(REPOSITORY, "node_modules", "aws-cdk", "bin", "cdk");

let directory: string;
let synth: { exitCode: number | null; output: string };
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "aloft-cdk-"));
  // A fresh clone's situation: no AWS credentials or profile, no instance metadata, and no Docker.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("AWS_") && !key.startsWith("CDK_")));
  synth = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CDK, "synth", "--quiet", "--lookups=false", "--no-notices", "--output", directory], {
      cwd: REPOSITORY,
      env: { ...env, CDK_DISABLE_CLI_TELEMETRY: "true", AWS_EC2_METADATA_DISABLED: "true", AWS_CONFIG_FILE: join(directory, "none"), AWS_SHARED_CREDENTIALS_FILE: join(directory, "none"), CDK_DOCKER: join(directory, "no-docker") },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.once("error", reject);
    child.once("close", (exitCode) => resolve({ exitCode, output }));
  });
}, 120_000);
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe("npx cdk synth", () => {
  it("synthesizes the Aloft-dev stack without credentials, lookups or Docker, cdk-nag passing", async () => {
    expect(synth.exitCode, synth.output).toBe(0);
    const template = JSON.parse(await readFile(join(directory, "Aloft-dev.template.json"), "utf8")) as { Resources: Record<string, { Type: string }>; Outputs: Record<string, unknown> };
    expect(Object.values(template.Resources).filter((resource) => resource.Type === "AWS::Lambda::Function")).toHaveLength(6);
    expect(Object.keys(template.Outputs).some((key) => key.includes("ApiUrl"))).toBe(true);
  });

  it("stages the runner image's build context: its Dockerfile and the bundled runner", async () => {
    const assets = JSON.parse(await readFile(join(directory, "Aloft-dev.assets.json"), "utf8")) as { dockerImages: Record<string, { source: { directory: string; platform?: string } }> };
    const images = Object.values(assets.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]?.source.platform).toBe("linux/arm64");
    expect((await readdir(join(directory, images[0]!.source.directory))).sort()).toEqual(["Dockerfile", "runner.mjs", "runner.mjs.map"]);
  });

  it("writes a template cfn-lint accepts", async () => {
    const result = await runCfnLint([join(directory, "Aloft-dev.template.json")], ["--ignore-checks", "W3005"]);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
  });
});
