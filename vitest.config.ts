import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// Tests and examples import the package by name; point that name at the source so a test
// exercises the code under edit, with one module instance shared by tests and examples.
const sdk = (path: string) => fileURLToPath(new URL(`./sdk/${path}`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^aloft\/testing$/, replacement: sdk("testing/index.ts") },
      { find: /^aloft$/, replacement: sdk("index.ts") },
    ],
  },
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
