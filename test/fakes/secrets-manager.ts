/**
 * An in-memory Secrets Manager behind aws-sdk-client-mock, modelling versions and staging labels
 * the way rotation depends on them:
 * - PutSecretValue: new version (AWSCURRENT by default; the old current becomes AWSPREVIOUS);
 *   with a ClientRequestToken it is idempotent for the same value and fails for another;
 * - RotateSecret / {@link FakeSecretsManager.rotate}: stages a new token as AWSPENDING (no value
 *   yet) and runs the four steps against a rotation handler, retrying a failed step with the same
 *   token like the service does;
 * - UpdateSecretVersionStage: moves AWSCURRENT (the old one becomes AWSPREVIOUS); with only
 *   RemoveFromVersionId it removes a label (not AWSCURRENT).
 */
import { randomUUID } from 'node:crypto';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidParameterException,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
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
}

const meta = { $metadata: {} };

export type RotationHandler = (event: { SecretId: string; ClientRequestToken: string; Step: string }) => Promise<unknown>;

export class FakeSecretsManager {
  readonly client: SecretsManagerClient;
  readonly mock: AwsClientStub<SecretsManagerClient>;
  readonly secrets = new Map<string, FakeSecret>();
  /** Every command name in order, for assertions. */
  readonly calls: string[] = [];
  /** Errors to throw from the next calls of a command (e.g. a crash before PutSecretValue lands). */
  private readonly failures = new Map<string, Error[]>();

