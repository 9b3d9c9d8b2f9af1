import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { keySegment, payloadKey } from "../../../lambdas/services/payloads.js";

/** Reads an escaped segment back (the hashed form `~<sha-256>` has no inverse; `~` is the empty part). */
function unescapeSegment(segment: string): string | undefined {
  if (segment.startsWith("~")) return segment === "~" ? "" : undefined;
  const bytes: number[] = [];
  let text = "";
  for (let i = 0; i < segment.length; ) {
    if (segment.startsWith(".u", i)) {
      text += Buffer.from(bytes).toString("utf8") + String.fromCharCode(parseInt(segment.slice(i + 2, i + 6), 16));
      bytes.length = 0;
      i += 6;
    } else if (segment[i] === ".") {
      bytes.push(parseInt(segment.slice(i + 1, i + 3), 16));
      i += 3;
    } else bytes.push(segment.charCodeAt(i++));
  }
  return text + Buffer.from(bytes).toString("utf8");
}

/** Ids and names as hostile as they come: separators, dots, escapes that look like ours, long names, any Unicode. */
const adversarial = fc.oneof(
  fc.string({ unit: "binary", maxLength: 80 }),
  // Code units, lone surrogates included: a JavaScript string may hold one.
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)), maxLength: 20 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom("\ud800", "\udfff", "\ufffd", "nightly:42", "nightly_42", "nightly.3a42", "..", ".", "", "~", "a/b", "a%2Fb", "x".repeat(129), `${"t".repeat(61)}:0`, `${"t".repeat(61)}:1`),
  fc.tuple(fc.string({ minLength: 60, maxLength: 200 }), fc.nat(3)).map(([name, call]) => `${name}:${call}`),
);

describe("payload key segments", () => {
  it("are injective: distinct ids or call keys never give the same segment", () => {
    fc.assert(
      fc.property(adversarial, adversarial, (a, b) => {
        fc.pre(a !== b);
        expect(keySegment(a)).not.toBe(keySegment(b));
      }),
      { numRuns: 5_000 },
    );
  });

  it("read back to the part they escape, unless hashed", () => {
    fc.assert(
      fc.property(adversarial, (part) => {
        const segment = keySegment(part);
        const back = unescapeSegment(segment);
        if (back !== undefined) expect(back).toBe(part);
        else expect(segment).toMatch(/^~[0-9a-f]{64}$/);
      }),
      { numRuns: 2_000 },
    );
  });

  it("are safe path segments for S3 and file systems: a short run of [A-Za-z0-9_.~-], never . or ..", () => {
    fc.assert(
      fc.property(adversarial, (part) => {
        const segment = keySegment(part);
        expect(segment).toMatch(/^[A-Za-z0-9_.~-]{1,129}$/);
        expect([".", ".."]).not.toContain(segment);
      }),
      { numRuns: 2_000 },
    );
  });

  it("keep the call counter of long task names: two calls of one task get keys apart", () => {
    const name = "t".repeat(61);
    const first = payloadKey(["runs", "r", "journal", `${name}:0`]);
    const second = payloadKey(["runs", "r", "journal", `${name}:1`]);
    expect(first.split("/").slice(0, -1)).not.toEqual(second.split("/").slice(0, -1));
  });

  it("keep nightly:42 and nightly_42 apart", () => {
    expect(keySegment("nightly:42")).toBe("nightly.3a42");
    expect(keySegment("nightly_42")).toBe("nightly_42");
  });
});
