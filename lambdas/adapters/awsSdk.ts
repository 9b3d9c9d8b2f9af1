import { createRequire } from "node:module";

/** The AWS SDK v3 packages the control plane's functions load, by name. */
export interface AwsSdkPackages {
  "@aws-sdk/client-dynamodb": typeof import("@aws-sdk/client-dynamodb");
  "@aws-sdk/lib-dynamodb": typeof import("@aws-sdk/lib-dynamodb");
  "@aws-sdk/client-s3": typeof import("@aws-sdk/client-s3");
  "@aws-sdk/client-sqs": typeof import("@aws-sdk/client-sqs");
  "@aws-sdk/client-lambda": typeof import("@aws-sdk/client-lambda");
  "@aws-sdk/client-ecs": typeof import("@aws-sdk/client-ecs");
  "@aws-sdk/client-secrets-manager": typeof import("@aws-sdk/client-secrets-manager");
  "@aws-sdk/client-sfn": typeof import("@aws-sdk/client-sfn");
}

// The SDK's packages are CommonJS under Node. An `import` of one makes Node's ES module loader scan
// its source for export names first (cjs-module-lexer), which for the DynamoDB client's large
// bundle costs more than a fifth of its load time; `require` skips the scan. On Lambda, require
// finds the runtime's SDK through NODE_PATH.
const requireSdk = createRequire(import.meta.url);

/**
 * An AWS SDK v3 package, loaded now (or taken from Node's module cache) with `require`. Call it where
 * the package is first needed: at module top level for what every invocation uses, inside the
 * adapter method for what only some invocations use.
 *
 * @example
 * ```ts
 * const { GetObjectCommand } = awsSdk("@aws-sdk/client-s3");
 * ```
 */
export function awsSdk<P extends keyof AwsSdkPackages>(name: P): AwsSdkPackages[P] {
  return requireSdk(name) as AwsSdkPackages[P];
}
