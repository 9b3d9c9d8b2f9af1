/**
 * Large values (parameters, results, journal values, artifact data) are kept out of DynamoDB items:
 * a value whose JSON is over {@link INLINE_LIMIT_BYTES} goes to the payload store (S3 on AWS, a
 * folder locally) and the item keeps a reference `{ "$ref": "<key>", "bytes": n }`. Reads resolve
 * references, so API callers always see the value itself.
 */

/** Values whose JSON is larger than this are stored by reference. */
export const INLINE_LIMIT_BYTES = 64 * 1024;

/**
 * Where large values live. Keys are chosen by the caller and written once.
 *
 * @example
 * ```ts
 * await payloads.put("runs/42/result.json", JSON.stringify(result));
 * const text = await payloads.get("runs/42/result.json");
 * ```
 */
export interface PayloadStore {
  put(key: string, json: string): Promise<void>;
  /** The stored JSON text; throws if the key is missing. */
  get(key: string): Promise<string>;
}

/** A stored reference in place of a large value. */
export interface PayloadRef {
  $ref: string;
  bytes: number;
}

/**
 * Whether a stored value is a reference to the payload store.
 *
 * @example
 * ```ts
 * isPayloadRef({ $ref: "runs/1/result.json", bytes: 70_000 }); // true
 * ```
 */
export function isPayloadRef(value: unknown): value is PayloadRef {
  return typeof value === "object" && value !== null && typeof (value as PayloadRef).$ref === "string" && typeof (value as PayloadRef).bytes === "number" && Object.keys(value).length === 2;
}

/**
 * Stores values over the inline limit by reference and resolves references on the way out.
 *
 * @example
 * ```ts
 * const codec = new PayloadCodec(new LocalPayloadStore(".aloft/payloads"));
 * const stored = await codec.store(`runs/${id}/result.json`, result); // the value, or a PayloadRef
 * const value = await codec.resolve(stored);
 * ```
 */
export class PayloadCodec {
  constructor(private readonly payloads: PayloadStore | undefined) {}

  async store(key: string, value: unknown): Promise<unknown> {
    if (value === undefined || this.payloads === undefined) return value;
    const json = JSON.stringify(value);
    const bytes = Buffer.byteLength(json);
    if (bytes <= INLINE_LIMIT_BYTES) return value;
    await this.payloads.put(key, json);
    const ref: PayloadRef = { $ref: key, bytes };
    return ref;
  }

  async resolve(value: unknown): Promise<unknown> {
    if (this.payloads === undefined || !isPayloadRef(value)) return value;
    return JSON.parse(await this.payloads.get(value.$ref)) as unknown;
  }
}

/**
 * A payload key made safe for S3 and file systems from its parts.
 *
 * @example
 * ```ts
 * payloadKey("runs", runId, "journal", callKey); // "runs/<id>/journal/<hex of callKey>.json"
 * ```
 */
export function payloadKey(...parts: string[]): string {
  const last = parts.at(-1) ?? "value";
  const safe = parts.slice(0, -1).map((part) => part.replace(/[^A-Za-z0-9._-]/g, "_"));
  return [...safe, `${Buffer.from(last).toString("hex").slice(0, 200)}.json`].join("/");
}
