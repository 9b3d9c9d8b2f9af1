#!/usr/bin/env node
/**
 * The `aloft` command line: the SDK's commands plus `aloft server start`, which hosts the control
 * plane locally.
 *
 * @example
 * ```sh
 * aloft server start --port 4200 --data .aloft
 * ```
 * @packageDocumentation
 */
import { createProgram, runCli } from "../../sdk/cli/program.js";
import { addServerCommand } from "./serverCommand.js";

const program = createProgram();
addServerCommand(program);
await runCli(program, process.argv);
