import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { STATE_NAME_TYPES, STATE_TYPES, isTerminal, makeState, type StateType } from "../../../sdk/model/states.js";
import type { CollisionStrategy, Decision, RunWrite } from "../../../lambdas/services/orchestration/decision.js";
import { decideTransition } from "../../../lambdas/services/orchestration/rules.js";
import { expectedTable } from "./expectedTransitions.js";
import { VersionedStore, type WriteRecord } from "./versionedStore.js";

const T0 = Date.parse("2026-11-22T10:00:00.000Z");
const ALL_NAMES = Object.keys(STATE_NAME_TYPES);
const namesOf = (type: StateType): string[] => ALL_NAMES.filter((name) => STATE_NAME_TYPES[name as keyof typeof STATE_NAME_TYPES] === type);

interface Proposal {
  run: number;
  type: StateType;
  name: string | undefined;
  retry: boolean;
  force: boolean;
  /** Seconds from the decision time, for SCHEDULED proposals. */
  scheduleIn: number | undefined;
  withId: boolean;
  /** The client sends the same proposal (same transition id) again, as after a lost response. */
  resend: boolean;
}

interface Scenario {
  runs: number;
  runsDueIn: number[];
  slotLimit: number;
  strategy: CollisionStrategy;
  clients: Proposal[][];
  /** Which client moves at each step (modulo the clients with work left): the interleaving. */
  schedule: number[];
}

const proposalArb: fc.Arbitrary<Proposal> = fc
  .constantFrom<StateType>("SCHEDULED", "PENDING", "PENDING", "PENDING", "RUNNING", "RUNNING", "RUNNING", "PAUSED", "CANCELLING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED")
  .chain((type) =>
    fc.record({
      run: fc.nat({ max: 2 }),
      type: fc.constant(type),
      name: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 6 },
        { arbitrary: fc.constantFrom(...namesOf(type)), weight: 3 },
        { arbitrary: fc.constantFrom(...ALL_NAMES), weight: 1 },
      ),
      retry: fc.integer({ min: 0, max: 9 }).map((n) => n < 4),
      force: fc.integer({ min: 0, max: 9 }).map((n) => n < 1),
      scheduleIn: type === "SCHEDULED" ? fc.option(fc.integer({ min: -5, max: 10 }), { nil: undefined }) : fc.constant(undefined),
      withId: fc.integer({ min: 0, max: 9 }).map((n) => n < 9),
      resend: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
    }),
  );

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  runs: fc.integer({ min: 2, max: 3 }),
  runsDueIn: fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 3, maxLength: 3 }),
  slotLimit: fc.constantFrom(1, 1, 2),
  strategy: fc.constantFrom<CollisionStrategy>("ENQUEUE", "CANCEL_NEW"),
  clients: fc.array(fc.array(proposalArb, { minLength: 1, maxLength: 12 }), { minLength: 2, maxLength: 6 }),
  schedule: fc.array(fc.nat({ max: 5 }), { maxLength: 300 }),
});

interface QueuedProposal extends Proposal {
  transitionId: string | undefined;
  isResend: boolean;
}

interface Client {
  queue: QueuedProposal[];
  /** A decision made on an earlier read, waiting for its conditional write. */
  pending: { runId: string; decision: Decision } | undefined;
}

interface AppliedWrite {
  proposal: QueuedProposal;
  record: WriteRecord;
}

/** How often the interesting races happened over all generated scenarios, so the property can't pass vacuously. */
const seen = { versionConflicts: 0, slotConflicts: 0, duplicateAccepts: 0, refusedClaims: 0, reopenings: 0, cancelNew: 0, slotWaits: 0 };

