/**
 * Issue 23: a message on the archive queue that is no relay event (not JSON, or JSON that is not an
 * envelope) can never be archived. handleArchiveMessage reports it as `unreadable` with the
 * attributes it goes to the dead-letter queue with, instead of throwing (which made the entry report
 * a batch item failure: the message came back until maxReceiveCount, about 136 receives).
 */
import { describe, expect, it, vi } from 'vitest';
import { UNREADABLE_ATTRIBUTES } from '../../functions/archive/names.js';
import { handleArchiveMessage } from '../../functions/archive/queue.js';

const settings = { maxBytes: 1, retryForMs: 3_600_000, staleUploadMs: 0, backoffCapSeconds: 900 };
const ports = () => ({ depsFor: vi.fn(), publish: vi.fn(), delay: vi.fn(), now: () => 1_000 });
const record = (body: string, messageId?: string) => ({
  body,
  receiptHandle: 'rh',
  ...(messageId ? { messageId } : {}),
  attributes: { SentTimestamp: '1765100000000', ApproximateReceiveCount: '1' } as never,
});

describe('Queue: a message the archiver cannot read (issue 23)', () => {
  it('unreadable message: not JSON is returned as unreadable with the reason and the original id, receive count, sent time', async () => {
    const p = ports();
    const result = await handleArchiveMessage(record('not json {', 'm-1'), p, settings);
    expect(result).toEqual({
      status: 'unreadable',
      reason: 'Message is not JSON',
      attributes: {
        [UNREADABLE_ATTRIBUTES.reason]: { DataType: 'String', StringValue: 'Message is not JSON' },
        [UNREADABLE_ATTRIBUTES.messageId]: { DataType: 'String', StringValue: 'm-1' },
        [UNREADABLE_ATTRIBUTES.receiveCount]: { DataType: 'Number', StringValue: '1' },
        [UNREADABLE_ATTRIBUTES.sentTimestamp]: { DataType: 'Number', StringValue: '1765100000000' },
      },
    });
    // Nothing else happens to it: no archive deps asked, nothing published, no backoff set.
    expect(p.depsFor).not.toHaveBeenCalled();
    expect(p.publish).not.toHaveBeenCalled();
    expect(p.delay).not.toHaveBeenCalled();
  });

  it('unreadable message: JSON that is not a relay event names what is wrong; the body is not copied into the reason', async () => {
    const body = JSON.stringify({ 'detail-type': 'avatar_video.success', source: 'heygen', detail: { hello: 'x'.repeat(5000) } });
    const result = await handleArchiveMessage(record(body), ports(), settings);
    expect(result.status).toBe('unreadable');
    if (result.status !== 'unreadable') return;
    expect(result.reason).toMatch(/^Envelope /);
    expect(result.reason.length).toBeLessThanOrEqual(256);
    expect(result.reason).not.toContain('x'.repeat(300));
    // No message id given, none invented.
    expect(Object.keys(result.attributes)).not.toContain(UNREADABLE_ATTRIBUTES.messageId);
  });

  it('unreadable message: a reason with characters SQS refuses in an attribute is made safe', async () => {
    const body = JSON.stringify({ version: '1\u0001' });
    const result = await handleArchiveMessage(record(body), ports(), settings);
    if (result.status !== 'unreadable') throw new Error(`expected unreadable, got ${result.status}`);
    const value = result.attributes[UNREADABLE_ATTRIBUTES.reason]?.StringValue ?? '';
    expect(value).toMatch(/^Envelope version/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test looks for control characters in the value
    expect(value).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/);
  });
});
