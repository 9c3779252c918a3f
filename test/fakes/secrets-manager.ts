/**
 * An in-memory Secrets Manager behind aws-sdk-client-mock with AWS's version-stage semantics, as
 * documented in the API reference and checked against moto by
 * test/integration/secrets-manager-contract.test.ts (which pins every known difference):
 * - a staging label sits on at most one version; a version without labels is "deprecated" and is
 *   not listed in DescribeSecret's VersionIdsToStages;
 * - PutSecretValue: a new token makes a new version labelled VersionStages (default AWSCURRENT; the
 *   first version always gets AWSCURRENT), moving each label from the version that held it; moving
 *   AWSCURRENT gives the old current version AWSPREVIOUS. A token that already names a version with
 *   a value is ignored when the value is the same (labels are NOT moved, whatever VersionStages
 *   says) and refused with ResourceExistsException when it differs. VersionStages: [] is invalid;
 * - UpdateSecretVersionStage: a label attached to another version moves only if RemoveFromVersionId
 *   names that version (InvalidParameterException otherwise, also when RemoveFromVersionId names a
 *   version that does not hold it); RemoveFromVersionId alone removes a label (not AWSCURRENT);
 * - GetSecretValue: by stage (default AWSCURRENT), by VersionId, or both (InvalidRequestException
 *   when that version lacks the stage); a version without a value is ResourceNotFoundException;
 * - RotateSecret: refused while AWSPENDING sits on a version that is not AWSCURRENT ("A previous
 *   rotation isn't complete"); otherwise a new version (the token) gets AWSPENDING without a value
 *   and the rotation function, if one is registered with {@link FakeSecretsManager.onRotation}, runs
 *   its four steps in the background. Nothing removes AWSPENDING afterwards but the function itself;
 * - DeleteSecret / RestoreSecret: a secret scheduled for deletion refuses reads and writes
 *   (InvalidRequestException) until restored; ForceDeleteWithoutRecovery removes it.
 *
 * Time: every version's CreatedDate and a deletion date come from one injectable clock
 * ({@link FakeSecretsManagerOptions.now}, default the wall clock), so a model on a virtual clock
 * (test/support/lifecycle-chaos.ts) sees versions stamped on its own timeline.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RestoreSecretCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  SecretsManagerServiceException,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { type AwsClientStub, mockClient } from 'aws-sdk-client-mock';

interface Version {
  value: string | undefined;
  stages: Set<string>;
  created: Date;
}

interface FakeSecret {
  name: string;
  arn: string;
  versions: Map<string, Version>;
  rotationEnabled: boolean;
  rotationLambdaArn?: string;
  deletedDate?: Date;
}

const meta = { $metadata: {} };

export type RotationHandler = (event: { SecretId: string; ClientRequestToken: string; Step: string }) => Promise<unknown>;

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

export interface FakeSecretsManagerOptions {
  /** Mock every SecretsManagerClient (for code that builds its own client). @default false */
  readonly allInstances?: boolean;
  /** The clock versions are stamped with (CreatedDate) and deletions dated by. @default Date.now */
  readonly now?: () => number;
}

export class FakeSecretsManager {
  readonly client: SecretsManagerClient;
  readonly mock: AwsClientStub<SecretsManagerClient>;
  readonly secrets = new Map<string, FakeSecret>();
  /** Every command name in order, for assertions. */
  readonly calls: string[] = [];
  /** Errors to throw from the next calls of a command (e.g. a crash before PutSecretValue lands). */
  private readonly failures = new Map<string, Error[]>();
  /** Rotation functions by secret name, run by RotateSecret (see {@link onRotation}). */
  private readonly rotationHandlers = new Map<string, RotationHandler>();
  /** Rotations RotateSecret started in the background (see {@link idle}). */
  private readonly running = new Set<Promise<void>>();
  /** Errors of background rotations, in order (the service would retry and alarm; tests inspect). */
  readonly rotationErrors: unknown[] = [];

  /** The clock of every date this fake stamps. */
  readonly now: () => number;

