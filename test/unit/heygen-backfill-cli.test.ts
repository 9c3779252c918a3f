/**
 * Issue 19, finding 6 (the CLI's part): `heygen-relay backfill` reads the stack's dedup window
 * (output DedupWindowSeconds) instead of assuming 48 h, refuses a --since it cannot honour safely
 * with one line on stderr before any call, and lets an operator who accepts second copies say so
 * (--allow-duplicates). The publishing itself runs against moto in test/integration/backfill-lambda.test.ts.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { backfillSince, formatDuration } from '../../bin/commands/backfill-run.js';
import { type CliIo, main } from '../../bin/commands/program.js';
import { FAKE_API_KEY } from '../fakes/heygen-api.js';
import { useFakeHeyGenServer } from '../support/fake-heygen.js';

const HOUR = 3_600_000;
const URL_A = 'https://abc123.lambda-url.eu-west-1.on.aws/heygen';

function stackOutputs(windowSeconds?: number) {
  return {
    Stacks: [
      {
        StackName: 'Relay',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE' as const,
        Outputs: [
          { OutputKey: 'RelayHeyGenWebhookUrl1A2B3C4D', OutputValue: URL_A },
          { OutputKey: 'RelaySigningSecretArnDEADBEEF', OutputValue: 'arn:aws:secretsmanager:us-east-1:1:secret:s-AbC' },
          { OutputKey: 'RelayDedupTableName', OutputValue: 'dedup' },
          { OutputKey: 'RelayEventBusName', OutputValue: 'bus' },
          { OutputKey: 'RelayStateTableName', OutputValue: 'state' },
          ...(windowSeconds ? [{ OutputKey: 'RelayDedupWindowSeconds', OutputValue: String(windowSeconds) }] : []),
        ],
      },
    ],
  };
}

describe('CLI: heygen-relay backfill reads the relay dedup window', () => {
  const hg = useFakeHeyGenServer();
  let out: string[];
  let errs: string[];
  let ddbCalls: number;
  beforeEach(() => {
    out = [];
    errs = [];
    ddbCalls = 0;
  });
  const io = (): CliIo => ({
    env: { HEYGEN_API_KEY: FAKE_API_KEY, HEYGEN_API_URL: hg.fake.url },
    out: (l) => out.push(l),
    err: (l) => errs.push(l),
    cloudFormation: () => new CloudFormationClient({ region: 'us-east-1' }),
    dynamoDb: () => {
      ddbCalls++;
      return new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9' });
    },
  });
  const withStack = async <T>(windowSeconds: number | undefined, f: () => Promise<T>): Promise<T> => {
    const cf = mockClient(CloudFormationClient);
    try {
      cf.on(DescribeStacksCommand).resolves(stackOutputs(windowSeconds));
      return await f();
    } finally {
      cf.restore();
    }
  };

  it('with a 12 h dedup window, --since 72h is refused with one line on stderr (exit 64) before any call to HeyGen or DynamoDB', async () => {
    hg.fake.seedEndpoint(URL_A);
    const code = await withStack(12 * 3600, () => main(['backfill', '--stack', 'Relay', '--since', '72h'], io()));
    expect(code).toBe(64);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(
      /--since 72h reaches past the relay's dedup window \(12h\).*use --since 11h45m, or add --allow-duplicates/,
    );
    expect(hg.fake.requests).toEqual([]);
    expect(ddbCalls).toBe(0);
    expect(out).toEqual([]);
  });

  it('a stack without the DedupWindowSeconds output: asks for --dedup-window instead of assuming 48 h', async () => {
    const code = await withStack(undefined, () => main(['backfill', '--stack', 'Relay', '--since', '24h'], io()));
    expect(code).toBe(64);
    expect(errs.join('\n')).toMatch(/pass --dedup-window, e\.g\. --dedup-window 48h/);
    expect(hg.fake.requests).toEqual([]);
  });

  it('without --since it reaches back the window less 15 min (11h45m with 12 h, not 48 h); --allow-duplicates lets a longer --since through', () => {
    const now = Date.parse('2026-12-07T12:00:00Z');
    expect(backfillSince({ since: undefined, windowMs: 12 * HOUR, now })).toBe(now - 11.75 * HOUR);
    expect(backfillSince({ since: '11h45m', windowMs: 12 * HOUR, now })).toBe(now - 11.75 * HOUR);
    expect(() => backfillSince({ since: '12h', windowMs: 12 * HOUR, now })).toThrow(RangeError);
    expect(backfillSince({ since: '72h', windowMs: 12 * HOUR, allowDuplicates: true, now })).toBe(now - 72 * HOUR);
    expect(backfillSince({ since: undefined, windowMs: 48 * HOUR, now })).toBe(now - 47.75 * HOUR);
    expect(formatDuration(47.75 * HOUR)).toBe('47h45m');
    expect(formatDuration(72 * HOUR)).toBe('3d');
  });

  it('an endpoint HeyGen does not list at our URL: refused (nothing in the history can be shown to be ours)', async () => {
    hg.fake.seedEndpoint('https://someone-else.example.com/hooks');
    const code = await withStack(48 * 3600, () => main(['backfill', '--stack', 'Relay'], io()));
    expect(code).toBe(64);
    expect(errs.join('\n')).toMatch(/HeyGen lists no endpoint at https:\/\/abc123/);
    expect(ddbCalls).toBe(0);
  });
});

describe('Cost model: the backfill row (scripts/bench/lib/cost.ts)', () => {
  it("prices a stranger's one bad request a second at nothing for the backfill (dfd2de7: a sweep every run, 24 Scans a day)", async () => {
    const { backfillDayReads } = await import('../../scripts/bench/lib/cost.js');
    for (const [d, h] of [
      [100, 48],
      [21, 720],
    ] as const) {
      expect(backfillDayReads(d, true, 'now', h)).toEqual(backfillDayReads(d, false, 'now', h));
      expect(backfillDayReads(d, true, 'now', h).scans).toBe(0);
      expect(backfillDayReads(d, true, 'dfd2de7', h).scans).toBe(24);
    }
    // Issue 19's quiet account (15,000 entries listed): dfd2de7 walked ~3,600 pages a day with the stranger.
    expect(backfillDayReads(21, true, 'dfd2de7', 720).pages).toBeGreaterThan(3_500);
    expect(backfillDayReads(21, true, 'now', 720).pages).toBeLessThan(100);
  });
});
