import type { FetchLike } from "aloft";

/** A request the client sent, as the fake saw it. */
export interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The parsed JSON body, if any. */
  body?: unknown;
  rawBody?: string;
}

/** What the fake answers with: a response, a thrown error, or a function of the request. */
export type Answer = Response | Error | ((request: SentRequest) => Response);

/**
 * A fetch that records every request and plays `answers` in order (the last one repeats).
 *
 * @example
 * ```ts
 * const fake = fakeFetch([json(201, { id: "r1" })]);
 * await new AloftClient({ fetch: fake.fetch }).flowRuns.create({ flowName: "etl" });
 * fake.requests[0]?.method; // "POST"
 * ```
 */
export function fakeFetch(answers: Answer[] = [json(200, {})]): { fetch: FetchLike; requests: SentRequest[] } {
  const requests: SentRequest[] = [];
  const fetch: FetchLike = async (url, init) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => (headers[name] = value));
    const rawBody = typeof init.body === "string" ? init.body : undefined;
    const request: SentRequest = { method: init.method ?? "GET", url, headers, ...(rawBody !== undefined ? { rawBody, body: JSON.parse(rawBody) as unknown } : {}) };
    requests.push(request);
    const answer = answers[Math.min(requests.length - 1, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    if (typeof answer === "function") return answer(request);
    return answer.clone();
  };
  return { fetch, requests };
}

/**
 * A JSON response.
 *
 * @example
 * ```ts
 * json(404, { title: "Not found", status: 404 }, { "content-type": "application/problem+json" });
 * ```
 */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/**
 * The error undici's fetch throws when a connection fails with `code`.
 *
 * @example
 * ```ts
 * fakeFetch([networkError("ECONNREFUSED"), json(200, {})]);
 * ```
 */
export function networkError(code: string, message = `connect ${code} 127.0.0.1:4200`): TypeError {
  return new TypeError("fetch failed", { cause: Object.assign(new Error(message), { code }) });
}
