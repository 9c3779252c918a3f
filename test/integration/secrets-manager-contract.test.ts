/**
 * Contract test of test/fakes/secrets-manager.ts: the SAME sequences of SDK commands run against
 * the fake and against moto (real SDK v3 client, real HTTP), and their observable results are
 * compared step by step: the fields that matter of each answer (or the error's name), and the
 * secret's state after the step (DescribeSecret's VersionIdsToStages, version ids mapped back to
 * the scenario's symbolic names, labels sorted).
 *
 * Every difference is pinned by name in KNOWN_DIFFERENCES, with its scenario and why. Two kinds:
 * - `at`: the first step where fake and moto disagree, with what each observes there. Steps after
 *   it are not compared (the states have diverged), so such a step ends its scenario;
 * - `normalizeMoto`: a systematic difference; rewrites moto's observation where it applies.
 * A difference not in the list fails, and so does a listed one that no longer occurs, so the list
 * stays true. Each scenario also states, in `aws`, what AWS documents for its key steps; those are
 * asserted on the fake (and thereby on moto wherever no difference is pinned).
 *
 * Not contract-tested: RotateSecret's rotation run. moto needs the rotation Lambda function to exist
 * (and runs it in Docker), and its "previous rotation" check is the inverse of AWS's; the fake
 * models it from the AWS docs, pinned by the RotateSecret scenarios below and the fake-only tests
 * at the end of this file.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FakeSecretsManager } from '../fakes/secrets-manager.js';
import { awsClientConfig, type MotoServer, startMoto } from '../support/moto.js';

const RUN = randomUUID().slice(0, 8);
const ROTATION_FN = 'arn:aws:lambda:us-east-1:123456789012:function:contract-rotation';

type SmCommand =
  | CreateSecretCommand
  | PutSecretValueCommand
  | UpdateSecretVersionStageCommand
  | GetSecretValueCommand
  | RotateSecretCommand
  | DeleteSecretCommand
  | RestoreSecretCommand;

/** A scenario's names: the secret, and a version token per symbolic name (fresh for each backend). */
interface Ids {
  secret: string;
  v(symbol: string): string;
}
type Step = (ids: Ids) => SmCommand;

/** What one step shows: the answer's fields that matter (or the error's name) and the state after it. */
interface Observation {
  result: Record<string, unknown>;
  state: { versions: Record<string, string[]>; deleted: boolean } | { error: string };
}

interface Scenario {
  name: string;
  steps: Step[];
  /** What AWS documents, by 1-based step number: asserted (toMatchObject) on the fake's observations. */
  aws: Record<number, Partial<Observation>>;
}

interface KnownDifference {
  id: string;
  scenario: string;
  why: string;
  at?: { step: number; fake: Observation; moto: Observation };
  normalizeMoto?: (o: Observation) => Observation;
}

// ---- step builders (each returns one SDK command) ------------------------------------------------
const create =
  (v: string, value: string): Step =>
  (i) =>
    new CreateSecretCommand({ Name: i.secret, SecretString: value, ClientRequestToken: i.v(v) });
const createEmpty = (): Step => (i) => new CreateSecretCommand({ Name: i.secret });
const put =
  (v: string, value: string, stages?: string[]): Step =>
  (i) =>
    new PutSecretValueCommand({
      SecretId: i.secret,
      SecretString: value,
      ClientRequestToken: i.v(v),
      ...(stages ? { VersionStages: stages } : {}),
    });
const move =
  (stage: string, to: string, from?: string): Step =>
  (i) =>
    new UpdateSecretVersionStageCommand({
      SecretId: i.secret,
      VersionStage: stage,
      MoveToVersionId: i.v(to),
      ...(from ? { RemoveFromVersionId: i.v(from) } : {}),
    });
const remove =
  (stage: string, from: string): Step =>
  (i) =>
    new UpdateSecretVersionStageCommand({ SecretId: i.secret, VersionStage: stage, RemoveFromVersionId: i.v(from) });
const get =
  (q: { stage?: string; v?: string } = {}): Step =>
  (i) =>
    new GetSecretValueCommand({
      SecretId: i.secret,
      ...(q.stage ? { VersionStage: q.stage } : {}),
      ...(q.v ? { VersionId: i.v(q.v) } : {}),
    });
