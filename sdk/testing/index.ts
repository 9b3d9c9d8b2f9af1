/**
 * The test kit: what Aloft's own tests use, for yours.
 *
 * @example
 * ```ts
 * import { FakeClock, runFlowForTest } from "aloft/testing";
 * const { run, taskRunsOf } = await runFlowForTest(myFlow, { day: "2026-11-01" });
 * ```
 * @packageDocumentation
 */
export { FakeClock } from "./fakeClock.js";
export { MemoryRecorder } from "./memoryRecorder.js";
export { runFlowForTest, type FlowTestResult } from "./runFlowForTest.js";
