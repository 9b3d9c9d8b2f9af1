import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests and examples import the package by name; point that name at the source so a test
// exercises the code under edit, with one module instance shared by tests and examples.
const sdk = (path: string) => fileURLToPath(new URL(`./sdk/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^aloft\/testing$/, replacement: sdk("testing/index.ts") },
      { find: /^aloft\/stepfunctions$/, replacement: sdk("stepfunctions/index.ts") },
      { find: /^aloft$/, replacement: sdk("index.ts") },
    ],
  },
  test: {
    include: ["tests/**/*.test.ts"],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    // CI also writes a machine-readable summary, from which .ci/run prints its closing line.
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".ci/results.json" }]] : ["default"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