const rotate =
  (v: string, withFunction = true): Step =>
  (i) =>
    new RotateSecretCommand({
      SecretId: i.secret,
      ClientRequestToken: i.v(v),
      RotateImmediately: true,
      ...(withFunction ? { RotationLambdaARN: ROTATION_FN } : {}),
    });
const scheduleDeletion = (): Step => (i) => new DeleteSecretCommand({ SecretId: i.secret, RecoveryWindowInDays: 7 });
const forceDelete = (): Step => (i) => new DeleteSecretCommand({ SecretId: i.secret, ForceDeleteWithoutRecovery: true });
const restore = (): Step => (i) => new RestoreSecretCommand({ SecretId: i.secret });

const CUR = 'AWSCURRENT';
const PEND = 'AWSPENDING';
const PREV = 'AWSPREVIOUS';
const OK = {};
const err = (name: string) => ({ error: name });
const state = (versions: Record<string, string[]>, deleted = false) => ({ versions, deleted });

// ---- scenarios -----------------------------------------------------------------------------------
const SCENARIOS: Scenario[] = [
  {
    name: 'put without VersionStages moves AWSCURRENT; the old current becomes AWSPREVIOUS',
    steps: [create('v1', 'one'), put('v2', 'two'), get()],
    aws: {
      2: { result: { VersionId: 'v2', VersionStages: [CUR] }, state: state({ v1: [PREV], v2: [CUR] }) },
      3: { result: { VersionId: 'v2', SecretString: 'two', VersionStages: [CUR] } },
    },
  },
  {
    name: 'reading AWSPREVIOUS before and after it exists',
    steps: [create('v1', 'one'), get({ stage: PREV }), put('v2', 'two'), get({ stage: PREV })],
    aws: {
      2: { result: err('ResourceNotFoundException') },
      4: { result: { VersionId: 'v1', SecretString: 'one', VersionStages: [PREV] } },
    },
  },
  {
    name: 'a third put leaves the oldest version without labels (gone from VersionIdsToStages)',
    steps: [create('v1', 'one'), put('v2', 'two'), put('v3', 'three'), get({ v: 'v1' })],
    aws: {
      3: { state: state({ v2: [PREV], v3: [CUR] }) },
      4: { result: { VersionId: 'v1', SecretString: 'one', VersionStages: [] } },
    },
  },
  {
    name: 'put with AWSPENDING leaves AWSCURRENT where it is',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), get({ stage: PEND }), get()],
    aws: {
      2: { result: { VersionId: 'v2', VersionStages: [PEND] }, state: state({ v1: [CUR], v2: [PEND] }) },
      3: { result: { VersionId: 'v2', SecretString: 'two' } },
      4: { result: { VersionId: 'v1', SecretString: 'one' } },
    },
  },
  {
    name: 'same token, same value, other VersionStages: ignored, no label moves (the label-move bug)',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), put('v2', 'two'), get()],
    aws: {
      3: { result: { VersionId: 'v2', VersionStages: [PEND] }, state: state({ v1: [CUR], v2: [PEND] }) },
      4: { result: { VersionId: 'v1', SecretString: 'one' } },
    },
  },
  {
    name: 'same token, same value on a former current version does not make it current again (bug 8)',
    steps: [create('v1', 'one'), put('v2', 'two'), put('v1', 'one', [CUR]), get()],
    aws: {
      3: { result: { VersionId: 'v1', VersionStages: [PREV] }, state: state({ v1: [PREV], v2: [CUR] }) },
      4: { result: { VersionId: 'v2', SecretString: 'two' } },
    },
  },
  {
    name: 'same token, other value is refused',
    steps: [create('v1', 'one'), put('v2', 'two'), put('v2', 'other'), get()],
    aws: {
      3: { result: err('ResourceExistsException'), state: state({ v1: [PREV], v2: [CUR] }) },
      4: { result: { VersionId: 'v2', SecretString: 'two' } },
    },
  },
  {
    name: 'same token, other value on an AWSPENDING version is refused',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), put('v2', 'other', [PEND])],
    aws: { 3: { result: err('ResourceExistsException'), state: state({ v1: [CUR], v2: [PEND] }) } },
  },
  {
    name: 'move AWSCURRENT with the matching RemoveFromVersionId',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), move(CUR, 'v2', 'v1'), get()],
    aws: {
      3: { result: OK, state: state({ v1: [PREV], v2: [CUR, PEND] }) },
      4: { result: { VersionId: 'v2', SecretString: 'two', VersionStages: [CUR, PEND] } },
    },
  },
  {
    name: 'move AWSCURRENT with a RemoveFromVersionId that does not hold it is refused',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), put('v3', 'three', ['BLUE']), move(CUR, 'v2', 'v3')],
    aws: {
      4: { result: err('InvalidParameterException'), state: state({ v1: [CUR], v2: [PEND], v3: ['BLUE'] }) },
    },
  },
  {
    name: 'move AWSCURRENT without RemoveFromVersionId is refused',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), move(CUR, 'v2')],
    aws: { 3: { result: err('InvalidParameterException'), state: state({ v1: [CUR], v2: [PEND] }) } },
  },
  {
    name: 'move AWSCURRENT back to the AWSPREVIOUS version (roll back)',
    steps: [create('v1', 'one'), put('v2', 'two'), move(CUR, 'v1', 'v2'), get()],
    aws: {
      3: { result: OK, state: state({ v1: [CUR], v2: [PREV] }) },
      4: { result: { VersionId: 'v1', SecretString: 'one' } },
    },
  },
  {
    name: 'move a label attached elsewhere without RemoveFromVersionId is refused',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), put('v3', 'three', ['BLUE']), move(PEND, 'v3')],
    aws: {
      4: { result: err('InvalidParameterException'), state: state({ v1: [CUR], v2: [PEND], v3: ['BLUE'] }) },
    },
  },
  {
    name: "the relay's compare-and-set write, then an operator's plain put: exactly one AWSCURRENT",
    steps: [
      create('v1', 'one'),
      put('v2', 'two', ['RELAY_STAGED']),
      move(CUR, 'v2', 'v1'),
      put('v3', 'three'),
      get({ stage: CUR }),
    ],
    aws: {
      3: { result: OK, state: state({ v1: [PREV], v2: [CUR, 'RELAY_STAGED'] }) },
      4: { state: state({ v2: [PREV, 'RELAY_STAGED'], v3: [CUR] }) },
      5: { result: { VersionId: 'v3', SecretString: 'three' } },
    },
  },
  {
    name: 'move a custom label with RemoveFromVersionId; put with a custom label takes it along',
    steps: [
      create('v1', 'one'),
      put('v2', 'two', ['BLUE', 'GREEN']),
      put('v3', 'three', ['RED']),
      move('BLUE', 'v3', 'v2'),
      put('v4', 'four', ['RED']),
    ],
    aws: {
      4: { result: OK, state: state({ v1: [CUR], v2: ['GREEN'], v3: ['BLUE', 'RED'] }) },
      5: { state: state({ v1: [CUR], v2: ['GREEN'], v3: ['BLUE'], v4: ['RED'] }) },
    },
  },
  {
    name: 'remove AWSPENDING after a promotion',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), move(CUR, 'v2', 'v1'), remove(PEND, 'v2'), get({ stage: PEND })],
    aws: {
      4: { result: OK, state: state({ v1: [PREV], v2: [CUR] }) },
      5: { result: err('ResourceNotFoundException') },
    },
  },
  {
    name: 'remove a label from a version that does not hold it is refused',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), remove(PEND, 'v1')],
    aws: { 3: { result: err('InvalidParameterException'), state: state({ v1: [CUR], v2: [PEND] }) } },
  },
  {
    name: 'remove the only label of a version: it leaves VersionIdsToStages',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), remove(PEND, 'v2'), get({ v: 'v2' })],
    aws: { 3: { result: OK, state: state({ v1: [CUR] }) } },
  },
  {
    name: 'remove AWSCURRENT',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), remove(CUR, 'v1')],
    aws: {},
  },
  {
    name: 'a full manual rotation (stage pending, put value, move current) leaves AWSPENDING',
    steps: [
      create('v1', 'one'),
      put('v2', 'two', [PEND]),
      move(CUR, 'v2', 'v1'),
      get({ stage: PEND }),
      get({ stage: PREV }),
      get({ stage: CUR }),
      get(),
    ],
    aws: {
      3: { state: state({ v1: [PREV], v2: [CUR, PEND] }) },
      4: { result: { VersionId: 'v2', SecretString: 'two', VersionStages: [CUR, PEND] } },
      5: { result: { VersionId: 'v1', SecretString: 'one', VersionStages: [PREV] } },
      6: { result: { VersionId: 'v2', SecretString: 'two' } },
      7: { result: { VersionId: 'v2', SecretString: 'two' } },
    },
  },
  {
    name: 'GetSecretValue by VersionId, by VersionId and stage, and mismatches',
    steps: [
      create('v1', 'one'),
      put('v2', 'two'),
      get({ v: 'v1' }),
      get({ v: 'v1', stage: PREV }),
      get({ v: 'v1', stage: CUR }),
      get({ v: 'never-created' }),
      get({ stage: 'NOPE' }),
    ],
    aws: {
      3: { result: { VersionId: 'v1', SecretString: 'one', VersionStages: [PREV] } },
      4: { result: { VersionId: 'v1', SecretString: 'one' } },
      5: { result: err('InvalidRequestException') },
      6: { result: err('ResourceNotFoundException') },
      7: { result: err('ResourceNotFoundException') },
    },
  },
  {
    name: 'the first value of a secret created without one becomes AWSCURRENT whatever VersionStages says',
    steps: [createEmpty(), put('v1', 'one', [PEND]), get()],
    aws: {
      1: { state: state({}) },
      2: { state: state({ v1: [CUR, PEND] }) },
      3: { result: { VersionId: 'v1', SecretString: 'one' } },
    },
  },
  {
    name: 'VersionStages: [] is invalid',
    steps: [create('v1', 'one'), put('v2', 'two', [])],
    aws: { 2: { result: err('ValidationException'), state: state({ v1: [CUR] }) } },
  },
  {
    name: 'a secret scheduled for deletion refuses reads until restored',
    steps: [create('v1', 'one'), scheduleDeletion(), get(), restore(), get()],
    aws: {
      2: { result: OK, state: state({ v1: [CUR] }, true) },
      3: { result: err('InvalidRequestException') },
      4: { result: OK, state: state({ v1: [CUR] }) },
      5: { result: { VersionId: 'v1', SecretString: 'one' } },
    },
  },
  {
    name: 'a secret scheduled for deletion refuses PutSecretValue',
    steps: [create('v1', 'one'), scheduleDeletion(), put('v2', 'two')],
    aws: { 3: { result: err('InvalidRequestException'), state: state({ v1: [CUR] }, true) } },
  },
  {
    name: 'ForceDeleteWithoutRecovery removes the secret',
    steps: [create('v1', 'one'), forceDelete(), get()],
    aws: { 2: { state: { error: 'ResourceNotFoundException' } }, 3: { result: err('ResourceNotFoundException') } },
  },
  {
    name: 'RotateSecret with a rotation function stages the token as AWSPENDING without a value',
    steps: [create('v1', 'one'), rotate('r1')],
    aws: { 2: { result: { VersionId: 'r1' }, state: state({ v1: [CUR], r1: [PEND] }) } },
  },
  {
    name: 'RotateSecret after a finished rotation (AWSPENDING on AWSCURRENT) starts a new one',
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), move(CUR, 'v2', 'v1'), rotate('r1')],
    aws: { 4: { result: { VersionId: 'r1' }, state: state({ v1: [PREV], v2: [CUR], r1: [PEND] }) } },
  },
  {
    name: "RotateSecret while AWSPENDING sits on a version that is not AWSCURRENT: a previous rotation isn't complete",
    steps: [create('v1', 'one'), put('v2', 'two', [PEND]), rotate('r1')],
    aws: { 3: { result: err('InvalidRequestException'), state: state({ v1: [CUR], v2: [PEND] }) } },
  },
  {
    name: 'RotateSecret on a secret without a rotation function is refused',
    steps: [create('v1', 'one'), rotate('r1', false)],
    aws: { 2: { result: err('InvalidRequestException'), state: state({ v1: [CUR] }) } },
  },
];

