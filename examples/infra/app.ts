#!/usr/bin/env node
/**
 * A team's own CDK app: the Aloft control plane plus the team's flows, deployed together.
 * `examples/hello.ts` is bundled (with the aloft SDK) into one module, uploaded to the control plane's
 * bucket, and the `hello` deployment is pointed at it on every `cdk deploy`.
 *
 * Synthesize it (no AWS access, no Docker): `npx cdk synth --app "npx tsx examples/infra/app.ts"`
 * Deploy it: `npx cdk deploy --app "npx tsx examples/infra/app.ts"`, then
 * `npx aloft deployments run hello --params '{"names":["Ada","Grace"]}'` (after `aloft login`).
 */
import { fileURLToPath } from "node:url";
import { App, Stack, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { AloftControlPlane, FlowBundle } from "aloft/infra";

const app = new App();
const stack = new Stack(app, "AloftExample-dev", { description: "Aloft control plane and the example flows" });
const controlPlane = new AloftControlPlane(stack, "Aloft", { stage: "dev" });

new FlowBundle(stack, "Hello", {
  controlPlane,
  entry: fileURLToPath(new URL("../hello.ts", import.meta.url)),
  deployments: [{ name: "hello", flow: "hello", parameters: { names: ["world", "Aloft"] }, tags: ["example"], description: "Greets a list of names" }],
});
// cdk-nag's AwsSolutions pack checks the whole app at synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
