/**
 * Large values (parameters, results, journal values, artifact data) are kept out of DynamoDB items:
 * a value whose JSON is over {@link INLINE_LIMIT_BYTES} goes to the payload store (S3 on AWS, a
 * folder locally) and the item keeps a {@link PayloadRef} (in an attribute of its own). Reads
 * resolve references, so API callers always see the value itself.
 *
 * Every write gets a key of its own under its owner (`runs/<run id>/result/<uuid>.json`): a write
 * that the orchestration rules refuse (a stale runner's COMPLETED, a second journal write of a call)
 * can never replace the value the accepted write points to, and the service deletes what the refused
 * write left ({@link PayloadCodec.discard}) without any risk of deleting another write's payload.
 * Every part of a key is escaped injectively ({@link keySegment}), so two owners never share a key.
 */
import { randomUUID } from "node:crypto";
import { keySegment } from "../../sdk/model/keySegment.js";
import { PayloadRef } from "../store/records.js";
import { AlreadyExistsError, ItemTooLargeError, NotFoundError, VersionConflictError } from "../store/store.js";
import { ServiceError } from "./errors.js";

export { keySegment, PayloadRef };

/** Values whose JSON is larger than this are stored by reference. */
export const INLINE_LIMIT_BYTES = 64 * 1024;

/**
 * Where large values live. Each key is written once (keys are unique per write).
 *
 * @example
 * ```ts
 * await payloads.put("runs/42/result/0b6e….json", JSON.stringify(result));
 * const text = await payloads.get("runs/42/result/0b6e….json");
 * await payloads.delete("runs/42/result/0b6e….json");
 * ```
 */
export interface PayloadStore {
  put(key: string, json: string): Promise<void>;
  /** The stored JSON text; throws if the key is missing. */
  get(key: string): Promise<string>;
  /** Removes a key; a missing key is not an error. */
  delete(key: string): Promise<void>;
}

/**
 * Whether a stored value is a reference to the payload store (only a {@link PayloadRef} instance
 * is: no JSON value can be one).
 *
 * @example
 * ```ts
 * isPayloadRef(new PayloadRef("runs/1/result/ab.json", 70_000)); // true
 * isPayloadRef({ $ref: "runs/1/result/ab.json", bytes: 70_000 }); // false: that is a user's value
 * ```
 */
export function isPayloadRef(value: unknown): value is PayloadRef {
  return value instanceof PayloadRef;
}

/**
 * A new key for one write of a value: its owner's parts, each a {@link keySegment}, then a UUID.
 *
 * @example
 * ```ts
 * payloadKey(["runs", "nightly:42", "result"]); // "runs/nightly.3a42/result/0b6e…-….json"
 * ```
 */
export function payloadKey(owner: readonly string[]): string {
  return [...owner.map(keySegment), `${randomUUID()}.json`].join("/");
}

/**
 * Stores values over the inline limit by reference, resolves references on the way out, and cleans
 * up after writes that were refused.
 *
 * @example
 * ```ts
 * const codec = new PayloadCodec(new LocalPayloadStore(".aloft/payloads"));
 * const stored = await codec.store(["runs", id, "result"], result); // the value, or a PayloadRef
 * const outcome = await store.transitionFlowRun(id, version, state, { result: stored });
 * await codec.discard(stored, outcome.result); // deletes the payload unless the run points to it
 * const value = await codec.resolve(outcome.result);
 * ```
 */
export class PayloadCodec {
  constructor(private readonly payloads: PayloadStore | undefined) {}

  /** The value itself when it is small (or there is no payload store), else a reference to where it was put. */
  async store(owner: readonly string[], value: unknown): Promise<unknown> {
    if (value === undefined || this.payloads === undefined) return value;
    const json = JSON.stringify(value);
    const bytes = Buffer.byteLength(json);
    if (bytes <= INLINE_LIMIT_BYTES) return value;
    const key = payloadKey(owner);
    await this.payloads.put(key, json);
    return new PayloadRef(key, bytes);
  }

  async resolve(value: unknown): Promise<unknown> {
    if (this.payloads === undefined || !isPayloadRef(value)) return value;
    return JSON.parse(await this.payloads.get(value.key)) as unknown;
  }

  /**
   * Deletes the payload a write stored (`written`, from {@link store}) unless the stored record
   * points to it (`kept`: the field as the accepted write left it). Call it after every write that
   * carried a reference: refused, duplicate or failed, it leaves nothing behind. The key is this
   * write's own, so no other write's payload can be deleted.
   */
  async discard(written: unknown, kept: unknown): Promise<void> {
    if (this.payloads === undefined || !isPayloadRef(written)) return;
    if (isPayloadRef(kept) && kept.key === written.key) return;
    await this.payloads.delete(written.key);
  }

  /**
   * Runs a write that stores `written`, then discards the payload if the record it leaves does not
   * point to it (`kept` reads the field from the write's result). When the write throws an error that
   * says it wrote nothing (refused, not found, too large, invalid), the payload is discarded too; any
   * other error (a timeout, a lost connection) may follow a write that did happen, so the payload is
   * kept: an unreferenced payload costs a little storage, a dangling reference would lose the value.
   */
  async writing<T>(written: unknown, write: () => Promise<T>, kept: (result: T) => unknown): Promise<T> {
    let result: T;
    try {
      result = await write();
    } catch (error) {
      if (wroteNothing(error)) await this.discard(written, undefined).catch(() => {});
      throw error;
    }
    await this.discard(written, kept(result));
    return result;
  }
}

/** Errors raised before or instead of a write: the write did not happen. */
function wroteNothing(error: unknown): boolean {
  return [ServiceError, NotFoundError, VersionConflictError, AlreadyExistsError, ItemTooLargeError, RangeError].some((type) => error instanceof type);
}