// ---- known differences ---------------------------------------------------------------------------
const dropUnlabelled = (o: Observation): Observation =>
  'versions' in o.state
    ? { ...o, state: { ...o.state, versions: Object.fromEntries(Object.entries(o.state.versions).filter(([, l]) => l.length)) } }
    : o;

/** One observation, for pinning: the step's result and the labelled versions after it. */
const obs = (result: Record<string, unknown>, versions: Record<string, string[]>, deleted = false): Observation => ({
  result,
  state: state(versions, deleted),
});
const staleDefaultRead = (step: number, stages: string[]): KnownDifference['at'] => ({
  step,
  fake: obs({ VersionId: 'v2', SecretString: 'two', VersionStages: stages }, { v1: [PREV], v2: stages }),
  moto: obs({ VersionId: 'v1', SecretString: 'one', VersionStages: [PREV] }, { v1: [PREV], v2: stages }),
});

const KNOWN_DIFFERENCES: KnownDifference[] = [
  {
    id: 'moto-plain-put-after-stage-move-leaves-two-awscurrent',
    scenario: "the relay's compare-and-set write, then an operator's plain put: exactly one AWSCURRENT",
    why:
      'AWS docs (PutSecretValue): without VersionStages the new version gets AWSCURRENT, moved from the version that held ' +
      'it, which becomes AWSPREVIOUS. moto moves it from its internal default version, which UpdateSecretVersionStage never ' +
      'updates: after our stage move, a plain put leaves AWSCURRENT on two versions (found by the JoggAI store tests, which ' +
      'therefore simulate an operator write on moto with an explicit stage move)',
    at: {
      step: 4,
      fake: obs({ VersionId: 'v3', VersionStages: [CUR] }, { v2: [PREV, 'RELAY_STAGED'], v3: [CUR] }),
      moto: obs({ VersionId: 'v3', VersionStages: [CUR] }, { v1: [PREV], v2: [CUR, 'RELAY_STAGED'], v3: [CUR] }),
    },
  },
  {
    id: 'moto-reused-pending-token-relabels',
    scenario: 'same token, same value, other VersionStages: ignored, no label moves (the label-move bug)',
    why:
      'AWS docs (PutSecretValue ClientRequestToken): an existing version with the same data makes the request a no-op. ' +
      'moto treats any version carrying AWSPENDING as a RotateSecret stub and rewrites it: its labels are replaced by ' +
      'VersionStages and AWSCURRENT moves. moto hides the label-move bug as the old fake did',
    at: {
      step: 3,
      fake: obs({ VersionId: 'v2', VersionStages: [PEND] }, { v1: [CUR], v2: [PEND] }),
      moto: obs({ VersionId: 'v2', VersionStages: [CUR] }, { v1: [PREV], v2: [CUR] }),
    },
  },
  {
    id: 'moto-reused-pending-token-overwrites-value',
    scenario: 'same token, other value on an AWSPENDING version is refused',
    why:
      "AWS docs: other data under an existing token fails (ResourceExistsException, you can't modify a version); " +
      'moto overwrites a version carrying AWSPENDING (also pinned as a GAP in moto-capabilities.test.ts)',
    at: {
      step: 3,
      fake: obs({ error: 'ResourceExistsException' }, { v1: [CUR], v2: [PEND] }),
      moto: obs({ VersionId: 'v2', VersionStages: [PEND] }, { v1: [CUR], v2: [PEND] }),
    },
  },
  {
    id: 'moto-default-read-ignores-moved-awscurrent',
    scenario: 'move AWSCURRENT with the matching RemoveFromVersionId',
    why:
      'AWS docs (GetSecretValue): without VersionStage/VersionId the AWSCURRENT version is returned. moto returns its ' +
      '"default version", which UpdateSecretVersionStage never updates: after a stage move it still serves the old value',
    at: staleDefaultRead(4, [CUR, PEND]),
  },
  {
    id: 'moto-default-read-ignores-moved-awscurrent',
    scenario: 'move AWSCURRENT back to the AWSPREVIOUS version (roll back)',
    why: 'as above: the rolled-back version is AWSCURRENT, moto still reads the one that holds AWSPREVIOUS',
    at: {
      step: 4,
      fake: obs({ VersionId: 'v1', SecretString: 'one', VersionStages: [CUR] }, { v1: [CUR], v2: [PREV] }),
      moto: obs({ VersionId: 'v2', SecretString: 'two', VersionStages: [PREV] }, { v1: [CUR], v2: [PREV] }),
    },
  },
  {
    id: 'moto-default-read-ignores-moved-awscurrent',
    scenario: 'a full manual rotation (stage pending, put value, move current) leaves AWSPENDING',
    why: 'as above (reading with VersionStage AWSCURRENT, step 6, agrees)',
    at: staleDefaultRead(7, [CUR, PEND]),
  },
  {
    id: 'moto-moves-label-without-remove-from',
    scenario: 'move a label attached elsewhere without RemoveFromVersionId is refused',
    why:
      'AWS docs (UpdateSecretVersionStage RemoveFromVersionId): if the label is attached to another version and ' +
      'RemoveFromVersionId is missing or does not match, the operation fails. moto checks that only for AWSCURRENT ' +
      'and otherwise attaches the label to a second version',
    at: {
      step: 4,
      fake: obs({ error: 'InvalidParameterException' }, { v1: [CUR], v2: [PEND], v3: ['BLUE'] }),
      moto: obs({}, { v1: [CUR], v2: [PEND], v3: [PEND, 'BLUE'] }),
    },
  },
  {
    id: 'moto-removes-awscurrent',
    scenario: 'remove AWSCURRENT',
    why:
      'AWS docs do not say what removing AWSCURRENT without moving it does (unverified against AWS). The fake refuses ' +
      '(InvalidParameterException) so no code under test can rely on a secret without AWSCURRENT; moto removes it ' +
      'and labels the version AWSPREVIOUS, leaving no AWSCURRENT at all',
    at: {
      step: 3,
      fake: obs({ error: 'InvalidParameterException' }, { v1: [CUR], v2: [PEND] }),
      moto: obs({}, { v1: [PREV], v2: [PEND] }),
    },
  },
  {
    id: 'moto-accepts-empty-version-stages',
    scenario: 'VersionStages: [] is invalid',
    why:
      'AWS API model: VersionStages has at least 1 member, so AWS answers ValidationException; moto creates a version ' +
      'without labels',
    at: {
      step: 2,
      fake: obs({ error: 'ValidationException' }, { v1: [CUR] }),
      moto: obs({ VersionId: 'v2', VersionStages: [] }, { v1: [CUR], v2: [] }),
    },
  },
  {
    id: 'moto-writes-to-deleted-secret',
    scenario: 'a secret scheduled for deletion refuses PutSecretValue',
    why:
      'AWS docs (InvalidRequestException): the secret is scheduled for deletion. moto only checks that on reads, ' +
      'RotateSecret and UpdateSecret, and stores the new version',
    at: {
      step: 3,
      fake: obs({ error: 'InvalidRequestException' }, { v1: [CUR] }, true),
      moto: obs({ VersionId: 'v2', VersionStages: [CUR] }, { v1: [PREV], v2: [CUR] }, true),
    },
  },
  {
    id: 'not-contract-tested-rotate-secret-needs-lambda',
    scenario: 'RotateSecret with a rotation function stages the token as AWSPENDING without a value',
    why:
      'RotateSecret cannot be contract-tested: moto requires the rotation Lambda function to exist (and runs it in ' +
      'Docker). It stages the AWSPENDING stub as AWS does, then fails on the missing function; the fake models the ' +
      'rest from the AWS docs',
    at: {
      step: 2,
      fake: obs({ VersionId: 'r1' }, { v1: [CUR], r1: [PEND] }),
      moto: obs({ error: 'ResourceNotFoundException' }, { v1: [CUR], r1: [PEND] }),
    },
  },
  {
    id: 'moto-rotate-secret-previous-rotation-check-inverted',
    scenario: 'RotateSecret after a finished rotation (AWSPENDING on AWSCURRENT) starts a new one',
    why:
      'AWS docs (RotateSecret): AWSPENDING on the AWSCURRENT version means the last rotation succeeded. moto refuses ' +
      'exactly then ("Previous rotation request is still in progress"): its check is the inverse of AWS\'s',
    at: {
      step: 4,
      fake: obs({ VersionId: 'r1' }, { v1: [PREV], v2: [CUR], r1: [PEND] }),
      moto: obs({ error: 'InvalidRequestException' }, { v1: [PREV], v2: [CUR, PEND] }),
    },
  },
  {
    id: 'moto-rotate-secret-previous-rotation-check-inverted',
    scenario: "RotateSecret while AWSPENDING sits on a version that is not AWSCURRENT: a previous rotation isn't complete",
    why:
      'AWS docs (RotateSecret): AWSPENDING on a version that is not AWSCURRENT makes RotateSecret fail. moto goes on, ' +
      'moves AWSPENDING to the new stub (the pending version loses its only label), then fails on the missing function',
    at: {
      step: 3,
      fake: obs({ error: 'InvalidRequestException' }, { v1: [CUR], v2: [PEND] }),
      moto: obs({ error: 'ResourceNotFoundException' }, { v1: [CUR], v2: [], r1: [PEND] }),
    },
  },
  {
    id: 'moto-rotate-secret-without-function-promotes-empty-version',
    scenario: 'RotateSecret on a secret without a rotation function is refused',
    why:
      'AWS docs (InvalidRequestException): enabling rotation without a Lambda function ARN configured or given fails. ' +
      'moto instead makes the new, value-less version AWSCURRENT (a GetSecretValue would then fail)',
    at: {
      step: 2,
      fake: obs({ error: 'InvalidRequestException' }, { v1: [CUR] }),
      moto: obs({ VersionId: 'r1' }, { v1: [PREV], r1: [CUR] }),
    },
  },
  {
    id: 'moto-lists-unlabelled-versions',
    scenario: 'a third put leaves the oldest version without labels (gone from VersionIdsToStages)',
    why: 'AWS docs (DescribeSecret): VersionIdsToStages lists the versions that have staging labels; moto lists every version',
    normalizeMoto: dropUnlabelled,
  },
  {
    id: 'moto-lists-unlabelled-versions',
    scenario: 'remove the only label of a version: it leaves VersionIdsToStages',
    why: 'as above',
    normalizeMoto: dropUnlabelled,
  },
];

