/**
 * A Lambda function's configuration variable, or a one-line error naming it and what it is for.
 *
 * @example
 * ```ts
 * const tableName = requireEnv(process.env, "ALOFT_TABLE_NAME", "the name of the control plane's DynamoDB table");
 * ```
 */
export function requireEnv(env: NodeJS.ProcessEnv, name: string, purpose: string): string {
  const value = env[name]?.trim();
  if (!value) throw new Error(`${name} is not set: this function needs ${purpose}`);
  return value;
}

/**
 * The metrics namespace every Aloft function publishes to (CloudWatch EMF).
 *
 * @example
 * ```ts
 * const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "aloft-dispatcher" });
 * ```
 */
export const METRICS_NAMESPACE = "Aloft";
