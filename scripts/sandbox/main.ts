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
 *     the stack is dated as deployed `DEPLOYED_AGO_MS` before start (its signing secret's CreatedDate, as
 *     DescribeSecret answers it, and its endpoint's created_at at HeyGen), so a missed event of the last
 *     hour is one HeyGen addressed to it: the backfill publishes nothing created before the stack's birth;
 *  6. the template's schedules on timers (scripts/sandbox/schedules.ts) and its SQS event sources
 *     (scripts/sandbox/event-sources.ts: the archiver, with `--archive`);
 *  7. prints the `export` lines for the CLI (also written to .relay/sandbox/env), then the ready line.
 *
 *   npm run sandbox [-- --archive] [-- --every 30s]   start it (docs/sandbox.md)
 *   npm run sandbox -- run [<schedule>... | all]      in another terminal: run scheduled functions now
 *
 * Ctrl-C (SIGINT) or SIGTERM stops everything it started. Logs of the "Lambda functions" go to
 * .relay/sandbox/*.log. SANDBOX_PORT=<n> pins the AWS endpoint's port (default: a free one).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CreateArchiveCommand, DescribeEventBusCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Duration } from 'aws-cdk-lib';
import type { SQSBatchResponse } from 'aws-lambda';
import { DynamoSightingInbox } from '../../functions/adapters/aws/dynamodb-sightings.js';
import type { HeyGenRelayStackProps } from '../../lib/relay-stack.js';
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
import { pollQueue, type QueuePoller } from './event-sources.js';
import { queueSources, scheduledEvent, scheduledFunctions, uniqueName } from './functions.js';
import { type SandboxHeyGen, startSandboxHeyGen } from './heygen-server.js';
import { SANDBOX_MEDIA_HOST, startSandboxMedia } from './media-server.js';
import { enableRotation, type RotationSetup, rotateSecret } from './rotation.js';
import { runCommand } from './run-command.js';
import { parseEvery, type Schedule, Scheduler, scheduleRoute } from './schedules.js';

// The SDK's Node-version notice is not the sandbox's business (the SDK's own switch).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const REPO = resolve(__dirname, '..', '..');
const STATE_DIR = join(REPO, '.relay', 'sandbox');
export const SANDBOX_STACK = 'HeyGenRelaySandbox';
/**
 * How long before start the sandbox's stack is dated as deployed (docs/sandbox.md): a stack seconds
 * old has no past in which HeyGen could have addressed a "missed" event to it, and the backfill rightly
 * publishes nothing from before its birth. An hour: room for a missed event older than the backfill's
 * 10 min settle time, well inside the 48 h dedup window.
 */
const DEPLOYED_AGO_MS = 3_600_000;
/** The sandbox's credentials: moto accepts any; these say where they belong. */
const CREDENTIALS = { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' };

interface Running {
  moto?: MotoServer;
  gateway?: AwsGateway;
  heygen?: SandboxHeyGen;
  stack?: EmulatorStack;
  cloudWatch?: CloudWatchClient;
  motoSecrets?: SecretsManagerClient;
  scheduler?: Scheduler;
  pollers: QueuePoller[];
  children: Set<ChildProcess>;
}

const running: Running = { children: new Set(), pollers: [] };

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
  return invokeWith(await stack.functionEnv(match), entry, events);
}

/** Runs `entry` with the function's variables `vars` (and `extra`, the sandbox's own) once per event. */
async function invokeWith(vars: Record<string, string>, entry: string, events: unknown[], extra: NodeJS.ProcessEnv = {}) {
  const gateway = running.gateway as AwsGateway;
  const heygen = running.heygen as SandboxHeyGen;
  const { message, shipped } = await lambdaHost(
    ['invoke', entry, ...events.map((e) => JSON.stringify(e))],
    { ...lambdaEnv(vars, gateway.endpoint, heygen.url), ...extra },
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

/** The signing secret, dated back by DEPLOYED_AGO_MS; other secrets as moto has them. */
function backdate(secretId: string): number | undefined {
  const arn = running.stack?.signingSecretArn;
  return arn && (secretId === arn || secretId === arn.split(':').pop()) ? DEPLOYED_AGO_MS : undefined;
}

/** The endpoints the registrar made at start-up, dated as made at the stack's deploy, DEPLOYED_AGO_MS back. */
function backdateEndpoints(heygen: SandboxHeyGen): void {
  for (const e of heygen.fake.endpoints.values())
    e.created_at = new Date(Date.parse(e.created_at) - DEPLOYED_AGO_MS).toISOString();
}

/**
 * What the registrar told the backfill at start-up (its sightings: none at our URL before it made the
 * endpoint, then the endpoint), dated as the endpoints are: at the stack's deploy, DEPLOYED_AGO_MS back.
 * Left at start-up, a missed event of the last hour would fall before "none at our URL" and be reported
 * unsure instead of recovered (docs/sandbox.md).
 */
async function backdateSightings(stack: EmulatorStack): Promise<void> {
  const env = await stack.functionEnv(isRegistrar);
  const table = env.STATE_TABLE_NAME;
  if (!table || !env.DEDUP_TABLE_NAME) return; // no backfill reads them (review4-inbox-without-reader)
  const inbox = new DynamoSightingInbox(stack.clients.ddb, table, env.RELAY_SOURCE?.trim() || 'heygen');
  const told = await inbox.read();
  for (const { sighting: s } of told) {
    const back = (ms: number | null | undefined) => (typeof ms === 'number' ? ms - DEPLOYED_AGO_MS : ms);
    await inbox.record({
      ...s,
      atMs: s.atMs - DEPLOYED_AGO_MS,
      createdAtMs: back(s.createdAtMs),
      liveCreatedAtMs: back(s.liveCreatedAtMs),
    });
  }
  await inbox.drop(told.map((x) => x.raw));
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

interface StartOptions {
  /** The media archive on (`--archive`). */
  readonly archive: boolean;
  /** Every schedule at this period instead of the template's (`--every`). */
  readonly everyMs?: number;
}

/** The stack's props: as `cdk deploy` has them; with `--archive`, HeyGen's files on the sandbox's file host. */
function stackProps(o: StartOptions, heygenUrl: string): HeyGenRelayStackProps {
  if (!o.archive) return {};
  return {
    relay: {
      // Short waits, so a copy that keeps failing ends as archive_failed while someone watches.
      archive: {
        sources: { heygen: { hosts: [SANDBOX_MEDIA_HOST], apiUrl: heygenUrl } },
        retryFor: Duration.minutes(10),
        maxBackoff: Duration.minutes(1),
      },
    },
  };
}

/** The template's schedules (functions and the secret's rotation), run by a timer and on request. */
async function startSchedules(stack: EmulatorStack, o: StartOptions): Promise<Scheduler> {
  const schedules: Schedule[] = [];
  const taken = new Set<string>();
  for (const { rule, expression, fn } of await scheduledFunctions(stack)) {
    const name = uniqueName(fn.name, taken);
    taken.add(name);
    const run = async () => (await invokeWith(fn.vars, fn.entry, [scheduledEvent(`${SANDBOX_STACK}-${rule}`)]))[0];
    schedules.push({ name, expression, target: fn.logicalId, run });
  }
  const rotation = rotationSetup(stack);
  const rotate = rotationFor(stack.signingSecretArn);
  if (rotation && rotate)
    schedules.push({
      name: 'rotation',
      expression: `rate(${rotation.days} days)`,
      target: 'RotationSchedule',
      run: () => rotate(),
    });
  const scheduler = new Scheduler(schedules, { ...(o.everyMs ? { everyMs: o.everyMs } : {}), log: say });
  scheduler.start();
  return scheduler;
}

/** The template's SQS event sources (the archiver), polled as Lambda would. */
async function startQueueSources(stack: EmulatorStack): Promise<void> {
  const media = running.heygen?.media;
  const extra = media ? { SANDBOX_MEDIA_CA_PEM: media.caPem, SANDBOX_MEDIA_HOST: SANDBOX_MEDIA_HOST } : {};
  for (const { queueLogicalId, batchSize, fn } of await queueSources(stack)) {
    const queue = stack.queues[queueLogicalId] as EmulatorStack['queues'][string];
    running.pollers.push(
      pollQueue({
        sqs: stack.clients.sqs,
        queueUrl: queue.url,
        queueArn: queue.arn,
        region: MOTO_REGION,
        batchSize,
        invoke: async (event) => (await invokeWith(fn.vars, fn.entry, [event], extra))[0] as SQSBatchResponse | undefined,
        log: say,
      }),
    );
  }
}

async function start(o: StartOptions): Promise<void> {
  const started = Date.now();
  mkdirSync(STATE_DIR, { recursive: true });
  ensureEmulator();
  say(`starting moto and synthesizing the relay stack${o.archive ? ' (with the media archive)' : ''} ...`);
  const motoStarting = startMoto();
  const media = o.archive ? await startSandboxMedia() : undefined;
  running.heygen = await startSandboxHeyGen(`sandbox-heygen-key-${randomBytes(8).toString('hex')}`, media);
  const template = synthesizeRelayTemplate(stackProps(o, running.heygen.url), SANDBOX_STACK);
  running.moto = await motoStarting;
  running.gateway = await startAwsGateway(
    {
      moto: running.moto.endpoint,
      rotate: rotationFor,
      backdate,
      control: async (method, path) => (running.scheduler ? scheduleRoute(running.scheduler, method, path) : undefined),
    },
    Number(process.env.SANDBOX_PORT ?? 0),
  );
  const aws = running.gateway.endpoint;
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
  backdateEndpoints(running.heygen);
  await backdateSightings(stack);
  running.scheduler = await startSchedules(stack, o);
  await startQueueSources(stack);
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
  const scheduler = running.scheduler as Scheduler;
  const every = (ms: number | null) => (ms === null ? 'on request' : `every ${formatMs(ms)}`);
  say(
    `schedules: ${scheduler
      .list()
      .map((v) => `${v.name} ${every(v.everyMs)}`)
      .join(', ')}; run one now: npm run sandbox -- run <name>|all`,
  );
  if (outputs.ArchiveBucketName)
    say(
      `media archive on: files land in s3://${outputs.ArchiveBucketName}/; heygen-relay archive status --stack ${SANDBOX_STACK}`,
    );
  process.stdout.write(
    `sandbox ready in ${(ms / 1000).toFixed(1)} s: heygen-relay status --stack ${SANDBOX_STACK} (Ctrl-C stops it)\n`,
  );
}

function formatMs(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms / 1000}s`;
}

let stopping: Promise<void> | undefined;
function stop(code: number): Promise<void> {
  stopping ??= (async () => {
    running.scheduler?.stop();
    const pollers = Promise.all(running.pollers.map((p) => p.stop()));
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
    await pollers;
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

const USAGE = `usage: npm run sandbox [-- --archive] [-- --every <duration>]
       npm run sandbox -- run [<schedule>... | all]   (in another terminal, while it runs)
`;

const ARGS = {
  options: { archive: { type: 'boolean' }, every: { type: 'string' }, help: { type: 'boolean' } },
  allowPositionals: true,
} as const;

function main(): void {
  let args: ReturnType<typeof parseArgs<typeof ARGS>>;
  let every: number | undefined;
  try {
    args = parseArgs(ARGS);
    every = parseEvery(args.values.every);
  } catch (err) {
    process.stderr.write(`sandbox: ${(err as Error).message}\n${USAGE}`);
    process.exit(64);
  }
  if (args.values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const [command, ...rest] = args.positionals;
  if (command === 'run') {
    void runCommand(rest, STATE_DIR).then((code: number) => process.exit(code));
    return;
  }
  if (command !== undefined) {
    process.stderr.write(`sandbox: unknown command ${command}\n${USAGE}`);
    process.exit(64);
  }
  // `on`, not `once`: Ctrl-C reaches this process twice (from the terminal, and forwarded by npm), and
  // a second one must not kill it halfway through stopping what it started.
  process.on('SIGINT', () => {
    if (!stopping) say('stopping ...');
    void stop(0);
  });
  process.on('SIGTERM', () => void stop(0));
  start({ archive: args.values.archive === true, ...(every ? { everyMs: every } : {}) }).catch((err: Error) => {
    say(`could not start: ${err.message}`);
    void stop(1);
  });
}

main();
