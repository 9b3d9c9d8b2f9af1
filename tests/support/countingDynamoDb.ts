import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";

/** What a counting middleware saw: each command sent through the client, by name, in order. */
export interface CommandLog {
  /** Command names in the order they were sent (`"QueryCommand"`, `"BatchGetItemCommand"`, …). */
  readonly commands: string[];
  /** How many commands were sent, of one name or of all. */
  count(name?: string): number;
  /**
   * Runs `work` with a fresh count, and fails any command sent beyond `atMost` (so that a listing
   * over its bound fails at once, not after thousands of calls). `onCommand` runs before each command
   * is sent, with how many were sent so far (a test can abort there); `delayMs` holds each command
   * back that long first (a slow table). Resolves to the commands sent.
   */
  measure(work: () => Promise<unknown>, options?: MeasureOptions): Promise<string[]>;
}

/** How `CommandLog.measure` watches the commands sent. */
export interface MeasureOptions {
  atMost?: number;
  onCommand?: (name: string, sent: number) => void;
  delayMs?: number;
}

/** A command sent beyond the budget of `CommandLog.measure`. */
export class TooManyCommandsError extends Error {
  constructor(atMost: number, name: string) {
    super(`more than ${atMost} DynamoDB commands: ${name} would be number ${atMost + 1}`);
    this.name = "TooManyCommandsError";
  }
}

/**
 * Counts the commands a real DynamoDB client sends (to dynalite or moto) with a middleware on its
 * stack. Document-client commands share the stack, so a `DynamoDbStore` over `client` is counted.
 *
 * @example
 * ```ts
 * const log = countCommands(client);
 * const sent = await log.measure(() => store.listFlowRuns({}, { limit: 20 }), { atMost: 5 });
 * expect(sent.filter((name) => name === "QueryCommand")).toHaveLength(4);
 * ```
 */
export function countCommands(client: DynamoDBClient): CommandLog {
  const commands: string[] = [];
  let budget: (MeasureOptions & { atMost: number }) | undefined;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? "unknown");
      if (budget !== undefined && commands.length >= budget.atMost) throw new TooManyCommandsError(budget.atMost, name);
      commands.push(name);
      budget?.onCommand?.(name, commands.length);
      if (budget?.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, budget?.delayMs));
      return next(args);
    },
    { step: "initialize", name: "countCommands", override: true },
  );
  return {
    commands,
    count: (name) => (name === undefined ? commands.length : commands.filter((command) => command === name).length),
    measure: async (work, options = {}) => {
      commands.length = 0;
      budget = { ...options, atMost: options.atMost ?? Number.POSITIVE_INFINITY };
      try {
        await work();
      } finally {
        budget = undefined;
      }
      return [...commands];
    },
  };
}
