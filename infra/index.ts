/**
 * aloft/infra: the CDK constructs of an Aloft control plane, for `cdk deploy` from this
 * repository (infra/bin/app.ts) or from a team's own CDK app.
 */
export { AloftControlPlane, isDevStage, type AloftControlPlaneProps } from "./controlPlane.js";
export { FlowBundle, type FlowBundleDeployment, type FlowBundleProps } from "./flowBundle.js";
export { FlowStateMachine, stateMachineName, type CompiledDefinition, type FlowStateMachineProps, type StateMachineType } from "./flowStateMachine.js";
export { FlowTaskFunction, type FlowTaskFunctionProps } from "./flowTaskFunction.js";
