/**
 * Where a client finds the API and how it proves who it is: the API URL, the bearer token of the
 * local server, the `aloft login` config file, and whether an URL is an AWS endpoint (signed with
 * SigV4 instead).
 */
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import * as z from "zod";
import { dataDir as defaultDataDir } from "../engine/context.js";
import { AloftError } from "../model/errors.js";

/**
 * The URL a client uses when nothing names one: the local server's default address.
 *
 * @example
 * ```ts
 * new AloftClient({ apiUrl: DEFAULT_API_URL });
 * ```
 */
export const DEFAULT_API_URL = "http://localhost:4200";

/**
 * How requests are authenticated: `token` sends `Authorization: Bearer <token>` (the local server),
 * `iam` signs with SigV4 from the AWS credential chain (the API on AWS).
 *
 * @example
 * ```ts
 * const auth: AuthMode = "iam";
 * ```
 */
export type AuthMode = "token" | "iam";

const LoginConfigSchema = z.object({
  apiUrl: z.string().refine(isHttpUrl, "not an http(s) URL"),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, "not an AWS region such as eu-west-1").optional(),
  auth: z.enum(["token", "iam"]).optional(),
});

/**
 * What `aloft login --api <url>` saves in `~/.aloft/config.json`: the API URL, and for an API on
 * AWS behind a custom domain, the region and `auth: "iam"` (an `execute-api` or Lambda function URL
 * host needs neither: both are read from the host).
 *
 * @example
 * ```ts
 * const config: LoginConfig = { apiUrl: "https://aloft.example.com", region: "eu-west-1", auth: "iam" };
 * ```
 */
export type LoginConfig = z.infer<typeof LoginConfigSchema>;

/**
 * The directory of the login config: `ALOFT_CONFIG_DIR`, else `~/.aloft`.
 *
 * @example
 * ```ts
 * configDir(); // "/home/me/.aloft"
 * ```
 */
export function configDir(): string {
  return process.env.ALOFT_CONFIG_DIR || join(homedir(), ".aloft");
}

/**
 * Reads the login config; undefined when there is none. A file that is not a valid config throws an
 * error naming the file and each bad field.
 *
 * @example
 * ```ts
 * const config = await loadLoginConfig();
 * console.log(config?.apiUrl ?? "not logged in");
 * ```
 */
export async function loadLoginConfig(dir: string = configDir()): Promise<LoginConfig | undefined> {
  const file = join(dir, "config.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new AloftError("INVALID_OPTIONS", `${file} is not valid JSON; run \`aloft login --api <url>\` to rewrite it`);
  }
  const parsed = LoginConfigSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
    throw new AloftError("INVALID_OPTIONS", `${file} is not a valid login config (${problems}); run \`aloft login --api <url>\` to rewrite it`);
  }
  return parsed.data;
}

/**
 * Validates and writes the login config (directory mode 0700, file mode 0600, replaced atomically);
 * returns the file's path.
 *
 * @example
 * ```ts
 * await saveLoginConfig({ apiUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com" });
 * ```
 */
export async function saveLoginConfig(config: LoginConfig, dir: string = configDir()): Promise<string> {
  const parsed = LoginConfigSchema.safeParse(config);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
    throw new AloftError("INVALID_OPTIONS", `invalid login config: ${problems}`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, "config.json");
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(parsed.data, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
  return file;
}

/**
 * Where a setting came from, for messages that tell the user what to change.
 *
 * @example
 * ```ts
 * const source: SettingSource = "env"; // ALOFT_API_URL
 * ```
 */
export type SettingSource = "option" | "env" | "login" | "file" | "default" | "none";

/**
 * The API URL: `options.apiUrl`, else `ALOFT_API_URL`, else the login config's `apiUrl`, else
 * {@link DEFAULT_API_URL}. Trailing slashes are dropped; a value that is not an http(s) URL throws
 * an error naming where it came from.
 *
 * @example
 * ```ts
 * process.env.ALOFT_API_URL = "http://localhost:4300/";
 * (await resolveApiUrl()).apiUrl; // "http://localhost:4300"
 * ```
 */
export async function resolveApiUrl(
  option?: string,
  login?: LoginConfig,
): Promise<{ apiUrl: string; source: SettingSource }> {
  const candidates: Array<[string | undefined, SettingSource, string]> = [
    [option, "option", "the apiUrl option"],
    [process.env.ALOFT_API_URL, "env", "ALOFT_API_URL"],
    [login?.apiUrl, "login", `apiUrl in ${join(configDir(), "config.json")}`],
  ];
  for (const [value, source, where] of candidates) {
    if (value === undefined || value.trim() === "") continue;
    if (!isHttpUrl(value.trim())) throw new AloftError("INVALID_OPTIONS", `${where} is not an http(s) URL: ${JSON.stringify(value)}`);
    return { apiUrl: value.trim().replace(/\/+$/, ""), source };
  }
  return { apiUrl: DEFAULT_API_URL, source: "default" };
}

/**
 * The bearer token: `options.token`, else `ALOFT_TOKEN`, else the file `<data dir>/token` that
 * `aloft server start` writes (data dir: `options.dataDir`, else `ALOFT_DATA_DIR`, else `.aloft` in
 * the working directory). `token` is undefined when none is found; `file` is the file looked at.
 *
 * @example
 * ```ts
 * const { token, source } = await resolveToken({ dataDir: "/tmp/aloft" });
 * ```
 */
export async function resolveToken(options: { token?: string; dataDir?: string } = {}): Promise<{ token?: string; source: SettingSource; file: string }> {
  const file = join(options.dataDir ?? defaultDataDir(), "token");
  if (options.token !== undefined && options.token.trim() !== "") return { token: options.token.trim(), source: "option", file };
  const fromEnv = process.env.ALOFT_TOKEN?.trim();
  if (fromEnv) return { token: fromEnv, source: "env", file };
  try {
    const fromFile = (await readFile(file, "utf8")).trim();
    if (fromFile) return { token: fromFile, source: "file", file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return { source: "none", file };
}

/**
 * The SigV4 service and region of an AWS endpoint: `execute-api` for
 * `<id>.execute-api.<region>.amazonaws.com`, `lambda` for a function URL
 * `<id>.lambda-url.<region>.on.aws`; undefined for any other host.
 *
 * @example
 * ```ts
 * awsEndpointOf("https://abc123.execute-api.eu-west-1.amazonaws.com"); // { service: "execute-api", region: "eu-west-1" }
 * awsEndpointOf("http://localhost:4200"); // undefined
 * ```
 */
export function awsEndpointOf(url: string): { service: "execute-api" | "lambda"; region: string } | undefined {
  const host = new URL(url).hostname.toLowerCase();
  const apiGateway = /^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host);
  if (apiGateway) return { service: "execute-api", region: apiGateway[1]! };
  const functionUrl = /^[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws$/.exec(host);
  if (functionUrl) return { service: "lambda", region: functionUrl[1]! };
  return undefined;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}
