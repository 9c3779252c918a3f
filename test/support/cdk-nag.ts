/** The cdk-nag tests' shared steps: CDK validation on for their describe block, and the two packs run on an app. */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { afterAll, beforeAll, expect } from 'vitest';

/** The suite turns CDK validation off for speed; the calling describe block's tests need it on (restored after). */
export function useCdkValidation(): void {
  const saved = process.env.CDK_VALIDATION;
  beforeAll(() => {
    process.env.CDK_VALIDATION = 'true';
  });
  afterAll(() => {
    process.env.CDK_VALIDATION = saved;
  });
}

/** Synthesizes `app` with the AwsSolutions and Serverless packs: an unacknowledged finding fails the test. */
export function expectNagClean(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  expect(() => app.synth({ force: true })).not.toThrow();
}
