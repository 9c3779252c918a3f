/**
 * What the operator-CLI tests against moto share: the stack's outputs as a real CloudFormation stack
 * (so `--stack` goes through DescribeStacks as in AWS), and a CliIo whose clients all talk to moto
 * and the fake HeyGen, capturing what the command prints.
 */
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { CliIo } from '../../bin/commands/program.js';
import { FAKE_API_KEY } from '../fakes/heygen-api.js';
import type { EmulatorStack } from './emulator-stack.js';
import { awsClientConfig } from './moto.js';

/** A CloudFormation stack on moto holding only `outputs` (a wait-condition handle as its one resource). */
export async function createOutputsStack(endpoint: string, stackName: string, outputs: Record<string, string>): Promise<void> {
  await new CloudFormationClient(awsClientConfig(endpoint)).send(
    new CreateStackCommand({
      StackName: stackName,
      TemplateBody: JSON.stringify({
        Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
        Outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { Value: v }])),
      }),
    }),
  );
}

/** A CliIo on moto (the stack's own clients where it has them) and the fake HeyGen at `heygenUrl`; `extra` overrides. */
export function motoCliIo(endpoint: string, stack: EmulatorStack, heygenUrl: string, extra: Partial<CliIo> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const config = awsClientConfig(endpoint);
  const value: CliIo = {
    env: { HEYGEN_API_KEY: FAKE_API_KEY, HEYGEN_API_URL: heygenUrl },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    secretsManager: () => stack.clients.sm,
    cloudFormation: () => new CloudFormationClient(config),
    dynamoDb: () => stack.clients.ddb,
    s3: () => stack.clients.s3,
    eventBridge: () => new EventBridgeClient(config),
    sqs: () => new SQSClient(config),
    cloudWatch: () => new CloudWatchClient(config),
    ...extra,
  };
  return { io: value, out, err };
}
