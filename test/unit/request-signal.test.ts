/**
 * core/request-signal.ts: the ingress's per-request deadline signal is a light AbortSignal (Node's
 * own cost about 3.5 µs a request, issue #20). Everything the ingress's ports do with a signal must
 * work on it as on Node's: the listeners and `onabort`, `reason`, `throwIfAborted`, Node's APIs that
 * take a signal, core/abortable.ts, and the AWS SDK's HTTP handler (a hanging call is cut short).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { abortable } from '../../functions/core/abortable.js';
import { RequestController } from '../../functions/core/request-signal.js';

describe('RequestController', () => {
  it('is an AbortSignal that aborts once: state first, then onabort and each listener (once, removable)', () => {
    const c = new RequestController();
    const { signal } = c;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal.aborted).toBe(false);
    expect(signal.reason).toBeUndefined();
    expect(() => signal.throwIfAborted()).not.toThrow();
    const seen: string[] = [];
    signal.onabort = (ev) => seen.push(`onabort:${ev.type}:${signal.aborted}`);
    signal.addEventListener('abort', () => seen.push(`once:${String(signal.reason)}`), { once: true });
    const removed = () => seen.push('removed');
    signal.addEventListener('abort', removed);
    signal.removeEventListener('abort', removed);
    c.abort('deadline');
    c.abort('again');
    expect(seen).toEqual(['onabort:abort:true', 'once:deadline']);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe('deadline');
    expect(() => signal.throwIfAborted()).toThrow('deadline');
  });

  it('aborts with an AbortError when no reason is given, as AbortController does', () => {
    const c = new RequestController();
    c.abort();
    expect((c.signal.reason as Error).name).toBe('AbortError');
    expect(c.signal.reason).toBeInstanceOf(DOMException);
  });

  it('cuts short core/abortable, node:timers/promises and events.once', async () => {
    const c = new RequestController();
    const hanging = new Promise<never>(() => {});
    const a = abortable(hanging, c.signal);
    const b = sleep(60_000, undefined, { signal: c.signal });
    const e = once(new EventTarget(), 'never', { signal: c.signal });
    c.abort(new Error('deadline'));
    await expect(a).rejects.toThrow('deadline');
    await expect(b).rejects.toMatchObject({ name: 'AbortError' });
    await expect(e).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('RequestController with the AWS SDK', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('aborts a DynamoDB call that hangs (the SDK listens on the signal)', async () => {
    // A server that takes the request and never answers.
    server = createServer(() => {});
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const c = new RequestController();
    const started = Date.now();
    const call = client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'k' } } }), { abortSignal: c.signal });
    setTimeout(() => c.abort(new Error('deadline')), 100);
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(5_000);
    client.destroy();
  });
});
