import { ExecutionAlreadyExists, ExecutionDoesNotExist, SFNClient, StartExecutionCommand, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { SfnStateMachines } from "../../../lambdas/adapters/sfnStateMachines.js";

const sfn = mockClient(SFNClient);
const STATE_MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:aloft-prod_nightly-etl";
const stateMachines = new SfnStateMachines(new SFNClient({ region: "eu-west-1" }));

beforeEach(() => sfn.reset());
afterAll(() => sfn.restore());

describe("SfnStateMachines", () => {
  it("starts an execution named after the run with the {params} input", async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: "arn:aws:states:eu-west-1:123456789012:execution:aloft-prod_nightly-etl:run-1", startDate: new Date() });

    const started = await stateMachines.start({ stateMachineArn: STATE_MACHINE, runId: "run-1", input: { params: { day: "2026-11-21" } } });

    expect(started).toEqual({ executionArn: "arn:aws:states:eu-west-1:123456789012:execution:aloft-prod_nightly-etl:run-1" });
    expect(sfn.commandCalls(StartExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { stateMachineArn: STATE_MACHINE, name: "run-1", input: '{"params":{"day":"2026-11-21"}}' },
    ]);
  });

  it("answers a second start of the run with the execution that exists", async () => {
    sfn.on(StartExecutionCommand).rejects(new ExecutionAlreadyExists({ message: "Execution Already Exists", $metadata: {} }));

    await expect(stateMachines.start({ stateMachineArn: STATE_MACHINE, runId: "run-2", input: { params: {} } })).resolves.toEqual({
      executionArn: "arn:aws:states:eu-west-1:123456789012:execution:aloft-prod_nightly-etl:run-2",
    });
  });

  it("stops the run's execution with the error Aloft.Cancelled and the reason as its cause", async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });

    await expect(stateMachines.stop({ stateMachineArn: STATE_MACHINE, runId: "run-3", reason: "cancelled by a user" })).resolves.toBe(true);

    expect(sfn.commandCalls(StopExecutionCommand).map((call) => call.args[0].input)).toEqual([
      { executionArn: "arn:aws:states:eu-west-1:123456789012:execution:aloft-prod_nightly-etl:run-3", error: "Aloft.Cancelled", cause: "cancelled by a user" },
    ]);
  });

  it("answers false when the machine has no execution of the run", async () => {
    sfn.on(StopExecutionCommand).rejects(new ExecutionDoesNotExist({ message: "Execution Does Not Exist", $metadata: {} }));

    await expect(stateMachines.stop({ stateMachineArn: STATE_MACHINE, runId: "run-4", reason: "cancelled by a user" })).resolves.toBe(false);
  });

  it("passes on any other refusal", async () => {
    sfn.on(StopExecutionCommand).rejects(Object.assign(new Error("User is not authorized to perform: states:StopExecution"), { name: "AccessDeniedException" }));

    await expect(stateMachines.stop({ stateMachineArn: STATE_MACHINE, runId: "run-5", reason: "x" })).rejects.toThrow("User is not authorized to perform: states:StopExecution");
  });
});
