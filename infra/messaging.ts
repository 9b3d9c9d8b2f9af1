import { Duration, type RemovalPolicy } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";

/** Options for {@link Messaging}. */
export interface MessagingProps {
  stage: string;
  removalPolicy: RemovalPolicy;
  /** How long the dispatcher may hold a message; the queue's visibility timeout is six times it. */
  dispatcherTimeout: Duration;
}

/**
 * How work moves: the work queue (with its dead-letter queue) the scheduler, API and dispatcher
 * share, the event bus for Aloft events, and the EventBridge Scheduler group that deployments'
 * schedules live in, with the role those schedules assume.
 */
export class Messaging extends Construct {
  readonly queueKey: kms.Key;
  readonly workQueue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly eventBus: events.EventBus;
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly schedulerRole: iam.Role;

  constructor(scope: Construct, id: string, props: MessagingProps) {
    super(scope, id);
    this.queueKey = new kms.Key(this, "QueueKey", {
      description: "Aloft: encrypts the work queues",
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    this.deadLetterQueue = new sqs.Queue(this, "WorkDeadLetterQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.queueKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.workQueue = new sqs.Queue(this, "WorkQueue", {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.queueKey,
      dataKeyReuse: Duration.hours(1),
      enforceSSL: true,
      // AWS's guidance for Lambda event sources: at least six times the function timeout.
      visibilityTimeout: Duration.seconds(props.dispatcherTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });

    this.eventBus = new events.EventBus(this, "EventBus", { eventBusName: `aloft-${props.stage}` });

    this.scheduleGroup = new scheduler.ScheduleGroup(this, "ScheduleGroup", {
      scheduleGroupName: `aloft-${props.stage}`,
      removalPolicy: props.removalPolicy,
    });
    this.schedulerRole = new iam.Role(this, "SchedulerRole", {
      description: "Assumed by EventBridge Scheduler for the schedules in the Aloft schedule group",
      assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
        conditions: {
          StringEquals: { "aws:SourceAccount": this.scheduleGroup.stack.account },
          ArnLike: { "aws:SourceArn": this.scheduleGroup.stack.formatArn({
            service: "scheduler",
            resource: "schedule",
            resourceName: `${this.scheduleGroup.scheduleGroupName}/*`,
          }) },
        },
      }),
    });
  }
}
