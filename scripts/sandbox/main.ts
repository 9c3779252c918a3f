/**
 * `npm run sandbox`: the whole relay on a laptop, on loopback, no AWS account (docs/sandbox.md).
 *
 *  1. moto, the AWS emulator the tests use (installed on first run by scripts/ensure-python-tools.mjs);
 *  2. an AWS endpoint in front of it that fills moto's gaps (scripts/sandbox/aws-gateway.ts);
 *  3. the relay stack provisioned FROM ITS SYNTHESIZED TEMPLATE (test/support/emulator-stack.ts), its
 *     outputs in a CloudFormation stack on moto so `--stack` works as in AWS;
 *  4. HeyGen: the OpenAPI-validated fake with an event history and a control route to make events
 *     happen (scripts/sandbox/heygen-server.ts);
 *  5. the real ingress Lambda entry serving the stack's webhook URL over HTTP, in its own process with
 *     its template environment, and the registrar run once as after a deploy (scripts/sandbox/lambda-host.ts);
 *  6. prints the `export` lines for the CLI (also written to .relay/sandbox/env), then the ready line.
 *
 * Ctrl-C (SIGINT) or SIGTERM stops everything it started. Logs of the "Lambda functions" go to
 * .relay/sandbox/*.log. SANDBOX_PORT=<n> pins the AWS endpoint's port (default: a free one).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CreateArchiveCommand, DescribeEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type EmulatorStack, provisionFromTemplate, synthesizeRelayTemplate } from '../../test/support/emulator-stack.js';
import {
  awsClientConfig,
  findFreePort,
  MOTO_ACCOUNT_ID,
  MOTO_REGION,
  type MotoServer,
  startMoto,
} from '../../test/support/moto.js';
import { type AwsGateway, startAwsGateway } from './aws-gateway.js';
import { shipLogs } from './emf.js';
import { type SandboxHeyGen, startSandboxHeyGen } from './heygen-server.js';
import { enableRotation, type RotationSetup, rotateSecret } from './rotation.js';

// The SDK's Node-version notice is not the sandbox's business (the SDK's own switch).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const REPO = resolve(__dirname, '..', '..');
const STATE_DIR = join(REPO, '.relay', 'sandbox');
export const SANDBOX_STACK = 'HeyGenRelaySandbox';
/** The sandbox's credentials: moto accepts any; these say where they belong. */
const CREDENTIALS = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };

interface Running {
  moto?: MotoServer;
  gateway?: AwsGateway;
  heygen?: SandboxHeyGen;
  stack?: EmulatorStack;
  cloudWatch?: CloudWatchClient;
  motoSecrets?: SecretsManagerClient;
  children: Set<ChildProcess>;
}

const running: Running = { children: new Set() };

function say(line: string): void {
  process.stderr.write(`[sandbox] ${line}\n`);
}

