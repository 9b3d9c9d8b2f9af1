import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as kms from "aws-cdk-lib/aws-kms";
import * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { TTL_ATTRIBUTE, tableDefinition } from "../lambdas/store/table.js";

/** Where payloads over the item size limit live in the bucket (`lambdas/services/payloads.ts`). */
export const PAYLOAD_PREFIX = "payloads/";
/** Where code bundles for runners live in the bucket. */
export const BUNDLE_PREFIX = "bundles/";

/** Options for {@link DataStores}. */
export interface DataStoresProps {
  removalPolicy: RemovalPolicy;
  deletionProtection: boolean;
}

/**
 * The control plane's state: the DynamoDB table (keys and indexes from `tableDefinition`), the
 * payload and artifact bucket, the bucket its access logs go to, and a customer-managed key for each.
 */
export class DataStores extends Construct {
  readonly tableKey: kms.Key;
  readonly table: dynamodb.Table;
  readonly bucketKey: kms.Key;
  readonly bucket: s3.Bucket;
  readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataStoresProps) {
    super(scope, id);
    // Server access logs are delivered under a bucket policy, not an ACL, whatever the app's flags say.
    this.node.setContext("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", true);
    const { removalPolicy } = props;

    this.tableKey = new kms.Key(this, "TableKey", {
      description: "Aloft: encrypts the run-state table",
      enableKeyRotation: true,
      removalPolicy,
    });
    this.table = new dynamodb.Table(this, "Table", {
      ...tableSchema(),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.tableKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      deletionProtection: props.deletionProtection,
      removalPolicy,
    });
    for (const index of tableSchema().globalSecondaryIndexes) this.table.addGlobalSecondaryIndex(index);

    this.accessLogBucket = new s3.Bucket(this, "AccessLogBucket", {
      // S3 server access logging delivers only to buckets encrypted with S3-managed keys.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: "expire-access-logs", expiration: Duration.days(90) }],
      removalPolicy,
    });

    this.bucketKey = new kms.Key(this, "BucketKey", {
      description: "Aloft: encrypts payloads, artifacts and code bundles",
      enableKeyRotation: true,
      removalPolicy,
    });
    this.bucket = new s3.Bucket(this, "PayloadBucket", {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.bucketKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: "payload-bucket/",
      lifecycleRules: [
        { id: "abort-incomplete-uploads", abortIncompleteMultipartUploadAfter: Duration.days(1) },
        { id: "expire-replaced-versions", noncurrentVersionExpiration: Duration.days(30), expiredObjectDeleteMarker: true },
      ],
      removalPolicy,
    });
  }
}

/** The table's key schema and global secondary indexes, read from `tableDefinition` (one source of truth). */
function tableSchema(): {
  partitionKey: dynamodb.Attribute;
  sortKey: dynamodb.Attribute;
  globalSecondaryIndexes: dynamodb.GlobalSecondaryIndexProps[];
} {
  const definition = tableDefinition("schema");
  const types = new Map((definition.AttributeDefinitions ?? []).map((attribute) => [attribute.AttributeName, attribute.AttributeType]));
  const attribute = (name: string | undefined): dynamodb.Attribute => {
    const type = name === undefined ? undefined : types.get(name);
    if (name === undefined || type === undefined) throw new Error(`tableDefinition has no attribute definition for key attribute ${String(name)}`);
    return { name, type: type as dynamodb.AttributeType };
  };
  const keys = (schema: { AttributeName?: string; KeyType?: string }[] | undefined) => ({
    partitionKey: attribute(schema?.find((key) => key.KeyType === "HASH")?.AttributeName),
    sortKey: attribute(schema?.find((key) => key.KeyType === "RANGE")?.AttributeName),
  });
  return {
    ...keys(definition.KeySchema),
    globalSecondaryIndexes: (definition.GlobalSecondaryIndexes ?? []).map((index) => {
      if (index.Projection?.ProjectionType !== "ALL") throw new Error(`index ${String(index.IndexName)}: only projection ALL is mirrored`);
      return { indexName: String(index.IndexName), ...keys(index.KeySchema), projectionType: dynamodb.ProjectionType.ALL };
    }),
  };
}
