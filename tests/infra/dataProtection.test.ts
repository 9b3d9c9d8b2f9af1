import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { TTL_ATTRIBUTE, tableDefinition } from "../../lambdas/store/table.js";
import { synthesizeControlPlane, type SynthesizedControlPlane } from "./controlPlaneFixture.js";

let prod: SynthesizedControlPlane;
let dev: SynthesizedControlPlane;
beforeAll(() => {
  prod = synthesizeControlPlane({ stage: "prod" });
  dev = synthesizeControlPlane({ stage: "dev" });
});

type TableProperties = {
  KeySchema: unknown[];
  AttributeDefinitions: { AttributeName: string; AttributeType: string }[];
  GlobalSecondaryIndexes: { IndexName: string; KeySchema: unknown[]; Projection: unknown }[];
  BillingMode: string;
  DeletionProtectionEnabled?: boolean;
};

function tableOf(synthesized: SynthesizedControlPlane): { Properties: TableProperties; DeletionPolicy?: string } {
  const tables = Object.values(synthesized.template.findResources("AWS::DynamoDB::Table")) as { Properties: TableProperties; DeletionPolicy?: string }[];
  expect(tables).toHaveLength(1);
  return tables[0]!;
}

describe("the run-state table", () => {
  it("has exactly the keys, attributes and indexes of tableDefinition", () => {
    const definition = tableDefinition("aloft");
    const table = tableOf(prod).Properties;
    const byName = <T extends { AttributeName?: string; IndexName?: string }>(items: T[]) =>
      [...items].sort((a, b) => String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)));
    expect(table.KeySchema).toEqual(definition.KeySchema);
    expect(byName(table.AttributeDefinitions)).toEqual(byName(definition.AttributeDefinitions as { AttributeName: string }[]));
    expect(byName(table.GlobalSecondaryIndexes)).toEqual(byName(definition.GlobalSecondaryIndexes as { IndexName: string }[]));
    expect(table.BillingMode).toBe(definition.BillingMode);
  });

  it("is encrypted with its own rotating customer-managed key, with point-in-time recovery and TTL on expiresAt", () => {
    const { template, controlPlane, getAtt } = prod;
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: getAtt(controlPlane.data.tableKey, "Arn") },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    });
    for (const key of Object.values(template.findResources("AWS::KMS::Key")) as { Properties: { EnableKeyRotation?: boolean } }[]) {
      expect(key.Properties.EnableKeyRotation).toBe(true);
    }
  });

  it("is protected from deletion and retained in a prod stage", () => {
    const table = tableOf(prod);
    expect(table.Properties.DeletionProtectionEnabled).toBe(true);
    expect(table.DeletionPolicy).toBe("Retain");
  });

  it("can be deleted in a dev stage, and is destroyed with the stack", () => {
    const table = tableOf(dev);
    expect(table.Properties.DeletionProtectionEnabled).toBe(false);
    expect(table.DeletionPolicy).toBe("Delete");
  });
});

describe("the payload bucket", () => {
  it("is KMS-encrypted with its key, blocks public access, logs access to the log bucket and expires what it no longer needs", () => {
    const { template, controlPlane, getAtt, ref } = prod;
    const bucket = template.findResources("AWS::S3::Bucket")[prod.logicalId(controlPlane.data.bucket)] as { Properties: Record<string, unknown> };
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms", KMSMasterKeyID: getAtt(controlPlane.data.bucketKey, "Arn") } }],
      },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { DestinationBucketName: ref(controlPlane.data.accessLogBucket) },
      LifecycleConfiguration: {
        Rules: expect.arrayContaining([
          expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: "Enabled" }),
          expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: "Enabled" }),
        ]),
      },
    });
  });

  it("refuses requests without TLS, as does the access-log bucket", () => {
    const { template, controlPlane, ref } = prod;
    for (const bucket of [controlPlane.data.bucket, controlPlane.data.accessLogBucket]) {
      template.hasResourceProperties("AWS::S3::BucketPolicy", {
        Bucket: ref(bucket),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: "Deny", Action: "s3:*", Principal: { AWS: "*" }, Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          ]),
        },
      });
    }
  });
});

describe("queues, topic and secrets", () => {
  it("encrypts the work queue and its dead-letter queue with the queue key and refuses requests without TLS", () => {
    const { template, controlPlane, getAtt, ref } = prod;
    const queues = template.findResources("AWS::SQS::Queue");
    expect(Object.keys(queues)).toHaveLength(2);
    for (const queue of Object.values(queues) as { Properties: { KmsMasterKeyId: unknown } }[]) {
      expect(queue.Properties.KmsMasterKeyId).toEqual(getAtt(controlPlane.messaging.queueKey, "Arn"));
    }
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { deadLetterTargetArn: getAtt(controlPlane.messaging.deadLetterQueue, "Arn"), maxReceiveCount: 5 },
    });
    for (const queue of [controlPlane.messaging.workQueue, controlPlane.messaging.deadLetterQueue]) {
      template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [ref(queue)],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]) },
      });
    }
  });

  it("encrypts the alarm topic with its key, which CloudWatch may use, and refuses publishing without TLS", () => {
    const { template, controlPlane, getAtt, ref } = prod;
    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: getAtt(controlPlane.monitoring.topicKey, "Arn") });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      Topics: [ref(controlPlane.monitoring.alarmTopic)],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } })]) },
    });
    template.hasResourceProperties("AWS::KMS::Key", {
      Description: "Aloft: encrypts the alarm topic",
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: "cloudwatch.amazonaws.com" }, Action: ["kms:Decrypt", "kms:GenerateDataKey"] }),
        ]),
      },
    });
  });

  it("generates the webhook signing key and encrypts it with a customer-managed key", () => {
    const { template, controlPlane } = prod;
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
      KmsKeyId: Match.objectLike({ "Fn::GetAtt": Match.arrayWith(["Arn"]) }),
    });
    expect(controlPlane.webhookSigningKey.encryptionKey).toBeDefined();
  });
});
