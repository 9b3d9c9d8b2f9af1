import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Where the Prefect side lives and runs. */
export interface PrefectEnv {
  /** The venv's python. */
  python: string;
  /** The installed Prefect version, as Prefect reports it. */
  version: string;
}

/**
 * Creates `bench/.venv` on first use and installs the pinned `bench/peers/prefect/requirements.txt`
 * into it (again whenever an installed version differs from its pin). Progress goes to stderr.
 *
 * @example
 * ```ts
 * const { python, version } = ensurePrefectEnv("/work/main");
 * ```
 */
export function ensurePrefectEnv(repoRoot: string, say: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): PrefectEnv {
  const venv = join(repoRoot, "bench", ".venv");
  const python = join(venv, "bin", "python");
  const requirements = join(repoRoot, "bench", "peers", "prefect", "requirements.txt");
  const pins = readPins(requirements);
  if (!existsSync(python)) {
    say(`creating ${venv} (first use)`);
    execFileSync("python3", ["-m", "venv", venv], { stdio: ["ignore", "inherit", "inherit"] });
  }
  if (!pinsSatisfied(python, pins)) {
    say(`installing ${[...pins].map(([name, version]) => `${name}==${version}`).join(" ")} into ${venv}; this takes a minute or two`);
    execFileSync(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", requirements], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (!pinsSatisfied(python, pins)) throw new Error(`${venv} still does not match ${requirements} after pip install`);
  }
  return { python, version: pins.get("prefect")! };
}

function readPins(requirements: string): Map<string, string> {
  const pins = new Map<string, string>();
  for (const line of readFileSync(requirements, "utf8").split("\n")) {
    const match = line.trim().match(/^([A-Za-z0-9_.-]+)==([^\s#]+)$/);
    if (match) pins.set(match[1]!.toLowerCase(), match[2]!);
  }
  if (!pins.has("prefect")) throw new Error(`${requirements} pins no prefect version (expected a line like prefect==3.8.8)`);
  return pins;
}

function pinsSatisfied(python: string, pins: ReadonlyMap<string, string>): boolean {
  const script = "import json, sys\nfrom importlib.metadata import version, PackageNotFoundError\nout = {}\nfor name in sys.argv[1:]:\n    try: out[name] = version(name)\n    except PackageNotFoundError: out[name] = None\nprint(json.dumps(out))";
  try {
    const installed = JSON.parse(execFileSync(python, ["-c", script, ...pins.keys()], { encoding: "utf8" })) as Record<string, string | null>;
    return [...pins].every(([name, version]) => installed[name] === version);
  } catch {
    return false;
  }
}
