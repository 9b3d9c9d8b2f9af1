#!/usr/bin/env node
/**
 * The `aloft` command line of the SDK alone (no local server). One module per command under
 * `commands/`; every usage error is one line on stderr and exit code 2.
 *
 * @example
 * ```sh
 * aloft run flows/etl.ts:etl --param day=2026-11-01
 * ```
 * @packageDocumentation
 */
import { createProgram, runCli } from "./program.js";

await runCli(createProgram(), process.argv);
