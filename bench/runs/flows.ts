import { flow, task } from "aloft";

/** The benchmark's task: as little work as a task can do, so the figures measure the pool. */
const echo = task({ name: "bench-echo", run: async (n: number) => n });

/** One journaled task call per run. */
export const oneTask = flow({
  name: "bench-one-task",
  run: async ({ n }: { n: number }) => echo(n),
});