  /** @param allInstances mock every SecretsManagerClient (for code that builds its own client). */
  constructor(allInstances = false) {
    this.client = new SecretsManagerClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'y' },
    });
    this.mock = allInstances ? mockClient(SecretsManagerClient) : mockClient(this.client);
    this.mock.on(DescribeSecretCommand).callsFake(async (input) => {
      this.calls.push('DescribeSecret');
      this.maybeFail('DescribeSecret');
      const s = this.find(input.SecretId);
      const map: Record<string, string[]> = {};
      for (const [id, v] of s.versions) if (v.stages.size > 0) map[id] = [...v.stages];
      return { ARN: s.arn, Name: s.name, RotationEnabled: s.rotationEnabled, VersionIdsToStages: map };
    });
    this.mock.on(GetSecretValueCommand).callsFake(async (input) => {
      this.calls.push('GetSecretValue');
      this.maybeFail('GetSecretValue');
      const s = this.find(input.SecretId);
      const stage = input.VersionStage ?? (input.VersionId ? undefined : 'AWSCURRENT');
      let id = input.VersionId;
      if (id === undefined) id = [...s.versions].find(([, v]) => stage !== undefined && v.stages.has(stage))?.[0];
      const v = id !== undefined ? s.versions.get(id) : undefined;
      if (!v || v.value === undefined || (stage !== undefined && !v.stages.has(stage))) {
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
      this.calls.push('PutSecretValue');
      this.maybeFail('PutSecretValue');
      const s = this.find(input.SecretId);
      const token = input.ClientRequestToken ?? randomUUID();
      const value = input.SecretString ?? '';
      const existing = s.versions.get(token);
      if (existing?.value !== undefined) {
        if (existing.value !== value) {
          throw new ResourceExistsException({
            ...meta,
            message: 'A version with this token already exists with another value.',
          });
        }
        return { ARN: s.arn, Name: s.name, VersionId: token, VersionStages: [...existing.stages] };
      }
      const stages = input.VersionStages ?? ['AWSCURRENT'];
      for (const stage of stages) this.moveStage(s, stage, token);
      const v = s.versions.get(token) ?? { value: undefined, stages: new Set<string>(), created: new Date() };
      v.value = value;
      for (const stage of stages) v.stages.add(stage);
      s.versions.set(token, v);
      return { ARN: s.arn, Name: s.name, VersionId: token, VersionStages: [...v.stages] };
    });
    this.mock.on(UpdateSecretVersionStageCommand).callsFake(async (input) => {
      this.calls.push('UpdateSecretVersionStage');
      this.maybeFail('UpdateSecretVersionStage');
      const s = this.find(input.SecretId);
      const stage = input.VersionStage as string;
      const holder = [...s.versions].find(([, v]) => v.stages.has(stage))?.[0];
      if (holder !== undefined && holder !== input.MoveToVersionId && holder !== input.RemoveFromVersionId) {
        throw new InvalidParameterException({
          ...meta,
          message: `The staging label ${stage} is attached to ${holder}.`,
        });
      }
      if (!input.MoveToVersionId && input.RemoveFromVersionId !== undefined) {
        // Removing a label without moving it (allowed for any label but AWSCURRENT).
        const v = s.versions.get(input.RemoveFromVersionId);
        if (stage === 'AWSCURRENT' || !v?.stages.has(stage)) {
          throw new InvalidParameterException({ ...meta, message: `Cannot remove ${stage} from ${input.RemoveFromVersionId}.` });
        }
        v.stages.delete(stage);
        return { ARN: s.arn, Name: s.name };
      }
      if (!input.MoveToVersionId || !s.versions.has(input.MoveToVersionId)) {
        throw new InvalidParameterException({ ...meta, message: 'MoveToVersionId does not exist.' });
      }
      this.moveStage(s, stage, input.MoveToVersionId);
      s.versions.get(input.MoveToVersionId)?.stages.add(stage);
      return { ARN: s.arn, Name: s.name };
    });
  }

  /** Makes the next call of `command` (e.g. 'PutSecretValue') throw `error` without any effect. */
  failNext(command: string, error: Error): void {
    const list = this.failures.get(command) ?? [];
    list.push(error);
    this.failures.set(command, list);
  }

  private maybeFail(command: string): void {
    const err = this.failures.get(command)?.shift();
    if (err) throw err;
  }

  /** Creates a secret with an initial AWSCURRENT value. */
  create(name: string, value: string, rotationEnabled = true): string {
    const arn = `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    const versions = new Map<string, Version>([[randomUUID(), { value, stages: new Set(['AWSCURRENT']), created: new Date() }]]);
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

  /** Stages a rotation: a new token labelled AWSPENDING without a value (as RotateSecret does). */
  stageRotation(name: string, token: string = randomUUID()): string {
    const s = this.find(name);
    const pendingHolder = [...s.versions].find(([, v]) => v.stages.has('AWSPENDING') && !v.stages.has('AWSCURRENT'));
    if (pendingHolder) {
      throw new InvalidRequestException({ ...meta, message: "A previous rotation isn't complete." });
    }
    s.versions.set(token, { value: undefined, stages: new Set(['AWSPENDING']), created: new Date() });
    return token;
  }

  /**
   * Runs a whole rotation like the service: stage a token, then call the four steps in order,
   * retrying a failed step (same token) up to `maxTries` times. Finally drops AWSPENDING.
   */
  async rotate(
    name: string,
    handler: RotationHandler,
    options: { maxTries?: number; token?: string; onStepError?: (step: string, err: unknown) => void } = {},
  ): Promise<{ token: string; stepTries: Record<string, number> }> {
    const token = this.stageRotation(name, options.token);
    const stepTries: Record<string, number> = {};
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
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
    this.find(name).versions.get(token)?.stages.delete('AWSPENDING');
    return { token, stepTries };
  }

  private moveStage(s: FakeSecret, stage: string, to: string): void {
    for (const [id, v] of s.versions) {
      if (id !== to && v.stages.has(stage)) {
        v.stages.delete(stage);
        if (stage === 'AWSCURRENT') {
          for (const other of s.versions.values()) other.stages.delete('AWSPREVIOUS');
          v.stages.add('AWSPREVIOUS');
        }
      }
    }
  }

  private find(id: string | undefined): FakeSecret {
    for (const s of this.secrets.values()) if (s.name === id || s.arn === id) return s;
    throw new ResourceNotFoundException({ ...meta, message: "Secrets Manager can't find the specified secret." });
  }
}
