import { readFileSync } from "node:fs";

/** The parts of a V8 `.cpuprofile` (as `node --cpu-prof` writes it) the summary reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time of one function or one group of files, in ms and as a share of the busy (non-idle) time. */
export interface ProfileEntry {
  name: string;
  ms: number;
  percent: number;
}

/** Where a profiled process spent its busy time. */
export interface ProfileSummary {
  /** Sampled time, idle included. */
  totalMs: number;
  /** Sampled time not idle. */
  busyMs: number;
  /** Self time by group: a package under node_modules (`dynalite`, `hono`…), a source folder of this repo (`lambdas/store`), `node:` internals, or V8's `(garbage collector)` / `(program)`. */
  byGroup: ProfileEntry[];
  /** Self time by function, with its file and line. */
  byFunction: ProfileEntry[];
  /**
   * Time by layer of the local server: each sample goes to the innermost frame of its stack that
   * belongs to one (the AWS SDK's DynamoDB client, dynalite and its LevelDB, the HTTP framework,
   * Aloft's own code); samples with no such frame (socket I/O and HTTP parsing driven by the event
   * loop, GC) go to their own file's module (`node:_http_server`, …) or V8 bucket.
   */
  byLayer: ProfileEntry[];
}

const SDK_CLIENT = "DynamoDB client (@aws-sdk/*, @smithy/*)";
const EMULATOR = "dynalite and LevelDB (dynalite, classic-level, abstract-level, their deps)";
const HTTP_FRAMEWORK = "HTTP framework (hono, @hono/node-server)";
const ALOFT = "Aloft code (dist/lambdas, dist/sdk, zod)";

function layerOf(group: string): string | undefined {
  if (group.startsWith("@smithy/") || group.startsWith("@aws-sdk/") || group === "tslib" || group === "fast-xml-parser" || group === "bowser") return SDK_CLIENT;
  if (group === "hono" || group === "@hono/node-server") return HTTP_FRAMEWORK;
  if (group.startsWith("lambdas/") || group.startsWith("sdk/") || group === "zod") return ALOFT;
  if (group.startsWith("(") || group === "node: internals" || group.startsWith("/")) return undefined;
  return EMULATOR;
}

/**
 * Sums the self time of a `.cpuprofile` by group of files and by function, ignoring idle time.
 *
 * @example
 * ```ts
 * const { byGroup } = summarizeCpuProfile("/tmp/prof/CPU.20261122.cpuprofile");
 * for (const { name, percent } of byGroup.slice(0, 10)) console.log(name, percent.toFixed(1));
 * ```
 */
export function summarizeCpuProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));

  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const layers = new Map<string, number>();
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    totalUs += us;
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    const group = groupOf(frame.url, frame.functionName);
    groups.set(group, (groups.get(group) ?? 0) + us);
    const where = frame.url ? `${shortPath(frame.url)}:${frame.lineNumber + 1}` : "";
    const name = `${frame.functionName || "(anonymous)"}${where ? ` ${where}` : ""}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    let layer: string | undefined;
    for (let at: number | undefined = id; at !== undefined && layer === undefined; at = parents.get(at)) {
      const callFrame = byId.get(at)!.callFrame;
      layer = layerOf(groupOf(callFrame.url, callFrame.functionName));
    }
    layer ??= frame.url.startsWith("node:") ? frame.url.replace(/^node:(internal\/)?/, "node:") : group;
    layers.set(layer, (layers.get(layer) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const entries = (map: Map<string, number>) =>
    [...map].map(([name, us]) => ({ name, ms: us / 1000, percent: (100 * us) / busyUs })).sort((a, b) => b.ms - a.ms);
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, byGroup: entries(groups), byFunction: entries(functions), byLayer: entries(layers) };
}

/** The group a frame's file belongs to: a node_modules package, a folder of this repo (two levels), or a runtime bucket. */
function groupOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  if (url.startsWith("node:")) return "node: internals";
  const path = url.replace(/^file:\/\//, "");
  const modules = path.lastIndexOf("/node_modules/");
  if (modules >= 0) {
    const rest = path.slice(modules + "/node_modules/".length).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const repo = path.match(/\/dist\/((?:lambdas|sdk)\/[^/]+)/);
  return repo ? repo[1]! : shortPath(url);
}

function shortPath(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  const modules = path.lastIndexOf("/node_modules/");
  if (modules >= 0) return path.slice(modules + "/node_modules/".length);
  const dist = path.lastIndexOf("/dist/");
  return dist >= 0 ? path.slice(dist + "/dist/".length) : path;
}

/**
 * Renders the top entries of a summary as plain text, one per line.
 *
 * @example
 * ```ts
 * process.stderr.write(renderProfileSummary(summarizeCpuProfile(file), 15));
 * ```
 */
export function renderProfileSummary(summary: ProfileSummary, top = 20): string {
  const line = ({ name, ms, percent }: ProfileEntry) => `${percent.toFixed(1).padStart(5)} %  ${Math.round(ms).toLocaleString("en-US").padStart(7)} ms  ${name}`;
  return [
    `busy ${Math.round(summary.busyMs).toLocaleString("en-US")} ms of ${Math.round(summary.totalMs).toLocaleString("en-US")} ms sampled (the rest idle)`,
    "time by layer (innermost frame of the stack that belongs to one):",
    ...summary.byLayer.slice(0, top).map(line),
    "self time by group:",
    ...summary.byGroup.slice(0, top).map(line),
    "self time by function:",
    ...summary.byFunction.slice(0, top).map(line),
    "",
  ].join("\n");
}