  /** @param options `true` = `{ allInstances: true }` (mock every SecretsManagerClient). */
  constructor(options: boolean | FakeSecretsManagerOptions = {}) {
    const { allInstances = false, now = () => Date.now() } = typeof options === 'boolean' ? { allInstances: options } : options;
    this.now = now;
    this.client = new SecretsManagerClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    this.mock = allInstances ? mockClient(SecretsManagerClient) : mockClient(this.client);

    this.mock.on(CreateSecretCommand).callsFake(async (input) => {
      this.begin('CreateSecret');
      const name = input.Name as string;
      if (this.secrets.has(name)) {
        throw new ResourceExistsException({
          ...meta,
          message: `The operation failed because the secret ${name} already exists.`,
        });
      }
      const arn = this.arnOf(name);
      const versions = new Map<string, Version>();
      const id = input.ClientRequestToken ?? randomUUID();
      if (input.SecretString !== undefined) {
        versions.set(id, { value: input.SecretString, stages: new Set(['AWSCURRENT']), created: new Date(this.now()) });
      }
      this.secrets.set(name, { name, arn, versions, rotationEnabled: false });
      return { ARN: arn, Name: name, ...(input.SecretString !== undefined ? { VersionId: id } : {}) };
    });

    this.mock.on(DescribeSecretCommand).callsFake(async (input) => {
      this.begin('DescribeSecret');
      const s = this.find(input.SecretId);
      return {
        ARN: s.arn,
        Name: s.name,
        RotationEnabled: s.rotationEnabled,
        ...(s.rotationLambdaArn ? { RotationLambdaARN: s.rotationLambdaArn } : {}),
        ...(s.deletedDate ? { DeletedDate: s.deletedDate } : {}),
        VersionIdsToStages: this.stagesOf(s.name),
      };
    });

    this.mock.on(GetSecretValueCommand).callsFake(async (input) => {
      this.begin('GetSecretValue');
      const s = this.find(input.SecretId);
      this.refuseIfDeleted(s);
      let id = input.VersionId;
      const stage = input.VersionStage ?? (id === undefined ? 'AWSCURRENT' : undefined);
      if (id !== undefined) {
        const v = s.versions.get(id);
        if (v && stage !== undefined && !v.stages.has(stage)) {
          throw new InvalidRequestException({
            ...meta,
            message: 'You provided a VersionStage that is not associated to the provided VersionId.',
          });
        }
      } else {
        id = this.holderOf(s, stage as string);
      }
      const v = id !== undefined ? s.versions.get(id) : undefined;
      if (!v || v.value === undefined) {
        throw new ResourceNotFoundException({
          ...meta,
          message: "Secrets Manager can't find the specified secret value.",
        });
      }
      return {
        ARN: s.arn,
        Name: s.name,
        VersionId: id,
        SecretString: v.value,
        VersionStages: [...v.stages],
        CreatedDate: v.created,
      };
    });

    this.mock.on(PutSecretValueCommand).callsFake(async (input) => {
      this.begin('PutSecretValue');
      const s = this.find(input.SecretId);
      this.refuseIfDeleted(s);
      if (input.SecretString === undefined) {
        throw new InvalidRequestException({ ...meta, message: 'You must provide either SecretString or SecretBinary.' });
      }
      if (input.VersionStages !== undefined && input.VersionStages.length === 0) {
        throw validationError(
          "1 validation error detected: Value '[]' at 'versionStages' failed to satisfy constraint: " +
            'Member must have length greater than or equal to 1',
        );
      }
      const token = input.ClientRequestToken ?? randomUUID();
      const value = input.SecretString;
      const existing = s.versions.get(token);
      if (existing?.value !== undefined) {
        if (existing.value !== value) {
          throw new ResourceExistsException({
            ...meta,
            message: `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret ${s.arn}.`,
          });
        }
        // Same token, same data: the request is ignored. VersionStages is NOT applied.
        return { ARN: s.arn, Name: s.name, VersionId: token, VersionStages: [...existing.stages] };
      }
      const stages = [...(input.VersionStages ?? ['AWSCURRENT'])];
      if (this.holderOf(s, 'AWSCURRENT') === undefined && !stages.includes('AWSCURRENT')) stages.push('AWSCURRENT');
      // A version RotateSecret created (AWSPENDING, no value yet) gets its value here.
      const v = existing ?? { value: undefined, stages: new Set<string>(), created: new Date(this.now()) };
      v.value = value;
      s.versions.set(token, v);
      for (const stage of stages) this.attach(s, stage, token);
      return { ARN: s.arn, Name: s.name, VersionId: token, VersionStages: [...v.stages] };
    });

    this.mock.on(UpdateSecretVersionStageCommand).callsFake(async (input) => {
      this.begin('UpdateSecretVersionStage');
      const s = this.find(input.SecretId);
      this.refuseIfDeleted(s);
      const stage = input.VersionStage as string;
      const to = input.MoveToVersionId;
      const from = input.RemoveFromVersionId;
      for (const id of [to, from]) {
        if (id !== undefined && !s.versions.has(id)) {
          throw new InvalidParameterException({ ...meta, message: `Not a valid version: ${id}` });
        }
      }
      const holder = this.holderOf(s, stage);
      if (from !== undefined && from !== holder) {
        throw new InvalidParameterException({ ...meta, message: `Version stage ${stage} not found in version ${from}` });
      }
      if (to === undefined) {
        if (from === undefined) {
          throw new InvalidParameterException({ ...meta, message: 'Specify MoveToVersionId, RemoveFromVersionId or both.' });
        }
        if (stage === 'AWSCURRENT') {
          throw new InvalidParameterException({
            ...meta,
            message: `You can't remove the staging label AWSCURRENT from version ${from}; move it to another version.`,
          });
        }
        s.versions.get(from)?.stages.delete(stage);
        return { ARN: s.arn, Name: s.name };
      }
      if (holder !== undefined && holder !== to && from === undefined) {
        throw new InvalidParameterException({
          ...meta,
          message:
            `The parameter RemoveFromVersionId can't be empty. Staging label ${stage} is currently attached to version ` +
            `${holder}, so you must explicitly reference that version in RemoveFromVersionId.`,
        });
      }
      this.attach(s, stage, to);
      return { ARN: s.arn, Name: s.name };
    });

    this.mock.on(RotateSecretCommand).callsFake(async (input) => {
      this.begin('RotateSecret');
      const s = this.find(input.SecretId);
      this.refuseIfDeleted(s);
      if (input.RotationLambdaARN) s.rotationLambdaArn = input.RotationLambdaARN;
      if (!s.rotationLambdaArn && !s.rotationEnabled) {
        throw new InvalidRequestException({
          ...meta,
          message:
            "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured " +
            "and you didn't include such an ARN as a parameter in this call.",
        });
      }
      s.rotationEnabled = true;
      if (input.RotateImmediately === false) return { ARN: s.arn, Name: s.name };
      const token = this.stageRotation(s.name, input.ClientRequestToken);
      const handler = this.rotationHandlers.get(s.name);
      if (handler) {
        const run = this.runSteps(s.name, token, handler, {}).then(
          () => undefined,
          (err: unknown) => {
            this.rotationErrors.push(err);
          },
        );
        this.running.add(run);
        void run.finally(() => this.running.delete(run));
      }
      return { ARN: s.arn, Name: s.name, VersionId: token };
    });

    this.mock.on(DeleteSecretCommand).callsFake(async (input) => {
      this.begin('DeleteSecret');
      const s = this.find(input.SecretId);
      if (input.ForceDeleteWithoutRecovery) {
        this.secrets.delete(s.name);
        return { ARN: s.arn, Name: s.name, DeletionDate: new Date(this.now()) };
      }
      const days = input.RecoveryWindowInDays ?? 30;
      if (days < 7 || days > 30) {
        throw new InvalidParameterException({
          ...meta,
          message: 'The RecoveryWindowInDays value must be between 7 and 30 days.',
        });
      }
      this.refuseIfDeleted(s);
      s.deletedDate = new Date(this.now() + days * 86_400_000);
      return { ARN: s.arn, Name: s.name, DeletionDate: s.deletedDate };
    });

    this.mock.on(RestoreSecretCommand).callsFake(async (input) => {
      this.begin('RestoreSecret');
      const s = this.find(input.SecretId);
      s.deletedDate = undefined;
      return { ARN: s.arn, Name: s.name };
    });
  }

