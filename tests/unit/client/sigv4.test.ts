import { createHash, createHmac } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";
import { AloftClient } from "aloft";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sigV4Signer } from "../../../sdk/api/sigv4.js";
import { fakeFetch, json } from "./fakeFetch.js";
import { isolateEnvironment } from "./isolatedEnvironment.js";

isolateEnvironment();
afterEach(() => {
  vi.useRealTimers();
});

const credentials = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: "session-token-example" };
const signingDate = new Date("2026-11-01T12:34:56Z");

/** The reference: @smithy/signature-v4 itself, with its own SHA-256 (independent of the client's). */
class ReferenceSha256 {
  private readonly parts: Buffer[] = [];
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {}
  update(data: string | ArrayBuffer | ArrayBufferView) {
    this.parts.push(typeof data === "string" ? Buffer.from(data) : Buffer.from(ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data)));
  }
  async digest() {
    const key = this.secret === undefined ? undefined : typeof this.secret === "string" ? Buffer.from(this.secret) : Buffer.from(ArrayBuffer.isView(this.secret) ? new Uint8Array(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength) : new Uint8Array(this.secret));
    const hash = key === undefined ? createHash("sha256") : createHmac("sha256", key);
    for (const part of this.parts) hash.update(part);
    return new Uint8Array(hash.digest());
  }
  reset() {
    this.parts.length = 0;
  }
}

async function referenceHeaders(request: { method: string; url: string; headers: Record<string, string>; body?: string }, service: string, region: string) {
  const url = new URL(request.url);
  const signer = new SignatureV4({ service, region, credentials, sha256: ReferenceSha256 });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...request.headers, host: url.host },
      ...(request.body !== undefined ? { body: request.body } : {}),
    },
    { signingDate },
  );
  const { host: _host, ...headers } = signed.headers;
  return headers;
}

describe("SigV4 signing", () => {
  it("produces the headers @smithy/signature-v4 produces: service, region, host and the body's hash signed", async () => {
    const body = JSON.stringify({ parameters: { day: "2026-11-01" } });
    const url = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/deployments/nightly-etl/runs";
    const headers = { accept: "application/json", "content-type": "application/json" };
    const sign = sigV4Signer({ service: "execute-api", region: "eu-west-1", credentials, now: () => signingDate });
    const signed = await sign({ method: "POST", url: new URL(url), headers, body });

    expect(signed).toEqual(await referenceHeaders({ method: "POST", url, headers, body }, "execute-api", "eu-west-1"));
    expect(signed["x-amz-content-sha256"]).toBe(createHash("sha256").update(body).digest("hex"));
    expect(signed["x-amz-date"]).toBe("20261101T123456Z");
    expect(signed["x-amz-security-token"]).toBe("session-token-example");
    expect(signed.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261101\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=accept;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/,
    );
  });

  it("signs a different signature for a different body, so a body cannot be swapped", async () => {
    const sign = sigV4Signer({ service: "execute-api", region: "eu-west-1", credentials, now: () => signingDate });
    const url = new URL("https://abc123.execute-api.eu-west-1.amazonaws.com/v1/flow-runs");
    const a = await sign({ method: "POST", url, headers: {}, body: '{"flowName":"a"}' });
    const b = await sign({ method: "POST", url, headers: {}, body: '{"flowName":"b"}' });
    expect(a.authorization).not.toBe(b.authorization);
  });

  it("the client sends exactly the reference signature, query string included, and no bearer token", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: signingDate });
    const fake = fakeFetch([json(200, { items: [] })]);
    const client = new AloftClient({ apiUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com", token: "not-sent", credentials, fetch: fake.fetch });
    await client.flowRuns.list({ flow: "etl", state: "FAILED" });
    const [request] = fake.requests;
    const expected = await referenceHeaders(
      { method: "GET", url: "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/flow-runs?flow=etl&state=FAILED", headers: { accept: "application/json" } },
      "execute-api",
      "eu-west-1",
    );
    expect(request!.headers).toEqual(expected);
  });

  it("asks the credential source before each signature, so refreshed credentials are used", async () => {
    let calls = 0;
    const source = async () => ({ accessKeyId: `AKID${++calls}`, secretAccessKey: "secret" });
    const sign = sigV4Signer({ service: "lambda", region: "us-east-2", credentials: source, now: () => signingDate });
    const url = new URL("https://abcdefghij.lambda-url.us-east-2.on.aws/health");
    expect((await sign({ method: "GET", url, headers: {} })).authorization).toContain("Credential=AKID1/20261101/us-east-2/lambda/aws4_request");
    expect((await sign({ method: "GET", url, headers: {} })).authorization).toContain("Credential=AKID2/");
  });
});
