import { STATE_TYPES, type StateType } from "../../../sdk/model/states.js";

/**
 * What a proposal from one type to another should give when no concurrency limit, schedule or
 * transition id is involved: the type the run ends in when ACCEPTed, or "reject".
 */
export type Expected = StateType | "reject";

export type ExpectedTable = Readonly<Record<StateType, Readonly<Record<StateType, Expected>>>>;

/** Reads a table written as text: a header of proposed types, then one line per current type. */
function parseTable(text: string): Partial<Record<StateType, Record<StateType, Expected>>> {
  const [header, ...rows] = text
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/));
  if (header === undefined || header.join(" ") !== STATE_TYPES.join(" ")) throw new Error("table header must list STATE_TYPES in order");
  const table: Partial<Record<StateType, Record<StateType, Expected>>> = {};
  for (const [from, ...cells] of rows) {
    if (!isStateType(from) || cells.length !== STATE_TYPES.length) throw new Error(`bad table row for ${String(from)}`);
    table[from] = Object.fromEntries(
      STATE_TYPES.map((to, i) => {
        const cell = cells[i];
        if (cell !== "reject" && !isStateType(cell)) throw new Error(`bad cell ${String(cell)} in row ${from}`);
        return [to, cell];
      }),
    ) as Record<StateType, Expected>;
  }
  return table;
}

function isStateType(value: string | undefined): value is StateType {
  return (STATE_TYPES as readonly (string | undefined)[]).includes(value);
}

function complete(partial: Partial<Record<StateType, Record<StateType, Expected>>>): ExpectedTable {
  for (const type of STATE_TYPES) if (partial[type] === undefined) throw new Error(`table lacks row ${type}`);
  return partial as ExpectedTable;
}

/** Every (current, proposed) pair with no flags: rows are the current type, columns the proposed one. */
export const WITHOUT_FLAGS: ExpectedTable = complete(
  parseTable(`
                SCHEDULED  PENDING    RUNNING    PAUSED     CANCELLING  COMPLETED  FAILED     CANCELLED  CRASHED
    SCHEDULED   SCHEDULED  PENDING    RUNNING    reject     CANCELLED   COMPLETED  FAILED     CANCELLED  CRASHED
    PENDING     SCHEDULED  reject     RUNNING    reject     CANCELLING  COMPLETED  FAILED     CANCELLED  CRASHED
    RUNNING     SCHEDULED  reject     RUNNING    PAUSED     CANCELLING  COMPLETED  FAILED     CANCELLED  CRASHED
    PAUSED      SCHEDULED  reject     RUNNING    PAUSED     CANCELLING  COMPLETED  FAILED     CANCELLED  CRASHED
    CANCELLING  reject     reject     reject     reject     reject      reject     reject     CANCELLED  reject
    COMPLETED   reject     reject     reject     reject     reject      reject     reject     reject     reject
    FAILED      reject     reject     reject     reject     reject      reject     reject     reject     reject
    CANCELLED   reject     reject     reject     reject     reject      reject     reject     reject     reject
    CRASHED     reject     reject     reject     reject     reject      reject     reject     reject     reject
`),
);

/** Terminal rows with an explicit `retry`: FAILED, CANCELLED and CRASHED re-open; COMPLETED does not. */
const TERMINAL_WITH_RETRY = parseTable(`
                SCHEDULED  PENDING    RUNNING    PAUSED     CANCELLING  COMPLETED  FAILED     CANCELLED  CRASHED
    COMPLETED   reject     reject     reject     reject     reject      reject     reject     reject     reject
    FAILED      SCHEDULED  PENDING    reject     reject     reject      reject     reject     reject     reject
    CANCELLED   SCHEDULED  PENDING    reject     reject     reject      reject     reject     reject     reject
    CRASHED     SCHEDULED  PENDING    reject     reject     reject      reject     reject     reject     reject
`);

/** Terminal rows with `force`: every terminal run re-opens, still only to SCHEDULED or PENDING. */
const TERMINAL_WITH_FORCE = parseTable(`
                SCHEDULED  PENDING    RUNNING    PAUSED     CANCELLING  COMPLETED  FAILED     CANCELLED  CRASHED
    COMPLETED   SCHEDULED  PENDING    reject     reject     reject      reject     reject     reject     reject
    FAILED      SCHEDULED  PENDING    reject     reject     reject      reject     reject     reject     reject
    CANCELLED   SCHEDULED  PENDING    reject     reject     reject      reject     reject     reject     reject
    CRASHED     SCHEDULED  PENDING    reject     reject     reject      reject     reject     reject     reject
`);

/** Flags change only the terminal rows; non-terminal rows are the same as without flags. */
export const WITH_RETRY: ExpectedTable = complete({ ...WITHOUT_FLAGS, ...TERMINAL_WITH_RETRY });
export const WITH_FORCE: ExpectedTable = complete({ ...WITHOUT_FLAGS, ...TERMINAL_WITH_FORCE });

export function expectedTable(flags: { retry?: boolean; force?: boolean }): ExpectedTable {
  if (flags.force === true) return WITH_FORCE;
  if (flags.retry === true) return WITH_RETRY;
  return WITHOUT_FLAGS;
}
