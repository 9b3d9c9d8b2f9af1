import type { ServiceDeps } from "./context.js";
import { ConcurrencyLimitService } from "./concurrencyLimits.js";
import { DeploymentService } from "./deployments.js";
import { FlowRunService } from "./flowRuns.js";
import { TaskRunService } from "./taskRuns.js";
import { TelemetryService } from "./telemetry.js";
import { WorkPoolService } from "./workPools.js";

/** Every control-plane use case, composed over one store. */
export interface Services {
  flowRuns: FlowRunService;
  taskRuns: TaskRunService;
  telemetry: TelemetryService;
  deployments: DeploymentService;
  concurrencyLimits: ConcurrencyLimitService;
  workPools: WorkPoolService;
}

/**
 * Composes the services.
 *
 * @example
 * ```ts
 * const services = createServices(serviceDeps(new DynamoDbStore(client, "aloft")));
 * ```
 */
export function createServices(deps: ServiceDeps): Services {
  const flowRuns = new FlowRunService(deps);
  return {
    flowRuns,
    taskRuns: new TaskRunService(deps),
    telemetry: new TelemetryService(deps),
    deployments: new DeploymentService(deps, flowRuns),
    concurrencyLimits: new ConcurrencyLimitService(deps),
    workPools: new WorkPoolService(deps),
  };
}
