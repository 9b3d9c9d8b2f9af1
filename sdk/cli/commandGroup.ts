import type { Command } from "commander";
import { UsageError } from "./usageError.js";

/**
 * Adds a command that only groups subcommands (`aloft runs …`). Called without one, or with an
 * unknown one, it is a usage error naming the subcommands, on one line (not commander's help page).
 *
 * @example
 * ```ts
 * const runs = addCommandGroup(program, "runs", "flow runs on the control plane");
 * runs.command("ls").action(list);
 * ```
 */
export function addCommandGroup(program: Command, name: string, description: string): Command {
  const group = program.command(name).description(description).argument("[subcommand]").allowExcessArguments(true);
  group.action((subcommand: string | undefined) => {
    const names = group.commands.map((command) => command.name());
    const expected = `${names.slice(0, -1).join(", ")} or ${names.at(-1) ?? ""}`;
    if (subcommand === undefined) throw new UsageError(`aloft ${name} needs a subcommand: ${expected} (see aloft ${name} --help)`);
    throw new UsageError(`unknown command "${subcommand}" for aloft ${name} (expected ${expected})`);
  });
  return group;
}