  /** Makes the next call of `command` (e.g. 'PutSecretValue') throw `error` without any effect. */
  failNext(command: string, error: Error): void {
    const list = this.failures.get(command) ?? [];
    list.push(error);
    this.failures.set(command, list);
  }

  private begin(command: string): void {
    this.calls.push(command);
    const err = this.failures.get(command)?.shift();
    if (err) throw err;
  }

  /** Creates a secret with an initial AWSCURRENT value. */
  create(name: string, value: string, rotationEnabled = true): string {
    const arn = this.arnOf(name);
    const versions = new Map<string, Version>([
      [randomUUID(), { value, stages: new Set(['AWSCURRENT']), created: new Date(this.now()) }],
    ]);
    this.secrets.set(name, { name, arn, versions, rotationEnabled });
    return arn;
  }

  /** The value holding `stage`, or undefined. */
  value(name: string, stage = 'AWSCURRENT'): string | undefined {
    return [...this.find(name).versions.values()].find((v) => v.stages.has(stage))?.value;
  }

  /** Values of every live stage (what the ingress reads). */
  liveValues(name: string): string[] {
    return ['AWSCURRENT', 'AWSPENDING', 'AWSPREVIOUS']
      .map((stage) => this.value(name, stage))
      .filter((v): v is string => v !== undefined);
  }

