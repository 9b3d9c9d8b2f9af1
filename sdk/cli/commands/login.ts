import { Option, type Command } from "commander";
import { AloftClient } from "../../api/client.js";
import { configDir, saveLoginConfig, type AuthMode, type LoginConfig } from "../../api/credentials.js";
import { CLI_API_RETRIES, withApi } from "../apiErrors.js";
import { writeJson } from "../table.js";
import { terminalText } from "../terminalText.js";
import { UsageError } from "../usageError.js";

/**
 * The options of `aloft login`, as commander parses them.
 *
 * @example
 * ```ts
 * const options: LoginOptions = { api: "https://aloft.example.com", region: "eu-west-1", auth: "iam" };
 * ```
 */
export interface LoginOptions {
  api: string;
  region?: string;
  auth?: AuthMode;
  json?: boolean;
}

/**
 * Adds `aloft login --api <url>` to the program.
 *
 * @example
 * ```ts
 * addLoginCommand(program);
 * await program.parseAsync(["node", "aloft", "login", "--api", "https://abc123.execute-api.eu-west-1.amazonaws.com"]);
 * ```
 */
export function addLoginCommand(program: Command): Command {
  return program
    .command("login")
    .description("check that an Aloft API answers, then make it the one every command uses")
    .requiredOption("--api <url>", "the API's URL (an execute-api or Lambda function URL is signed with your AWS credentials)")
    .option("--region <region>", "the AWS region of an API behind a custom domain")
    .addOption(new Option("--auth <mode>", "token (the local server) or iam (SigV4); default: iam for an AWS endpoint").choices(["token", "iam"]))
    .option("--json", "print the saved config, the file and the API's version as JSON")
    .addHelpText("after", `\nThe config goes to ${"$"}ALOFT_CONFIG_DIR/config.json, else ~/.aloft/config.json. ALOFT_API_URL, when set, still wins.`)
    .action(async (options: LoginOptions) => {
      process.exitCode = await login(options);
    });
}

/**
 * `aloft login`: asks the API's `/health` (signed for an AWS endpoint), then saves the login config
 * and says where. Nothing is saved when the API does not answer.
 *
 * @example
 * ```ts
 * process.exitCode = await login({ api: "http://localhost:4200" });
 * ```
 */
export async function login(options: LoginOptions): Promise<number> {
  const apiUrl = options.api.trim().replace(/\/+$/, "");
  if (!isHttpUrl(apiUrl)) throw new UsageError(`--api "${options.api}" is not an http(s) URL`);
  const config: LoginConfig = { apiUrl };
  if (options.region !== undefined) config.region = options.region;
  if (options.auth !== undefined) config.auth = options.auth;
  const client = new AloftClient({
    apiUrl,
    retries: CLI_API_RETRIES,
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.auth !== undefined ? { auth: options.auth } : {}),
  });
  return withApi(async () => {
    const health = await client.health();
    const { auth } = await client.endpoint();
    const file = await saveLoginConfig(config, configDir());
    if (options.json) writeJson({ ...config, file, version: health.version });
    else process.stdout.write(`logged in to ${apiUrl} (Aloft API ${terminalText(health.version)}, ${auth === "iam" ? "requests signed with your AWS credentials" : "bearer token"}); saved ${file}\n`);
    return 0;
  }, client);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}