// ---- running ---------------------------------------------------------------------------------------
const sorted = (labels: readonly string[] | undefined) => [...(labels ?? [])].sort();

async function runScenario(client: SecretsManagerClient, scenario: Scenario, secret: string): Promise<Observation[]> {
  const tokens = new Map<string, string>();
  const symbols = new Map<string, string>();
  const ids: Ids = {
    secret,
    v(symbol) {
      let token = tokens.get(symbol);
      if (!token) {
        token = randomUUID();
        tokens.set(symbol, token);
        symbols.set(token, symbol);
      }
      return token;
    },
  };
  const sym = (id: unknown) => (typeof id === 'string' ? (symbols.get(id) ?? `unknown:${id}`) : id);
  const observations: Observation[] = [];
  for (const step of scenario.steps) {
    const command = step(ids);
    let result: Record<string, unknown>;
    try {
      const out = (await client.send(command as never)) as unknown as Record<string, unknown>;
      if (command instanceof GetSecretValueCommand) {
        result = {
          VersionId: sym(out.VersionId),
          SecretString: out.SecretString,
          VersionStages: sorted(out.VersionStages as string[]),
        };
      } else if (command instanceof PutSecretValueCommand) {
        result = { VersionId: sym(out.VersionId), VersionStages: sorted(out.VersionStages as string[]) };
      } else if (command instanceof CreateSecretCommand || command instanceof RotateSecretCommand) {
        result = out.VersionId === undefined ? {} : { VersionId: sym(out.VersionId) };
      } else {
        result = {};
      }
    } catch (e) {
      result = { error: (e as Error).name };
    }
    let after: Observation['state'];
    try {
      const d = await client.send(new DescribeSecretCommand({ SecretId: secret }));
      const versions = Object.fromEntries(
        Object.entries(d.VersionIdsToStages ?? {})
          .map(([id, labels]): [string, string[]] => [sym(id) as string, sorted(labels)])
          .sort(([a], [b]) => a.localeCompare(b)),
      );
      after = { versions, deleted: d.DeletedDate !== undefined };
    } catch (e) {
      after = { error: (e as Error).name };
    }
    observations.push({ result, state: after });
  }
  return observations;
}