  /** Version id → sorted labels, for the versions that have labels (DescribeSecret's VersionIdsToStages). */
  stagesOf(name: string): Record<string, string[]> {
    const map: Record<string, string[]> = {};
    for (const [id, v] of this.find(name).versions) if (v.stages.size > 0) map[id] = [...v.stages].sort();
    return map;
  }

  /**
   * Stages a rotation as RotateSecret does: a new version `token` labelled AWSPENDING, without a
   * value. Refused (InvalidRequestException) while AWSPENDING sits on a version that is not AWSCURRENT.
   */
  stageRotation(name: string, token: string = randomUUID()): string {
    const s = this.find(name);
    const pending = this.holderOf(s, 'AWSPENDING');
    if (pending !== undefined && !s.versions.get(pending)?.stages.has('AWSCURRENT')) {
      throw new InvalidRequestException({
        ...meta,
        message: "A previous rotation isn't complete. That rotation will be reattempted.",
      });
    }
    if (!s.versions.has(token)) s.versions.set(token, { value: undefined, stages: new Set(), created: new Date(this.now()) });
    this.attach(s, 'AWSPENDING', token);
    return token;
  }

  /** Runs the rotation function for every RotateSecret call on `name` (in the background). */
  onRotation(name: string, handler: RotationHandler): void {
    this.rotationHandlers.set(name, handler);
  }

  /** Resolves once every rotation RotateSecret started has ended (see {@link rotationErrors}). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  /**
   * Runs a whole rotation like the service: stage a token, then call the four steps in order,
   * retrying a failed step (same token) up to `maxTries` times. Like the service, it leaves the
   * labels as the rotation function left them (AWSPENDING stays unless the function removes it).
   */
  async rotate(
    name: string,
    handler: RotationHandler,
    options: { maxTries?: number; token?: string; onStepError?: (step: string, err: unknown) => void } = {},
  ): Promise<{ token: string; stepTries: Record<string, number> }> {
    const token = this.stageRotation(name, options.token);
    const stepTries = await this.runSteps(name, token, handler, options);
    return { token, stepTries };
  }

  private async runSteps(
    name: string,
    token: string,
    handler: RotationHandler,
    options: { maxTries?: number; onStepError?: (step: string, err: unknown) => void },
  ): Promise<Record<string, number>> {
    const stepTries: Record<string, number> = {};
    for (const step of STEPS) {
      for (let attempt = 1; ; attempt++) {
        stepTries[step] = attempt;
        try {
          await handler({ SecretId: this.find(name).arn, ClientRequestToken: token, Step: step });
          break;
        } catch (err) {
          options.onStepError?.(step, err);
          if (attempt >= (options.maxTries ?? 3)) throw err;
        }
      }
    }
    return stepTries;
  }

  /** Attaches `stage` to version `to`, taking it from whichever version held it (AWSCURRENT leaves AWSPREVIOUS behind). */
  private attach(s: FakeSecret, stage: string, to: string): void {
    const holder = this.holderOf(s, stage);
    if (holder !== undefined && holder !== to) {
      s.versions.get(holder)?.stages.delete(stage);
      if (stage === 'AWSCURRENT') {
        for (const v of s.versions.values()) v.stages.delete('AWSPREVIOUS');
        s.versions.get(holder)?.stages.add('AWSPREVIOUS');
      }
    }
    s.versions.get(to)?.stages.add(stage);
  }

  private holderOf(s: FakeSecret, stage: string): string | undefined {
    for (const [id, v] of s.versions) if (v.stages.has(stage)) return id;
    return undefined;
  }

  private refuseIfDeleted(s: FakeSecret): void {
    if (s.deletedDate) {
      throw new InvalidRequestException({
        ...meta,
        message: "You can't perform this operation on the secret because it was marked for deletion.",
      });
    }
  }

  private arnOf(name: string): string {
    return `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
  }

  private find(id: string | undefined): FakeSecret {
    for (const s of this.secrets.values()) if (s.name === id || s.arn === id) return s;
    throw new ResourceNotFoundException({ ...meta, message: "Secrets Manager can't find the specified secret." });
  }
}

/** The error AWS answers for a request that breaks the API model's constraints (not a modelled exception). */
function validationError(message: string): SecretsManagerServiceException {
  return new SecretsManagerServiceException({ ...meta, name: 'ValidationException', $fault: 'client', message });
}