function simulate(scenario: Scenario): { store: VersionedStore; applied: AppliedWrite[]; decisions: Decision[] } {
  const store = new VersionedStore(scenario.slotLimit);
  const runId = (index: number): string => `run-${index % scenario.runs}`;
  for (let i = 0; i < scenario.runs; i += 1) {
    const scheduledTime = new Date(T0 + (scenario.runsDueIn[i] ?? 0) * 1000).toISOString();
    store.create(runId(i), { state: makeState("Scheduled", T0 - 60_000), version: 1, scheduledTime });
  }
  const clients: Client[] = scenario.clients.map((proposals, c) => ({
    queue: proposals.map((p, i) => ({ ...p, transitionId: p.withId ? `client-${c}:${i}` : undefined, isResend: false })),
    pending: undefined,
  }));
  const applied: AppliedWrite[] = [];
  const decisions: Decision[] = [];
  let now = T0;

  const finish = (client: Client, decision: Decision): void => {
    decisions.push(decision);
    const done = client.queue.shift();
    if (done?.resend === true && !done.isResend) client.queue.unshift({ ...done, isResend: true });
  };

  for (let step = 0; step < 10_000; step += 1) {
    const active = clients.filter((client) => client.queue.length > 0);
    if (active.length === 0) break;
    const client = active[(scenario.schedule[step] ?? step) % active.length];
    const proposal = client?.queue[0];
    if (client === undefined || proposal === undefined) break;
    now += 1000;

    if (client.pending === undefined) {
      const id = runId(proposal.run);
      const decision = decideTransition({
        current: store.read(id),
        proposed: {
          type: proposal.type,
          ...(proposal.name === undefined ? {} : { name: proposal.name }),
          ...(proposal.scheduleIn === undefined ? {} : { scheduledTime: new Date(now + proposal.scheduleIn * 1000).toISOString() }),
        },
        ...(proposal.transitionId === undefined ? {} : { transitionId: proposal.transitionId }),
        retry: proposal.retry,
        force: proposal.force,
        now,
        concurrency: [{ name: "deployment:race", limit: scenario.slotLimit, inUse: store.inUse, strategy: scenario.strategy }],
      });
      if (decision.rule === "duplicate-transition") seen.duplicateAccepts += 1;
      if (decision.rule === "claim-only-from-scheduled") seen.refusedClaims += 1;
      if (decision.rule === "concurrency-full") seen.slotWaits += 1;
      if ("write" in decision && decision.write !== undefined) client.pending = { runId: id, decision };
      else finish(client, decision);
      continue;
    }

    const { runId: id, decision } = client.pending;
    client.pending = undefined;
    const result = store.apply(id, decision);
    if (result === "written") {
      const record = store.writes.at(-1);
      if (record === undefined) throw new Error("the store reported a write it did not log");
      applied.push({ proposal, record });
      if (decision.rule === "retry-reopens") seen.reopenings += 1;
      if (decision.rule === "concurrency-cancel-new") seen.cancelNew += 1;
      finish(client, decision);
    } else if (result === "version-conflict") {
      seen.versionConflicts += 1; // read again and decide again on the client's next turn
    } else if (result === "no-slot") {
      seen.slotConflicts += 1;
    }
  }
  if (clients.some((client) => client.queue.length > 0)) throw new Error("the simulation did not finish");
  return { store, applied, decisions };
}

/** The type the expected tables say this write should have, with the two rewrites they can't show. */
function explainedType(proposal: QueuedProposal, record: WriteRecord): StateType | "reject" {
  const from = record.before.state;
  if (record.decision.rule === "concurrency-cancel-new") return proposal.type === "RUNNING" ? "CANCELLED" : "reject";
  if (from.type === "PAUSED" && from.name === "Suspended" && proposal.type === "CANCELLING") return "CANCELLED";
  return expectedTable(proposal)[from.type][proposal.type];
}

