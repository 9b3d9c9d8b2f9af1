import { mkdir, mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AloftClient, AloftError, configDir, DEFAULT_API_URL, loadLoginConfig, saveLoginConfig } from "aloft";
import { describe, expect, it, vi } from "vitest";
import { fakeFetch, json } from "./fakeFetch.js";
import { isolateEnvironment } from "./isolatedEnvironment.js";

const dirs = isolateEnvironment();

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" };

async function sentHeaders(client: AloftClient, requests: ReturnType<typeof fakeFetch>["requests"]) {
  await client.flowRuns.get("run-1");
  return requests.at(-1)!;
}

describe("API URL resolution", () => {
  it("uses the apiUrl option first, then ALOFT_API_URL, then the login config, then http://localhost:4200", async () => {
    await saveLoginConfig({ apiUrl: "https://login.example.com" }, dirs.configDir);
    vi.stubEnv("ALOFT_API_URL", "https://env.example.com");
    expect((await new AloftClient({ apiUrl: "https://option.example.com" }).endpoint()).apiUrl).toBe("https://option.example.com");
    expect((await new AloftClient().endpoint()).apiUrl).toBe("https://env.example.com");
    vi.stubEnv("ALOFT_API_URL", "");
    expect((await new AloftClient().endpoint()).apiUrl).toBe("https://login.example.com");
    vi.stubEnv("ALOFT_CONFIG_DIR", join(dirs.root, "no-config-here"));
    expect((await new AloftClient().endpoint()).apiUrl).toBe(DEFAULT_API_URL);
    expect(DEFAULT_API_URL).toBe("http://localhost:4200");
  });

  it("drops trailing slashes and keeps a base path", async () => {
    const fake = fakeFetch([json(200, {})]);
    await new AloftClient({ apiUrl: "https://example.com/prod/", token: "t", fetch: fake.fetch }).flowRuns.get("r1");
    expect(fake.requests[0]!.url).toBe("https://example.com/prod/v1/flow-runs/r1");
  });

  it("rejects an URL that is not http(s), naming where it came from", async () => {
    vi.stubEnv("ALOFT_API_URL", "localhost:4200");
    await expect(new AloftClient().endpoint()).rejects.toThrow('ALOFT_API_URL is not an http(s) URL: "localhost:4200"');
    await expect(new AloftClient({ apiUrl: "ftp://x" }).endpoint()).rejects.toThrow('the apiUrl option is not an http(s) URL: "ftp://x"');
  });
});

describe("token resolution", () => {
  async function authorizationOf(options: ConstructorParameters<typeof AloftClient>[0]) {
    const fake = fakeFetch([json(200, {})]);
    const request = await sentHeaders(new AloftClient({ apiUrl: "http://localhost:4200", ...options, fetch: fake.fetch }), fake.requests);
    return request.headers.authorization;
  }

  it("uses the token option first, then ALOFT_TOKEN, then <data dir>/token", async () => {
    await mkdir(dirs.dataDir, { recursive: true });
    await writeFile(join(dirs.dataDir, "token"), "from-file\n", { mode: 0o600 });
    vi.stubEnv("ALOFT_TOKEN", "from-env");
    expect(await authorizationOf({ token: "from-option" })).toBe("Bearer from-option");
    expect(await authorizationOf({})).toBe("Bearer from-env");
    vi.stubEnv("ALOFT_TOKEN", "");
    expect(await authorizationOf({})).toBe("Bearer from-file");
  });

  it("reads the token file of the dataDir option, else ALOFT_DATA_DIR, else .aloft in the working directory", async () => {
    const optionDir = await mkdtemp(join(dirs.root, "option-data-"));
    await writeFile(join(optionDir, "token"), "option-dir-token");
    await mkdir(dirs.dataDir, { recursive: true });
    await writeFile(join(dirs.dataDir, "token"), "env-dir-token");
    expect(await authorizationOf({ dataDir: optionDir })).toBe("Bearer option-dir-token");
    expect(await authorizationOf({})).toBe("Bearer env-dir-token");

    const project = await mkdtemp(join(dirs.root, "project-"));
    await mkdir(join(project, ".aloft"));
    await writeFile(join(project, ".aloft", "token"), "cwd-token");
    vi.stubEnv("ALOFT_DATA_DIR", undefined);
    vi.spyOn(process, "cwd").mockReturnValue(project);
    expect(await authorizationOf({})).toBe("Bearer cwd-token");
  });

  it("refuses an ALOFT_DATA_DIR that is set but empty instead of looking in the working directory", async () => {
    vi.stubEnv("ALOFT_DATA_DIR", "");
    await expect(authorizationOf({})).rejects.toMatchObject({ code: "INVALID_OPTIONS", message: "ALOFT_DATA_DIR is set but empty: set it to a directory, or unset it to use .aloft in the working directory" });
  });

  it("sends no Authorization header when there is no token anywhere", async () => {
    expect(await authorizationOf({})).toBeUndefined();
  });
});

