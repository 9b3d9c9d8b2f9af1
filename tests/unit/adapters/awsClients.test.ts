import { describe, expect, it } from "vitest";
import { awsClientConfig, makeDynamoDbClient, resolveAwsEndpoint } from "../../../lambdas/adapters/awsClients.js";

describe("AWS client factory", () => {
  it("prefers the explicit endpoint, then ALOFT_AWS_ENDPOINT, then the service's and the global AWS variables", () => {
    const env = {
      ALOFT_AWS_ENDPOINT: "http://127.0.0.1:1",
      AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:2",
      AWS_ENDPOINT_URL: "http://127.0.0.1:3",
    };
    expect(resolveAwsEndpoint("dynamodb", { endpoint: "http://127.0.0.1:0" }, env)).toBe("http://127.0.0.1:0");
    expect(resolveAwsEndpoint("dynamodb", {}, env)).toBe("http://127.0.0.1:1");
    expect(resolveAwsEndpoint("dynamodb", {}, { ...env, ALOFT_AWS_ENDPOINT: "" })).toBe("http://127.0.0.1:2");
    expect(resolveAwsEndpoint("s3", {}, { ...env, ALOFT_AWS_ENDPOINT: undefined })).toBe("http://127.0.0.1:3");
    expect(resolveAwsEndpoint("s3", {}, {})).toBeUndefined();
  });

  it("names the service and the value when an endpoint override is not a URL", () => {
    expect(() => resolveAwsEndpoint("dynamodb", {}, { ALOFT_AWS_ENDPOINT: "localhost:8000" })).toThrow(
      'AWS endpoint for dynamodb is not an http(s) URL: "localhost:8000"',
    );
    expect(() => resolveAwsEndpoint("s3", { endpoint: "http://" })).toThrow('AWS endpoint for s3 is not an http(s) URL: "http://"');
  });

  it("signs with dummy credentials for a local emulator and leaves real endpoints to the default chain", () => {
    expect(awsClientConfig("dynamodb", { endpoint: "http://localhost:4567" }, {})).toEqual({
      region: "us-east-1",
      endpoint: "http://localhost:4567",
      credentials: { accessKeyId: "aloft-local", secretAccessKey: "aloft-local" },
    });
    expect(awsClientConfig("dynamodb", { endpoint: "https://dynamodb.eu-west-1.amazonaws.com" }, { AWS_REGION: "eu-west-1" })).toEqual({
      region: "eu-west-1",
      endpoint: "https://dynamodb.eu-west-1.amazonaws.com",
    });
    expect(awsClientConfig("dynamodb", {}, { AWS_DEFAULT_REGION: "ap-south-1" })).toEqual({ region: "ap-south-1" });
  });

  it("builds a DynamoDB client for the requested region and endpoint", async () => {
    const client = makeDynamoDbClient({ endpoint: "http://127.0.0.1:4567", region: "eu-central-1" });
    try {
      expect(await client.config.region()).toBe("eu-central-1");
      expect(await client.config.credentials()).toMatchObject({ accessKeyId: "aloft-local" });
    } finally {
      client.destroy();
    }
  });
});
