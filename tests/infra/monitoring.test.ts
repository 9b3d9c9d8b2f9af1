import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { synthesizeControlPlane, type SynthesizedControlPlane } from "./controlPlaneFixture.js";

let synthesized: SynthesizedControlPlane;
beforeAll(() => {
  synthesized = synthesizeControlPlane({ stage: "prod", alarmEmail: "oncall@example.com", failureRateAlarmPercent: 25 });
});

type Alarm = {
  Properties: {
    AlarmActions: unknown[];
    MetricName?: string;
    Namespace?: string;
    Dimensions?: { Name: string; Value: unknown }[];
    Threshold: number;
    Metrics?: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: unknown[] } } }[];
  };
};

describe("monitoring", () => {
  const alarms = () => Object.values(synthesized.template.findResources("AWS::CloudWatch::Alarm")) as Alarm[];

  it("sends every alarm to the alarm topic", () => {
    const topic = synthesized.ref(synthesized.controlPlane.monitoring.alarmTopic);
    expect(alarms().length).toBeGreaterThan(0);
    for (const alarm of alarms()) expect(alarm.Properties.AlarmActions).toEqual([topic]);
  });

  it("alarms on messages in the dead-letter queue", () => {
    const queueName = synthesized.getAtt(synthesized.controlPlane.messaging.deadLetterQueue, "QueueName");
    const matching = alarms().filter(
      (alarm) =>
        alarm.Properties.MetricName === "ApproximateNumberOfMessagesVisible" &&
        JSON.stringify(alarm.Properties.Dimensions) === JSON.stringify([{ Name: "QueueName", Value: queueName }]),
    );
    expect(matching).toHaveLength(1);
    expect(matching[0]?.Properties.Threshold).toBe(0);
  });

  it("alarms on errors and throttles of each of the six functions", () => {
    const { controlPlane, ref } = synthesized;
    for (const fn of Object.values(controlPlane.functions)) {
      for (const metric of ["Errors", "Throttles"]) {
        const matching = alarms().filter(
          (alarm) =>
            alarm.Properties.Namespace === "AWS/Lambda" &&
            alarm.Properties.MetricName === metric &&
            JSON.stringify(alarm.Properties.Dimensions) === JSON.stringify([{ Name: "FunctionName", Value: ref(fn.function) }]),
        );
        expect(matching, `${metric} alarm for ${fn.node.id}`).toHaveLength(1);
      }
    }
  });

  it("alarms on API 5xx responses", () => {
    const apiId = synthesized.ref(synthesized.controlPlane.httpApi.api);
    const matching = alarms().filter(
      (alarm) => alarm.Properties.Namespace === "AWS/ApiGateway" && alarm.Properties.MetricName === "5xx" && JSON.stringify(alarm.Properties.Dimensions) === JSON.stringify([{ Name: "ApiId", Value: apiId }]),
    );
    expect(matching).toHaveLength(1);
  });

  it("alarms on the failed share of the flow runs that finished anywhere: API, runner, mirror and dispatcher", () => {
    const matching = alarms().filter((alarm) => alarm.Properties.Metrics?.some((metric) => metric.Expression !== undefined));
    expect(matching).toHaveLength(1);
    const alarm = matching[0]!;
    expect(alarm.Properties.Threshold).toBe(25);
    const expression = alarm.Properties.Metrics?.find((metric) => metric.Expression !== undefined);
    const finished = "FILL(finished_api, 0) + FILL(finished_runner, 0) + FILL(finished_mirror, 0) + FILL(finished_dispatcher, 0)";
    const failed = "FILL(failed_api, 0) + FILL(failed_runner, 0) + FILL(failed_mirror, 0) + FILL(failed_dispatcher, 0)";
    expect(expression?.Expression).toBe(`IF((${finished}) > 0, 100 * (${failed}) / (${finished}), 0)`);
    const inputs = Object.fromEntries((alarm.Properties.Metrics ?? []).filter((metric) => metric.MetricStat).map((metric) => [metric.Id, metric.MetricStat!.Metric]));
    const metric = (name: string, service: string) => ({ Namespace: "Aloft", MetricName: name, Dimensions: [{ Name: "service", Value: `aloft-${service}` }] });
    expect(inputs).toEqual(
      Object.fromEntries(
        ["api", "runner", "mirror", "dispatcher"].flatMap((service) => [
          [`failed_${service}`, metric("FlowRunsFailed", service)],
          [`finished_${service}`, metric("FlowRunsFinished", service)],
        ]),
      ),
    );
  });

  it("subscribes the alarm e-mail address to the topic, and no one when none is given", () => {
    synthesized.template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "oncall@example.com",
      TopicArn: synthesized.ref(synthesized.controlPlane.monitoring.alarmTopic),
    });
    const withoutEmail = synthesizeControlPlane({ stage: "dev" });
    withoutEmail.template.resourceCountIs("AWS::SNS::Subscription", 0);
  });

  it("publishes a dashboard named after the stage", () => {
    synthesized.template.hasResourceProperties("AWS::CloudWatch::Dashboard", { DashboardName: "aloft-prod", DashboardBody: Match.anyValue() });
  });

  it("rejects an invalid stage and alarm address, naming both", () => {
    expect(() => synthesizeControlPlane({ stage: "Prod_1", alarmEmail: "oncall" })).toThrow(
      'AloftControlPlane: stage "Prod_1" must be 1–20 lower-case letters, digits or dashes, starting with a letter; alarmEmail "oncall" is not an e-mail address',
    );
  });
});