let ownServer: MotoServer | undefined;
let moto: SecretsManagerClient;

beforeAll(async () => {
  let endpoint = inject('motoEndpoint') as string | undefined;
  if (!endpoint) {
    ownServer = await startMoto();
    endpoint = ownServer.endpoint;
  }
  moto = new SecretsManagerClient(awsClientConfig(endpoint));
});

afterAll(async () => {
  moto?.destroy();
  await ownServer?.stop();
});

describe('Secrets Manager fake vs moto: the same command sequences', () => {
  it('every known difference names an existing scenario, and pins exactly one kind', () => {
    const names = new Set(SCENARIOS.map((s) => s.name));
    expect(new Set(SCENARIOS.map((s) => s.name)).size).toBe(SCENARIOS.length);
    for (const d of KNOWN_DIFFERENCES) {
      expect(names.has(d.scenario), `${d.id}: no scenario "${d.scenario}"`).toBe(true);
      expect(Boolean(d.at) !== Boolean(d.normalizeMoto), `${d.id}: give either at or normalizeMoto`).toBe(true);
    }
  });

  it.each(SCENARIOS.map((s, n) => ({ ...s, n })))('$name', async (scenario) => {
    const fake = new FakeSecretsManager();
    let fakeTrace: Observation[];
    try {
      fakeTrace = await runScenario(fake.client, scenario, 'contract-secret');
    } finally {
      fake.mock.restore();
    }
    let motoTrace = await runScenario(moto, scenario, `contract-${RUN}-${scenario.n}`);

    // What AWS documents holds on the fake.
    for (const [step, expected] of Object.entries(scenario.aws)) {
      expect(fakeTrace[Number(step) - 1], `AWS behaviour at step ${step}`).toMatchObject(expected);
    }

    const known = KNOWN_DIFFERENCES.filter((d) => d.scenario === scenario.name);
    for (const d of known) {
      const normalize = d.normalizeMoto;
      if (!normalize) continue;
      const normalized = motoTrace.map(normalize);
      expect(normalized, `known difference ${d.id} no longer occurs in this scenario`).not.toEqual(motoTrace);
      motoTrace = normalized;
    }
    const first = fakeTrace.findIndex((o, i) => JSON.stringify(o) !== JSON.stringify(motoTrace[i]));
    const divergence = first < 0 ? undefined : { step: first + 1, fake: fakeTrace[first], moto: motoTrace[first] };
    const pinned = known.find((d) => d.at);
    if (!pinned) {
      expect(
        divergence,
        `a difference between the fake and moto that KNOWN_DIFFERENCES does not list: ${JSON.stringify(divergence)}`,
      ).toBeUndefined();
    } else {
      expect(divergence, `known difference ${pinned.id} no longer occurs`).toBeDefined();
      expect(divergence, `known difference ${pinned.id} changed`).toEqual(pinned.at);
    }
  });
});

