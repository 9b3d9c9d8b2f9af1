import { createRequire } from "node:module";

/** The part of an abstract-level iterator (LevelDB's, through classic-level, or memory-level's) that dynalite uses. */
interface LevelIterator {
  close(): Promise<void>;
  return?: () => Promise<IteratorReturnResult<undefined>>;
}

/** The part of dynalite's abstract-level database its key and value streams read through. */
interface LevelDatabase {
  keys(options?: unknown): LevelIterator;
  values(options?: unknown): LevelIterator;
}

/**
 * dynalite's `dynalite/db` module as far as the repair goes: `create(options)` makes the store of
 * each dynalite server, and `store.db` is its abstract-level database.
 *
 * @example
 * ```ts
 * const dynaliteDb = createRequire(import.meta.url)("dynalite/db") as DynaliteDbModule;
 * ```
 */
export interface DynaliteDbModule {
  create(this: unknown, options?: unknown): { db?: Partial<LevelDatabase> };
}

/** Marks the `dynalite/db` module once repaired (shared by every copy of this file a process loads: source and build). */
const REPAIRED = Symbol.for("aloft.dynalite.closesIterators");

/**
 * Makes dynalite close the LevelDB iterators of its queries and scans.
 *
 * dynalite 4.0.0 reads every Query, Scan and listing through a stream over an abstract-level iterator,
 * and its stream's `destroy` closes that iterator with `iterator.return()` — a method abstract-level 3
 * iterators do not have (theirs is `close()`). So no iterator is ever closed: each one stays attached to
 * the database and pins its native LevelDB iterator, and the local server's memory grows with every
 * query until it is stopped. This gives each iterator of dynalite's database the `return()` its streams
 * call, closing it, so the stream closes it when it ends or is cut short by a Limit.
 *
 * The repair is made in the process, when dynalite starts, rather than by patching dynalite's files at
 * install: it then holds wherever Aloft is installed (a dependency of a user's project, `npm ci
 * --ignore-scripts`, pnpm's shared store), and the tests run exactly what users run. It is idempotent,
 * and harmless once dynalite closes its iterators itself (an iterator that has `return()` keeps it).
 * A dynalite whose store it does not recognise is refused, with the version Aloft expects.
 *
 * @param dynaliteDb `dynalite/db` as dynalite itself loads it (the default); tests pass another.
 * @throws Error when `dynalite/db` is not the module Aloft knows (no `create`, or a store without a
 * LevelDB database), naming the dynalite version found.
 *
 * @example
 * ```ts
 * closeDynaliteIterators();
 * const server = dynalite({ path: ".aloft/dynamodb" });
 * ```
 */
export function closeDynaliteIterators(dynaliteDb?: DynaliteDbModule): void {
  const require = createRequire(import.meta.url);
  const module = (dynaliteDb ?? require("dynalite/db")) as DynaliteDbModule & { [REPAIRED]?: true };
  if (module[REPAIRED]) return;
  const create = module.create;
  if (typeof create !== "function") throw unknownDynalite(require, "dynalite/db exports no create()");
  module.create = function createClosingIterators(this: unknown, options?: unknown) {
    const store = create.call(this, options);
    const database = store.db;
    if (typeof database?.keys !== "function" || typeof database.values !== "function") {
      throw unknownDynalite(require, "its store has no LevelDB database with keys() and values()");
    }
    const keys = database.keys.bind(database);
    const values = database.values.bind(database);
    database.keys = (options) => closable(keys(options));
    database.values = (options) => closable(values(options));
    return store;
  };
  module[REPAIRED] = true;
}

/** Gives an iterator the `return()` of the async-iterator protocol, closing it (once; close() is idempotent). */
function closable(iterator: LevelIterator): LevelIterator {
  iterator.return ??= async () => {
    await iterator.close();
    return { done: true, value: undefined };
  };
  return iterator;
}

function unknownDynalite(require: NodeJS.Require, what: string): Error {
  const { version } = require("dynalite/package.json") as { version: string };
  return new Error(`the installed dynalite ${version} is not the one Aloft knows (dynalite 4.0.0): ${what}, so Aloft cannot close its LevelDB iterators and every query would leak memory; install dynalite 4.0.0`);
}
