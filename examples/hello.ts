/**
 * The smallest useful flow: a task mapped over a list of names.
 *
 * Run it: `npx aloft run examples/hello.ts`
 */
import { flow, log, task } from "aloft";
import { z } from "zod";

/** Greets one name (and logs it to the task run). */
export const greet = task({
  name: "greet",
  retries: 2,
  run: async (name: string) => {
    log.info(`greeting ${name}`);
    return `Hello, ${name}!`;
  },
});

export default flow({
  name: "hello",
  params: z.object({ names: z.array(z.string()).default(["world", "Aloft"]) }),
  run: async ({ names }, ctx) => {
    const greetings = await greet.map(names);
    ctx.log.info(`greeted ${greetings.length} names`);
    return greetings;
  },
});
