/**
 * Symbolic values: what a traced flow holds instead of its parameters and task results. Reading a
 * field gives another symbolic value one JSONPath step deeper; anything that would need the real
 * value (a comparison, arithmetic, iteration, a method call) is refused with a CompileError.
 */

/** Where a value comes from in the state machine's state: a JSONPath, or an intrinsic function call. */
export type Expr = { readonly kind: "path"; readonly path: string } | { readonly kind: "intrinsic"; readonly text: string };

/** Refuses a construct: throws the CompileError naming the flow's line. */
export type Refuse = (what: string, fix: string) => never;

const exprs = new WeakMap<object, Expr>();
const TOKEN = /\uE000(\d+)\uE001/g;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const INSPECT = Symbol.for("nodejs.util.inspect.custom");

export const FIX_TASK = "do this work in a task (the next state sees its result), or run the flow in durable mode";
export const FIX_WHEN = "branch with when(condition, then, otherwise) and the condition builders (eq, gt, lt, isPresent, and, or, not), do the computation in a task, or run the flow in durable mode";

/**
 * Turns strings that embed symbolic values (template literals) back into expressions.
 * @internal
 */
export class TokenTable {
  readonly #exprs: Expr[] = [];

  tokenFor(expr: Expr): string {
    this.#exprs.push(expr);
    return `\uE000${this.#exprs.length - 1}\uE001`;
  }

  /** The expressions a string embeds, in order, and the text around them; undefined when it embeds none. */
  split(text: string): { parts: string[]; exprs: Expr[] } | undefined {
    const parts: string[] = [];
    const found: Expr[] = [];
    let last = 0;
    for (const match of text.matchAll(TOKEN)) {
      parts.push(text.slice(last, match.index));
      found.push(this.#exprs[Number(match[1])]!);
      last = match.index + match[0].length;
    }
    if (found.length === 0) return undefined;
    parts.push(text.slice(last));
    return { parts, exprs: found };
  }
}

/**
 * The expression behind a symbolic value; undefined for a concrete value.
 *
 * @example
 * ```ts
 * exprOf(params.day); // { kind: "path", path: "$.params.day" }
 * ```
 */
export function exprOf(value: unknown): Expr | undefined {
  return (typeof value === "function" || (typeof value === "object" && value !== null)) ? exprs.get(value) : undefined;
}

/**
 * What a value is, for messages: "the flow's parameters" or "a task's result".
 *
 * @example
 * ```ts
 * describeExpr({ kind: "path", path: "$.params.day" }); // "the flow's parameters"
 * ```
 */
export function describeExpr(expr: Expr): string {
  if (expr.kind === "path" && expr.path.startsWith("$.params")) return "the flow's parameters";
  if (expr.kind === "path" && expr.path.startsWith("$$.")) return "the run's id";
  return "a task's result";
}

/**
 * A symbolic value standing for `expr`.
 *
 * @example
 * ```ts
 * const params = symbolic({ kind: "path", path: "$.params" }, tokens, refuse);
 * params.day; // symbolic $.params.day
 * ```
 */
export function symbolic(expr: Expr, tokens: TokenTable, refuse: Refuse, lastKey?: string): unknown {
  const what = describeExpr(expr);
  const target = () => undefined;
  const proxy: unknown = new Proxy(target, {
    get(_target, key) {
      if (key === "then") return undefined;
      if (key === Symbol.toPrimitive) {
        return (hint: string) => {
          if (hint === "string") return tokens.tokenFor(expr);
          return refuse(`compares or computes with ${what} in plain JavaScript`, FIX_WHEN);
        };
      }
      if (key === "toString") return () => tokens.tokenFor(expr);
      if (key === "valueOf") return () => refuse(`compares or computes with ${what} in plain JavaScript`, FIX_WHEN);
      if (key === "toJSON") return () => refuse(`serializes ${what} in the flow body`, FIX_TASK);
      if (key === Symbol.iterator || key === Symbol.asyncIterator) {
        return refuse(`iterates over ${what} (a for…of loop, a spread or array destructuring)`, `map a task over it with task.map(items), ${FIX_TASK}`);
      }
      if (key === INSPECT) return () => `[aloft symbolic ${expr.kind === "path" ? expr.path : expr.text}]`;
      if (typeof key === "symbol") return undefined;
      if (expr.kind !== "path") return refuse(`reads .${key} of a computed value (${expr.text})`, FIX_TASK);
      if (key === "length") return symbolic({ kind: "intrinsic", text: `States.ArrayLength(${expr.path})` }, tokens, refuse, key);
      return symbolic({ kind: "path", path: childPath(expr.path, key) }, tokens, refuse, key);
    },
    apply() {
      const name = lastKey === undefined ? "it" : `.${lastKey}()`;
      const mapping = lastKey === "map" || lastKey === "forEach";
      return refuse(`calls ${name} on ${what}`, mapping ? `map a task over it with task.map(items) (a Map state), ${FIX_TASK}` : FIX_TASK);
    },
    construct() {
      return refuse(`constructs an object from ${what}`, FIX_TASK);
    },
    has() {
      return refuse(`tests whether ${what} has a field (the in operator)`, FIX_WHEN);
    },
    ownKeys() {
      return refuse(`lists the fields of ${what} (a spread, Object.keys or a for…in loop)`, `pass the value whole or pick its fields one by one, or ${FIX_TASK}`);
    },
    getOwnPropertyDescriptor() {
      return refuse(`inspects the fields of ${what}`, FIX_TASK);
    },
    set() {
      return refuse(`changes ${what}`, `build a new object instead, or ${FIX_TASK}`);
    },
    deleteProperty() {
      return refuse(`deletes a field of ${what}`, `build a new object instead, or ${FIX_TASK}`);
    },
    defineProperty() {
      return refuse(`changes ${what}`, `build a new object instead, or ${FIX_TASK}`);
    },
    setPrototypeOf() {
      return refuse(`changes ${what}`, FIX_TASK);
    },
  });
  exprs.set(proxy as object, expr);
  return proxy;
}

/**
 * One JSONPath step below `path`.
 *
 * @example
 * ```ts
 * childPath("$.params", "day"); // "$.params.day"
 * childPath("$.results.list.value", "0"); // "$.results.list.value[0]"
 * ```
 */
export function childPath(path: string, key: string): string {
  if (/^(?:0|[1-9]\d*)$/.test(key)) return `${path}[${key}]`;
  if (IDENTIFIER.test(key)) return `${path}.${key}`;
  return `${path}['${key.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}']`;
}
