import { type RemovalPolicy } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import * as apigw from "aws-cdk-lib/aws-apigatewayv2";
import { HttpIamAuthorizer } from "aws-cdk-lib/aws-apigatewayv2-authorizers";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { acknowledge } from "./acknowledgements.js";

/** Options for {@link ControlPlaneHttpApi}. */
export interface ControlPlaneHttpApiProps {
  handler: lambda.IFunction;
  logRetention: logs.RetentionDays;
  removalPolicy: RemovalPolicy;
  /** Steady-state requests per second across the API. */
  rateLimit: number;
  /** Requests the API accepts in a burst. */
  burstLimit: number;
}

/**
 * The HTTP API in front of the API function (payload format 2.0). Every route is signed with
 * SigV4 and checked by IAM, except `GET /health` and `POST /v1/webhooks/{name}`, whose callers
 * carry no AWS credentials (the handler verifies a webhook's HMAC signature itself).
 */
export class ControlPlaneHttpApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly accessLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ControlPlaneHttpApiProps) {
    super(scope, id);
    const integration = new HttpLambdaIntegration("Api", props.handler, {
      payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
    });
    this.api = new apigw.HttpApi(this, "HttpApi", {
      description: "Aloft control plane API",
      defaultAuthorizer: new HttpIamAuthorizer(),
      defaultIntegration: integration,
      createDefaultStage: false,
    });
    this.accessLogGroup = new logs.LogGroup(this, "AccessLogs", {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stage = new apigw.HttpStage(this, "DefaultStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            ip: "$context.identity.sourceIp",
            caller: "$context.identity.userArn",
            requestTime: "$context.requestTime",
            method: "$context.httpMethod",
            path: "$context.path",
            routeKey: "$context.routeKey",
            status: "$context.status",
            responseLength: "$context.responseLength",
            latency: "$context.integrationLatency",
            integrationError: "$context.integrationErrorMessage",
          }),
        ),
      },
    });

    const health = this.api.addRoutes({
      path: "/health",
      methods: [apigw.HttpMethod.GET],
      integration,
      authorizer: new apigw.HttpNoneAuthorizer(),
    });
    const webhooks = this.api.addRoutes({
      path: "/v1/webhooks/{name}",
      methods: [apigw.HttpMethod.POST],
      integration,
      authorizer: new apigw.HttpNoneAuthorizer(),
    });
    for (const route of health) acknowledge(route, "AwsSolutions-APIG4", "GET /health is the liveness probe; it answers without credentials and reveals only the version.");
    for (const route of webhooks) acknowledge(route, "AwsSolutions-APIG4", "Webhook senders hold no AWS credentials; the API function verifies each request's HMAC signature against the webhook's signing key.");
  }

  /** The API's base URL (`https://<id>.execute-api.<region>.amazonaws.com/`). */
  get url(): string {
    return this.stage.url;
  }
}
