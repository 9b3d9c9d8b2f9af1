/**
 * Errors the control plane's services raise for callers' mistakes and expected conditions. Each code
 * has exactly one HTTP status (see `lambdas/http/problem.ts`); anything else is a bug and becomes a
 * logged 500.
 */
export type ServiceErrorCode =
  | "VALIDATION"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "CONFLICT"
  | "LIMIT_FULL"
  | "INVALID_CURSOR"
  | "UNAUTHENTICATED"
  | "PAYLOAD_TOO_LARGE";

/** One invalid field of a request. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * An expected failure with a code the API maps to a status.
 *
 * @example
 * ```ts
 * throw new ServiceError("NOT_FOUND", `flow run ${id} does not exist`);
 * ```
 */
export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    readonly fields: FieldProblem[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "ServiceError";
  }
}

/**
 * Shorthand for a missing resource.
 *
 * @example
 * ```ts
 * const run = (await store.getFlowRun(id)) ?? notFound("flow run", id);
 * ```
 */
export function notFound(entity: string, id: string): never {
  throw new ServiceError("NOT_FOUND", `${entity} ${id} does not exist`);
}
