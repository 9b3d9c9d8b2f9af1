/**
 * How user values (parameters, results, journal values, artifact data, log fields, cached values,
 * deployment parameters and schemas) are kept in items: as their JSON text, never as DynamoDB maps.
 *
 * A map would be rebuilt key by key by the document client, which turns a `"__proto__"` key into a
 * prototype (DynamoDB then refuses an empty attribute value), refuses empty keys on some emulators,
 * limits nesting to 32 levels and numbers to 38 digits. The JSON text of a value is stored exactly
 * and read back equal, whatever keys and numbers it holds. A value stored by reference (a
 * {@link PayloadRef}) gets an attribute of its own, so stored JSON can never be mistaken for one.
 */
import { PayloadRef } from "./records.js";

/** The attribute holding a field's value as JSON text. */
const JSON_PREFIX = "json:";
/** The attribute holding a field's payload reference (`{ key, bytes }`). */
const REF_PREFIX = "ref:";

/** The record fields that hold user values, by record type. */
export const VALUE_FIELDS = {
  flowRun: ["parameters", "result"],
  journalEntry: ["value"],
  artifact: ["data"],
  log: ["fields"],
  cacheEntry: ["value"],
  deployment: ["parameters", "parameterSchema"],
} as const;

/** The attribute names one value field is stored under (inline JSON text, payload reference). */
export function valueAttributeNames(field: string): { json: string; ref: string } {
  return { json: `${JSON_PREFIX}${field}`, ref: `${REF_PREFIX}${field}` };
}

/**
 * The attribute that stores one field's value: its JSON text, or its payload reference.
 *
 * @example
 * ```ts
 * valueAttribute("result", { ok: true }); // { name: "json:result", value: '{"ok":true}' }
 * ```
 */
export function valueAttribute(field: string, value: unknown): { name: string; value: unknown } {
  const names = valueAttributeNames(field);
  if (value instanceof PayloadRef) return { name: names.ref, value: { key: value.key, bytes: value.bytes } };
  return { name: names.json, value: JSON.stringify(value) };
}

/**
 * A record made ready for an item: each of `fields` that is set moves from the plain attribute to
 * its value attribute. The record itself is not changed.
 *
 * @example
 * ```ts
 * withValueAttributes({ id: "1", parameters: { a: 1 } }, VALUE_FIELDS.flowRun); // { id: "1", "json:parameters": '{"a":1}' }
 * ```
 */
export function withValueAttributes<T extends object>(record: T, fields: readonly string[]): Record<string, unknown> {
  const item: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  for (const field of fields) {
    const value = item[field];
    delete item[field];
    if (value === undefined) continue;
    const attribute = valueAttribute(field, value);
    item[attribute.name] = attribute.value;
  }
  return item;
}

/**
 * Turns value attributes back into record fields (in place): `json:<field>` is parsed, `ref:<field>`
 * becomes a {@link PayloadRef}. A plain attribute of the same name (written before values were kept
 * as JSON text) is kept as it is.
 *
 * @example
 * ```ts
 * readValueAttributes({ id: "1", "json:parameters": '{"a":1}' }); // { id: "1", parameters: { a: 1 } }
 * ```
 */
export function readValueAttributes(record: Record<string, unknown>): Record<string, unknown> {
  for (const attribute of Object.keys(record)) {
    if (attribute.startsWith(JSON_PREFIX)) {
      const text = record[attribute];
      delete record[attribute];
      if (typeof text === "string") defineField(record, attribute.slice(JSON_PREFIX.length), JSON.parse(text));
    } else if (attribute.startsWith(REF_PREFIX)) {
      const ref = record[attribute] as { key?: unknown; bytes?: unknown } | undefined;
      delete record[attribute];
      if (typeof ref?.key === "string" && typeof ref.bytes === "number") defineField(record, attribute.slice(REF_PREFIX.length), new PayloadRef(ref.key, ref.bytes));
    }
  }
  return record;
}

/** Sets an own data property, whatever its name (`record[name] = …` would set the prototype for "__proto__"). */
function defineField(record: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(record, name, { value, enumerable: true, writable: true, configurable: true });
}