describe("login config", () => {
  it("is saved as ~/.aloft/config.json (ALOFT_CONFIG_DIR in tests) with mode 0600 and read back", async () => {
    expect(configDir()).toBe(dirs.configDir);
    expect(await loadLoginConfig()).toBeUndefined();
    const file = await saveLoginConfig({ apiUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com", region: "eu-west-1" });
    expect(file).toBe(join(dirs.configDir, "config.json"));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ apiUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com", region: "eu-west-1" });
    expect(await loadLoginConfig()).toEqual({ apiUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com", region: "eu-west-1" });
  });

  it("refuses to save an invalid config and names each bad field", async () => {
    await expect(saveLoginConfig({ apiUrl: "nope", region: "Europe" })).rejects.toThrow("invalid login config: apiUrl: not an http(s) URL; region: not an AWS region such as eu-west-1");
  });

  it("reports a broken config file by its path", async () => {
    await mkdir(dirs.configDir, { recursive: true });
    const file = join(dirs.configDir, "config.json");
    await writeFile(file, "{ not json");
    await expect(loadLoginConfig()).rejects.toThrow(`${file} is not valid JSON`);
    await writeFile(file, JSON.stringify({ apiUrl: 42 }));
    const error = await loadLoginConfig().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AloftError);
    expect((error as Error).message).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is not a valid login config \\(apiUrl: `));
  });
});

describe("auth mode", () => {
  it("signs requests with SigV4 (no bearer token) for an API Gateway endpoint, with the region of its host", async () => {
    vi.stubEnv("ALOFT_TOKEN", "ignored");
    const fake = fakeFetch([json(200, {})]);
    const client = new AloftClient({ apiUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com", credentials, fetch: fake.fetch });
    expect(await client.endpoint()).toEqual({ apiUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com", auth: "iam" });
    const request = await sentHeaders(client, fake.requests);
    expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[^,]*host[^,]*, Signature=[0-9a-f]{64}$/);
  });

  it("signs for the lambda service, with the host's region, for a Lambda function URL", async () => {
    const fake = fakeFetch([json(200, {})]);
    const client = new AloftClient({ apiUrl: "https://abcdefghij.lambda-url.us-east-2.on.aws", credentials, fetch: fake.fetch });
    const request = await sentHeaders(client, fake.requests);
    expect(request.headers.authorization).toContain("/us-east-2/lambda/aws4_request");
  });

  it("signs for a custom domain when the login config for that URL says auth: iam, with its region", async () => {
    await saveLoginConfig({ apiUrl: "https://aloft.example.com", auth: "iam", region: "ap-southeast-2" });
    const fake = fakeFetch([json(200, {})]);
    const request = await sentHeaders(new AloftClient({ credentials, fetch: fake.fetch }), fake.requests);
    expect(request.url).toBe("https://aloft.example.com/v1/flow-runs/run-1");
    expect(request.headers.authorization).toContain("/ap-southeast-2/execute-api/aws4_request");
  });

  it("applies the login config's auth only to the login config's own URL", async () => {
    await saveLoginConfig({ apiUrl: "https://aloft.example.com", auth: "iam", region: "ap-southeast-2" });
    vi.stubEnv("ALOFT_API_URL", "http://localhost:4300");
    expect(await new AloftClient({ token: "t" }).endpoint()).toEqual({ apiUrl: "http://localhost:4300", auth: "token" });
  });

  it("takes the region from AWS_REGION when neither the host nor the config names one, and says so when none does", async () => {
    const fake = fakeFetch([json(200, {})]);
    await expect(new AloftClient({ apiUrl: "https://aloft.example.com", auth: "iam", credentials, fetch: fake.fetch }).flowRuns.get("r")).rejects.toThrow(
      "cannot sign requests to https://aloft.example.com: no AWS region (pass region, set AWS_REGION, or run `aloft login --api https://aloft.example.com --region <region>`)",
    );
    vi.stubEnv("AWS_REGION", "sa-east-1");
    const request = await sentHeaders(new AloftClient({ apiUrl: "https://aloft.example.com", auth: "iam", credentials, fetch: fake.fetch }), fake.requests);
    expect(request.headers.authorization).toContain("/sa-east-1/execute-api/aws4_request");
  });
});