describe("clients racing to move the same runs", () => {
  afterAll(() => {
    // The races the properties are about did happen; otherwise the property test proved nothing.
    for (const [race, count] of Object.entries(seen)) expect(count, race).toBeGreaterThan(0);
  });

  it("never accept two claims, leave a terminal state unexplained, skip a version or write one transition id twice", () => {
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const { store, applied, decisions } = simulate(scenario);

        for (const decision of decisions) {
          if (decision.rule === "duplicate-transition") expect("write" in decision ? decision.write : undefined).toBeUndefined();
        }

        const ids = applied.map(({ record }) => record.write.transitionId).filter((id) => id !== undefined);
        expect(new Set(ids).size).toBe(ids.length);

        for (const id of store.runIds()) {
          const history = applied.filter(({ record }) => record.runId === id);
          expect(history.map(({ record }) => record.write.version)).toEqual(history.map((_, i) => i + 2));
          let claimsThisEpoch = 0;
          for (const { proposal, record } of history) {
            const from = record.before.state.type;
            const to = record.write.state.type;
            expect(record.write.expectedVersion).toBe(record.before.version);
            expect(explainedType(proposal, record), `${from} → ${proposal.type} wrote ${to}`).toBe(to);

            if (isTerminal(from)) {
              expect(proposal.retry || proposal.force).toBe(true);
              expect(["SCHEDULED", "PENDING"]).toContain(to);
              if (from === "COMPLETED") expect(proposal.force).toBe(true);
            }
            if (to === "SCHEDULED" || isTerminal(from)) claimsThisEpoch = 0;
            if (to === "PENDING") {
              claimsThisEpoch += 1;
              expect(claimsThisEpoch).toBe(1);
              expect(from === "SCHEDULED" || isTerminal(from)).toBe(true);
            }
          }

          const run = store.read(id);
          if (run === undefined) throw new Error(`${id} vanished`);
          if (run.state.type === "RUNNING" || run.state.type === "PAUSED") expect(run.holdsSlot).toBe(true);
          if (run.holdsSlot === true) expect(["RUNNING", "PAUSED", "CANCELLING"]).toContain(run.state.type);
        }

        const holders = store.runIds().filter((id) => store.read(id)?.holdsSlot === true).length;
        expect(store.inUse).toBe(holders);
        expect(store.peakInUse).toBeLessThanOrEqual(scenario.slotLimit);
      }),
      { numRuns: 1000 },
    );
  });

  it("lets exactly one of two workers that read the same SCHEDULED run claim it", () => {
    const store = new VersionedStore(1);
    store.create("run-1", { state: makeState("Scheduled", T0), version: 1, scheduledTime: new Date(T0).toISOString() });
    const claim = (transitionId: string): Decision =>
      decideTransition({ current: store.read("run-1"), proposed: { type: "PENDING" }, transitionId, now: T0 });

    const first = claim("worker-a");
    const second = claim("worker-b");
    expect([first.status, second.status]).toEqual(["ACCEPT", "ACCEPT"]);
    expect(store.apply("run-1", first)).toBe("written");
    expect(store.apply("run-1", second)).toBe("version-conflict");

    const secondAgain = claim("worker-b");
    expect(secondAgain).toMatchObject({ status: "REJECT", rule: "claim-only-from-scheduled", state: { type: "PENDING" } });
    expect(store.writes.map(({ write }): Partial<RunWrite> => ({ version: write.version, transitionId: write.transitionId }))).toEqual([
      { version: 2, transitionId: "worker-a" },
    ]);
  });

  it("lets only one of two runs that both saw a free slot take it; the other waits", () => {
    const store = new VersionedStore(1);
    for (const id of ["run-1", "run-2"]) store.create(id, { state: makeState("Pending", T0), version: 2 });
    const start = (id: string): Decision =>
      decideTransition({
        current: store.read(id),
        proposed: { type: "RUNNING" },
        now: T0,
        concurrency: [{ name: "deployment:etl", limit: 1, inUse: store.inUse }],
      });

    const first = start("run-1");
    const second = start("run-2");
    expect([first.effects, second.effects]).toEqual([{ takeSlot: true }, { takeSlot: true }]);
    expect(store.apply("run-1", first)).toBe("written");
    expect(store.apply("run-2", second)).toBe("no-slot");
    expect(start("run-2")).toMatchObject({ status: "WAIT", rule: "concurrency-full", state: { type: "PENDING" } });
    expect(store.inUse).toBe(1);
  });

  it("answers a worker's resent claim with ACCEPT and no second write, after another worker moved the run on", () => {
    const store = new VersionedStore(1);
    store.create("run-1", { state: makeState("Scheduled", T0), version: 1 });
    const propose = (type: StateType, transitionId: string): Decision =>
      decideTransition({ current: store.read("run-1"), proposed: { type }, transitionId, now: T0 });

    expect(store.apply("run-1", propose("PENDING", "claim-a"))).toBe("written");
    expect(store.apply("run-1", propose("RUNNING", "start-a"))).toBe("written");
    const resent = propose("PENDING", "claim-a");
    expect(resent).toMatchObject({ status: "ACCEPT", rule: "duplicate-transition", state: { type: "RUNNING" } });
    expect(store.apply("run-1", resent)).toBe("nothing-to-write");
    expect(store.writes).toHaveLength(2);
  });
});

describe("the generated proposals", () => {
  it("cover every state type", () => {
    const types = new Set(fc.sample(proposalArb, 500).map((p) => p.type));
    expect([...types].sort()).toEqual([...STATE_TYPES].sort());
  });
});