function ensureEmulator(): void {
  const r = spawnSync(process.execPath, [join(REPO, 'scripts', 'ensure-python-tools.mjs')], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error('could not install the AWS emulator (moto): see the lines above');
}

/** The environment a "Lambda function" of the stack runs with: its template variables, the sandbox's AWS and HeyGen. */
function lambdaEnv(vars: Record<string, string>, aws: string, heygenUrl: string): NodeJS.ProcessEnv {
  const { AWS_PROFILE: _p, AWS_SESSION_TOKEN: _t, ...parent } = process.env;
  return {
    ...parent,
    ...vars,
    ...('HEYGEN_API_URL' in vars ? { HEYGEN_API_URL: heygenUrl } : {}),
    AWS_ENDPOINT_URL: aws,
    AWS_REGION: MOTO_REGION,
    AWS_DEFAULT_REGION: MOTO_REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/**
 * Starts lambda-host.ts with `args`, its output going to .relay/sandbox/<log>.log and its metrics to
 * CloudWatch (emf.ts); resolves with its first IPC message.
 */
function lambdaHost(
  args: string[],
  env: NodeJS.ProcessEnv,
  log: string,
): Promise<{ child: ChildProcess; message: Record<string, unknown>; shipped: Promise<unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'lambda-host.ts'), ...args], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  running.cloudWatch ??= new CloudWatchClient({ ...awsClientConfig(running.moto?.endpoint ?? ''), credentials: CREDENTIALS });
  const shipped = Promise.all([
    shipLogs(child.stdout as Readable, join(STATE_DIR, `${log}.log`), running.cloudWatch),
    shipLogs(child.stderr as Readable, join(STATE_DIR, `${log}.log`), running.cloudWatch),
  ]);
  running.children.add(child);
  child.once('exit', () => running.children.delete(child));
  return new Promise((ok, fail) => {
    child.once('message', (message) => ok({ child, message: message as Record<string, unknown>, shipped }));
    child.once('exit', (code, signal) =>
      fail(new Error(`${args[1]} exited (${signal ?? code}) before it answered: see .relay/sandbox/${log}.log`)),
    );
  });
}

/** Invokes a function of the template once per event, in a fresh process (a cold start each time). */
async function invoke(stack: EmulatorStack, match: (v: Record<string, string>) => boolean, entry: string, events: unknown[]) {
  const gateway = running.gateway as AwsGateway;
  const heygen = running.heygen as SandboxHeyGen;
  const vars = await stack.functionEnv(match);
  const { message, shipped } = await lambdaHost(
    ['invoke', entry, ...events.map((e) => JSON.stringify(e))],
    lambdaEnv(vars, gateway.endpoint, heygen.url),
    entry.replace(/^.*\/|\.ts$/g, ''),
  );
  // The process exits after answering: its metrics are in CloudWatch before `status` can ask.
  await shipped;
  if (typeof message.error === 'string') throw new Error(`${entry}: ${message.error}`);
  return message.results as unknown[];
}

const isRotation = (v: Record<string, string>) => v.LEASE_NAME?.startsWith('heygen:') === true && !('SIGNING_SECRET_ARN' in v);
const isRegistrar = (v: Record<string, string>) => 'SIGNING_SECRET_ARN' in v && v.LEASE_NAME?.startsWith('heygen:') === true;

/** The signing secret's rotation as the template sets it up: its schedule and its function (run as the real entry). */
function rotationSetup(stack: EmulatorStack): RotationSetup | undefined {
  const schedule = Object.values(stack.template.Resources).find((r) => r.Type === 'AWS::SecretsManager::RotationSchedule');
  const props = schedule?.Properties as {
    RotationRules?: { ScheduleExpression?: string };
    RotationLambdaARN?: { 'Fn::GetAtt'?: string[] };
  };
  const days = Number(/^rate\((\d+) days?\)$/.exec(String(props?.RotationRules?.ScheduleExpression))?.[1]);
  const fn = props?.RotationLambdaARN?.['Fn::GetAtt']?.[0];
  if (!days || !fn) return undefined;
  return {
    functionArn: `arn:aws:lambda:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:function:${SANDBOX_STACK}-${fn}`,
    days,
    runSteps: async (token) => {
      const steps = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'].map((Step) => ({
        SecretId: stack.signingSecretArn,
        ClientRequestToken: token,
        Step,
      }));
      await invoke(stack, isRotation, 'providers/heygen/runtime/entries/rotation.ts', steps);
    },
  };
}

/** What RotateSecret does for the signing secret; other secrets go to moto as they are. */
function rotationFor(secretId: string) {
  const stack = running.stack;
  if (!stack || (secretId !== stack.signingSecretArn && secretId !== stack.signingSecretArn.split(':').pop())) return undefined;
  const setup = rotationSetup(stack);
  if (!setup) return undefined;
  return (token?: string) => rotateSecret(motoSecrets(), stack.signingSecretArn, setup, token);
}

function motoSecrets(): SecretsManagerClient {
  running.motoSecrets ??= new SecretsManagerClient(awsClientConfig((running.moto as MotoServer).endpoint));
  return running.motoSecrets;
}

/** The stack's outputs as CloudFormation would give them; those naming what the sandbox does not run (dashboard) are left out. */
async function stackOutputs(stack: EmulatorStack): Promise<Record<string, string>> {
  const outputs: Record<string, string> = {};
  const declared = (stack.template.Outputs ?? {}) as Record<string, { Value: unknown }>;
  for (const [key, o] of Object.entries(declared)) {
    try {
      outputs[key] = String(await stack.resolve(o.Value));
    } catch {
      // references a resource the sandbox does not provision (e.g. the dashboard)
    }
  }
  return outputs;
}

async function createStackRecord(stack: EmulatorStack, aws: string): Promise<Record<string, string>> {
  const config = { ...awsClientConfig(aws), credentials: CREDENTIALS };
  // The archive `replay` reads from: not on the data path, so made here as the template has it.
  const archive = Object.values(stack.template.Resources).find((r) => r.Type === 'AWS::Events::Archive');
  if (archive) {
    const eb = new EventBridgeClient(config);
    const bus = await eb.send(new DescribeEventBusCommand({ Name: stack.busName }));
    await eb.send(
      new CreateArchiveCommand({
        ArchiveName: `${SANDBOX_STACK}-archive`,
        EventSourceArn: bus.Arn,
        EventPattern: JSON.stringify(archive.Properties?.EventPattern),
        RetentionDays: 30,
      }),
    );
    eb.destroy();
  }
  const outputs = await stackOutputs(stack);
  const cf = new CloudFormationClient(config);
  await cf.send(
    new CreateStackCommand({
      StackName: SANDBOX_STACK,
      TemplateBody: JSON.stringify({
        Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
        Outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { Value: v }])),
      }),
    }),
  );
  cf.destroy();
  return outputs;
}

