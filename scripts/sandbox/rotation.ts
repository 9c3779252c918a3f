/**
 * Secrets Manager's side of rotation for the sandbox, on moto, as AWS does it:
 *
 * - the template's RotationSchedule: rotation enabled with its interval and its function, no rotation
 *   now (RotateImmediatelyOnUpdate: false);
 * - RotateSecret: refused while a previous rotation is unfinished (AWSPENDING on a version that is
 *   not AWSCURRENT); the token staged as AWSPENDING without a value; then the rotation function's
 *   four steps (createSecret, setSecret, testSecret, finishSecret).
 *
 * moto runs rotation functions only in Docker. Given a function it does not know, its RotateSecret
 * stages the token exactly as AWS does, records the function and the schedule, and then fails with
 * ResourceNotFoundException when it looks the function up: that failure is expected here (and checked
 * by name). moto also refuses a new rotation when AWSPENDING sits on the AWSCURRENT version, which AWS
 * reads as "the last rotation finished" (pinned as moto-rotate-secret-previous-rotation-check-inverted
 * in the Secrets Manager contract test), so that leftover label is taken off first.
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  RotateSecretCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';

export interface RotationSetup {
  /** The rotation function's ARN as the template names it (moto does not run it). */
  readonly functionArn: string;
  readonly days: number;
  /** Runs the function's four steps for `token`. */
  readonly runSteps: (token: string) => Promise<void>;
}

export class RotationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRequestException';
  }
}

/** moto's RotateSecret with the function: stages `token` (or a copy of the current value without `immediately`), then fails to find the function. */
async function stage(sm: SecretsManagerClient, secretId: string, setup: RotationSetup, token: string, immediately: boolean) {
  try {
    await sm.send(
      new RotateSecretCommand({
        SecretId: secretId,
        ClientRequestToken: token,
        RotationLambdaARN: setup.functionArn,
        RotationRules: { AutomaticallyAfterDays: setup.days },
        RotateImmediately: immediately,
      }),
    );
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException' || !(err as Error).message.includes(setup.functionArn)) throw err;
  }
}

async function clearPending(sm: SecretsManagerClient, secretId: string, onlyFinished: boolean): Promise<void> {
  const d = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
  for (const [id, stages] of Object.entries(d.VersionIdsToStages ?? {})) {
    if (!stages.includes('AWSPENDING')) continue;
    if (onlyFinished && !stages.includes('AWSCURRENT'))
      throw new RotationRefused("A previous rotation isn't complete. That rotation will be reattempted.");
    await sm.send(
      new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: 'AWSPENDING', RemoveFromVersionId: id }),
    );
  }
}

/** The schedule as CloudFormation's RotationSchedule leaves it (the staged copy taken off again). */
export async function enableRotation(sm: SecretsManagerClient, secretId: string, setup: RotationSetup): Promise<void> {
  await stage(sm, secretId, setup, randomUUID(), false);
  await clearPending(sm, secretId, false);
}

/** RotateSecret as AWS runs it, the four steps done before it answers. */
export async function rotateSecret(
  sm: SecretsManagerClient,
  secretId: string,
  setup: RotationSetup,
  token: string = randomUUID(),
): Promise<{ ARN?: string; Name?: string; VersionId: string }> {
  await clearPending(sm, secretId, true);
  await stage(sm, secretId, setup, token, true);
  await setup.runSteps(token);
  const d = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
  return { ARN: d.ARN, Name: d.Name, VersionId: token };
}