// Not contract-tested (see the header): the fake's rotation run, modelled from the AWS docs.
describe('Secrets Manager fake only: the rotation run', () => {
  const steps: string[] = [];
  const promote = (fake: FakeSecretsManager) => async (e: { ClientRequestToken: string; Step: string }) => {
    steps.push(e.Step);
    if (e.Step === 'createSecret') {
      await fake.client.send(
        new PutSecretValueCommand({
          SecretId: 's',
          SecretString: 'two',
          ClientRequestToken: e.ClientRequestToken,
          VersionStages: [PEND],
        }),
      );
    }
    if (e.Step === 'finishSecret') {
      const current = Object.entries(fake.stagesOf('s')).find(([, l]) => l.includes(CUR))?.[0];
      await fake.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: 's',
          VersionStage: CUR,
          MoveToVersionId: e.ClientRequestToken,
          RemoveFromVersionId: current,
        }),
      );
    }
  };

  it('RotateSecret stages a value-less AWSPENDING version, runs the four steps in the background, and AWSPENDING stays', async () => {
    steps.length = 0;
    const fake = new FakeSecretsManager();
    try {
      fake.create('s', 'one');
      fake.onRotation('s', promote(fake));
      const { VersionId } = await fake.client.send(new RotateSecretCommand({ SecretId: 's', RotateImmediately: true }));
      const token = VersionId as string;
      expect(fake.stagesOf('s')[token]).toEqual([PEND]);
      await fake.idle();
      expect(steps).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
      expect(fake.rotationErrors).toEqual([]);
      expect(fake.stagesOf('s')[token]).toEqual([CUR, PEND]);
      expect(fake.liveValues('s')).toEqual(['two', 'two', 'one']);
    } finally {
      fake.mock.restore();
    }
  });

  it('rotate() leaves AWSPENDING where the function left it; a stub without a value cannot be read', async () => {
    const fake = new FakeSecretsManager();
    try {
      fake.create('s', 'one');
      const { token } = await fake.rotate('s', promote(fake));
      expect(fake.stagesOf('s')[token]).toEqual([CUR, PEND]);
      const next = fake.stageRotation('s');
      expect(fake.stagesOf('s')).toMatchObject({ [token]: [CUR], [next]: [PEND] });
      await expect(fake.client.send(new GetSecretValueCommand({ SecretId: 's', VersionStage: PEND }))).rejects.toMatchObject({
        name: 'ResourceNotFoundException',
      });
      expect(() => fake.stageRotation('s')).toThrow("A previous rotation isn't complete");
    } finally {
      fake.mock.restore();
    }
  });
});