function ingressFunctionUrlId(stack: ReturnType<typeof synthesizeRelayTemplate>): string {
  const url = Object.entries(stack.Resources).find(
    ([, r]) => r.Type === 'AWS::Lambda::Url' && JSON.stringify(r.Properties ?? {}).includes('RelayIngress'),
  );
  if (!url) throw new Error('the template has no Function URL for the ingress');
  return url[0];
}

async function start(): Promise<void> {
  const started = Date.now();
  mkdirSync(STATE_DIR, { recursive: true });
  ensureEmulator();
  say('starting moto and synthesizing the relay stack ...');
  const motoStarting = startMoto();
  const template = synthesizeRelayTemplate({}, SANDBOX_STACK);
  running.moto = await motoStarting;
  running.gateway = await startAwsGateway(
    { moto: running.moto.endpoint, rotate: rotationFor },
    Number(process.env.SANDBOX_PORT ?? 0),
  );
  const aws = running.gateway.endpoint;
  running.heygen = await startSandboxHeyGen(`sandbox-heygen-key-${randomBytes(8).toString('hex')}`);
  const ingressPort = await findFreePort();
  const functionUrl = `http://127.0.0.1:${ingressPort}/`;
  const stack = await provisionFromTemplate(template, aws, 'sandbox', {
    [ingressFunctionUrlId(template)]: { ref: functionUrl, attrs: { FunctionUrl: functionUrl } },
  });
  running.stack = stack;
  const outputs = await createStackRecord(stack, aws);
  const rotation = rotationSetup(stack);
  if (rotation) await enableRotation(motoSecrets(), stack.signingSecretArn, rotation);
  // What a user does after deploying: put the HeyGen API key in its secret.
  const apiKeySecret = outputs.ApiKeySecretArn;
  if (!apiKeySecret) throw new Error('the stack has no ApiKeySecretArn output');
  await stack.clients.sm.send(new PutSecretValueCommand({ SecretId: apiKeySecret, SecretString: running.heygen.apiKey }));
  say('starting the ingress and registering with HeyGen ...');
  await lambdaHost(
    ['serve', 'functions/entries/ingress.ts', String(ingressPort)],
    lambdaEnv(stack.ingressEnv, aws, running.heygen.url),
    'ingress',
  );
  await invoke(stack, isRegistrar, 'providers/heygen/runtime/entries/registrar.ts', [{}]);
  printReady(aws, outputs, Date.now() - started);
}

function printReady(aws: string, outputs: Record<string, string>, ms: number): void {
  const heygen = running.heygen as SandboxHeyGen;
  const lines = [
    'unset AWS_PROFILE AWS_SESSION_TOKEN',
    `export AWS_ENDPOINT_URL=${aws}`,
    `export AWS_REGION=${MOTO_REGION}`,
    `export AWS_ACCESS_KEY_ID=${CREDENTIALS.accessKeyId}`,
    `export AWS_SECRET_ACCESS_KEY=${CREDENTIALS.secretAccessKey}`,
    `export HEYGEN_API_URL=${heygen.url}`,
    `export HEYGEN_API_KEY=${heygen.apiKey}`,
    `export STACK=${SANDBOX_STACK}`,
  ];
  writeFileSync(join(STATE_DIR, 'env'), `${lines.join('\n')}\n`, { mode: 0o600 });
  process.stdout.write(`${lines.join('\n')}\n`);
  say(`webhook URL ${outputs.HeyGenWebhookUrl}; logs in .relay/sandbox/; the exports are in .relay/sandbox/env`);
  say(`make HeyGen send an event: curl -s -XPOST $HEYGEN_API_URL/_sandbox/emit -d '{"type":"avatar_video.success"}'`);
  process.stdout.write(
    `sandbox ready in ${(ms / 1000).toFixed(1)} s: heygen-relay status --stack ${SANDBOX_STACK} (Ctrl-C stops it)\n`,
  );
}

let stopping: Promise<void> | undefined;
function stop(code: number): Promise<void> {
  stopping ??= (async () => {
    const children = [...running.children];
    for (const child of children) child.kill('SIGTERM');
    const kill = setTimeout(() => {
      for (const child of children) child.kill('SIGKILL');
    }, 5_000);
    await Promise.all(
      children.map(
        (c) => new Promise((done) => (c.exitCode !== null || c.signalCode !== null ? done(null) : c.once('exit', done))),
      ),
    );
    clearTimeout(kill);
    await running.heygen?.close();
    await running.gateway?.close();
    running.stack?.destroy();
    running.cloudWatch?.destroy();
    running.motoSecrets?.destroy();
    await running.moto?.stop();
    process.exit(code);
  })();
  return stopping;
}

// `on`, not `once`: Ctrl-C reaches this process twice (from the terminal, and forwarded by npm), and
// a second one must not kill it halfway through stopping what it started.
process.on('SIGINT', () => {
  if (!stopping) say('stopping ...');
  void stop(0);
});
process.on('SIGTERM', () => void stop(0));

start().catch((err: Error) => {
  say(`could not start: ${err.message}`);
  void stop(1);
});
