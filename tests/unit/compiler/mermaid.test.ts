import { describe, expect, it } from "vitest";
import { compileFlow, eq, flow, mermaidGraph, sleep, task, when } from "aloft";

const fetchScore = task({ name: "fetch-score", run: async (id: string) => ({ id, score: id.length }) });
const notify = task({ name: "notify", onFailure: async () => undefined, run: async (id: string) => `notified ${id}` });
const archive = task({ name: "archive", run: async (id: string) => `archived ${id}` });

describe("mermaidGraph", () => {
  it("draws every state: Parallel as a subgraph, Choice edges with their rule, Catch edges dashed, Wait as a slanted box", async () => {
    const review = flow({
      name: "review",
      run: async ({ a, b }: { a: string; b: string }) => {
        const [first] = await Promise.all([fetchScore(a), fetchScore(b)]);
        await sleep(60);
        return when(eq(first.score, 3), () => notify(first.id), () => archive(first.id));
      },
    });
    const { definition } = await compileFlow(review);

    expect(mermaidGraph(definition)).toBe(
      [
        "flowchart TD",
        "  start((start)) --> s1",
        '  subgraph s1["Parallel 1 (Parallel)"]',
        "    direction TB",
        '    s1_in0((" ")) --> s2',
        '    s2["fetch-score<br/><small>lambda:invoke</small>"]',
        '    s1_in1((" ")) --> s3',
        '    s3["fetch-score 2<br/><small>lambda:invoke</small>"]',
        "  end",
        "  s1 --> s4",
        '  s4[/"Sleep 1<br/><small>60s</small>"/]',
        "  s4 --> s5",
        '  s5{"When 1"}',
        '  s5 -->|"Parallel_1[0].score = 3"| s6',
        "  s5 -->|otherwise| s7",
        '  s6["notify<br/><small>lambda:invoke</small>"]',
        "  s6 --> s8",
        '  s6 -.->|"States.ALL"| s9',
        '  s8("When 1 then")',
        "  s8 --> s10",
        '  s10("Return")',
        "  s10 --> finish((end))",
        '  s9["notify onFailure<br/><small>lambda:invoke</small>"]',
        "  s9 --> s11",
        '  s11[["notify failed"]]',
        '  s7["archive<br/><small>lambda:invoke</small>"]',
        "  s7 --> s12",
        '  s12("When 1 otherwise")',
        "  s12 --> s10",
        "",
      ].join("\n"),
    );
  });
});
