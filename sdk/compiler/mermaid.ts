/**
 * A Mermaid flowchart of a state machine definition: one node per state, Map and Parallel states as
 * subgraphs, Choice edges labelled with their rule, Catch edges dashed.
 */
import type { StateMachineDefinition } from "./compileFlow.js";

type State = Record<string, unknown>;
interface Machine {
  StartAt: string;
  States: Record<string, State>;
}

/**
 * Renders a definition as a Mermaid `flowchart TD`.
 *
 * @example
 * ```ts
 * const { definition } = await compileFlow(hello);
 * console.log(mermaidGraph(definition));
 * // flowchart TD
 * //   start((start)) --> s1
 * //   ...
 * ```
 */
export function mermaidGraph(definition: StateMachineDefinition): string {
  const lines = ["flowchart TD"];
  const ids = new Map<State, string>();
  let counter = 0;
  const idOf = (state: State) => {
    let id = ids.get(state);
    if (id === undefined) ids.set(state, (id = `s${++counter}`));
    return id;
  };

  const render = (machine: Machine, indent: string, entry: string, exit: string | undefined) => {
    const { States: states } = machine;
    const target = (name: string) => idOf(states[name]!);
    lines.push(`${indent}${entry} --> ${target(machine.StartAt)}`);
    for (const [name, state] of Object.entries(states)) {
      const id = idOf(state);
      const type = state.Type as string;
      if (type === "Map" || type === "Parallel") {
        lines.push(`${indent}subgraph ${id}["${label(name)} (${type})"]`, `${indent}  direction TB`);
        const machines = type === "Map" ? [state.ItemProcessor as Machine] : (state.Branches as Machine[]);
        machines.forEach((inner, index) => {
          const innerEntry = `${id}_in${index}((" "))`;
          render(inner, `${indent}  `, innerEntry, undefined);
        });
        lines.push(`${indent}end`);
      } else {
        lines.push(`${indent}${id}${shape(type, `${label(name)}${detail(state)}`)}`);
      }
      if (typeof state.Next === "string") lines.push(`${indent}${id} --> ${target(state.Next)}`);
      for (const choice of (state.Choices as (State & { Next: string })[] | undefined) ?? []) {
        lines.push(`${indent}${id} -->|"${label(describeRule(choice))}"| ${target(choice.Next)}`);
      }
      if (typeof state.Default === "string") lines.push(`${indent}${id} -->|otherwise| ${target(state.Default)}`);
      for (const handler of (state.Catch as { ErrorEquals: string[]; Next: string }[] | undefined) ?? []) {
        lines.push(`${indent}${id} -.->|"${label(handler.ErrorEquals.join(", "))}"| ${target(handler.Next)}`);
      }
      if (state.End === true && exit !== undefined) lines.push(`${indent}${id} --> ${exit}`);
    }
  };

  render(definition as Machine, "  ", "start((start))", "finish((end))");
  return `${lines.join("\n")}\n`;
}

function shape(type: string, text: string): string {
  switch (type) {
    case "Choice":
      return `{"${text}"}`;
    case "Wait":
      return `[/"${text}"/]`;
    case "Pass":
      return `("${text}")`;
    case "Fail":
      return `[["${text}"]]`;
    default:
      return `["${text}"]`;
  }
}

function detail(state: State): string {
  const resource = state.Resource as string | undefined;
  if (resource) return `<br/><small>${resource.replace("arn:aws:states:::", "")}</small>`;
  if (state.Type === "Wait") return `<br/><small>${state.Seconds === undefined ? String(state.SecondsPath) : `${String(state.Seconds)}s`}</small>`;
  return "";
}

function describeRule(rule: State): string {
  if (Array.isArray(rule.And)) {
    const parts = rule.And as State[];
    // The type guards the compiler adds before a comparison say nothing a reader needs.
    const comparisons = parts.filter((part) => !isGuard(part));
    return (comparisons.length > 0 ? comparisons : parts).map(describeRule).join(" and ");
  }
  if (Array.isArray(rule.Or)) return `(${(rule.Or as State[]).map(describeRule).join(" or ")})`;
  if (rule.Not) return `not ${describeRule(rule.Not as State)}`;
  // "$.results.fetch_score.value.total" reads as "fetch_score.total", "$.params.day" as "params.day".
  const variable = String(rule.Variable).replace(/^\$\.results\.([^.[]+)((?:\[\d+\])?)\.value/, "$1$2").replace(/^\$\./, "");
  for (const [key, value] of Object.entries(rule)) {
    if (key === "Variable" || key === "Next") continue;
    if (/^Is(Present|String|Numeric|Boolean)$/.test(key)) continue;
    if (key === "IsNull") return `${variable} is null`;
    const op = key.endsWith("Equals") ? "=" : key.endsWith("GreaterThan") ? ">" : key.endsWith("LessThan") ? "<" : key;
    return `${variable} ${op} ${JSON.stringify(value)}`;
  }
  return rule.IsPresent === true ? `${variable} is present` : "";
}

function isGuard(rule: State): boolean {
  return Object.keys(rule).every((key) => key === "Variable" || /^Is(Present|String|Numeric|Boolean)$/.test(key));
}

/** Mermaid label text: quotes and angle brackets as entities. */
function label(text: string): string {
  return text.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");
}
