import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthRelay } from '../support/synth.js';

describe('Bundling: the ingress as `cdk synth` builds it (esbuild, SDK bundled)', () => {
  it('produces one self-contained index.js that loads and answers an OPTIONS probe', () => {
    const { app, template } = synthRelay({}, { bundle: true });
    const assembly = app.synth();
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    const assetHash = JSON.stringify(fn?.Properties.Code).match(/([0-9a-f]{64})\.zip/)?.[1];
    expect(assetHash).toBeTruthy();
    const bundle = join(assembly.directory, `asset.${assetHash}`, 'index.js');
    expect(existsSync(bundle)).toBe(true);
    const bytes = statSync(bundle).size;
    expect(bytes).toBeGreaterThan(50_000);
    expect(bytes).toBeLessThan(2_000_000);
    // Load it in a fresh node with only the environment the construct sets (no node_modules on the path).
    const script = `
      const { handler } = require(${JSON.stringify(bundle)});
      handler({ rawPath: '/heygen', headers: {}, body: '', isBase64Encoded: false,
        requestContext: { http: { method: 'OPTIONS' }, requestId: 'r' } },
        { awsRequestId: 'r', functionName: 'f', getRemainingTimeInMillis: () => 10000 })
        .then((r) => { process.stdout.write(JSON.stringify(r)); });`;
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: assembly.directory,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        RELAY_PROVIDERS: JSON.stringify([
          {
            name: 'heygen',
            path: '/heygen',
            secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:s',
            timestampToleranceSeconds: 300,
          },
        ]),
        EVENT_BUS_NAME: 'bus',
        DEDUP_TABLE_NAME: 'table',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
      encoding: 'utf8',
    });
    const result = JSON.parse(out.slice(out.indexOf('{"statusCode"')));
    expect(result.statusCode).toBe(200);
  }, 120_000);
});
