/**
 * The sandbox's HeyGen: the stateful, OpenAPI-validated fake of HeyGen's v3 webhook API
 * (test/fakes/heygen-api.ts: endpoints, rotate-secret, event types, the event history) served on a
 * loopback port, with a few control routes under `/_sandbox/` that stand for what happens at HeyGen's
 * end (no API key needed; loopback only):
 *
 *   POST /_sandbox/emit  {"type": "avatar_video.success", "data"?: {...}, "missed"?: true, "ago"?: "15m"}
 *        An event happens. HeyGen delivers it, signed with the endpoint's current secret, to every
 *        enabled endpoint subscribed to its type, retrying a non-2xx answer (HeyGen retries with
 *        exponential backoff for 24 h; here 6 attempts within a few seconds), and lists it in its
 *        event history. With "missed": true it is only listed, `ago` in the past (default 15m: older
 *        than the backfill's 10 min settle time), as if every delivery had failed while the relay
 *        was down. Answers what happened to each endpoint. An endpoint created after that moment
 *        is not addressed (HeyGen could not have); when none was, 409 names the oldest one's creation
 *        (the sandbox's stack is dated as deployed 1 h before start: docs/sandbox.md).
 *        With the sandbox's archive on (`--archive`), a result's sample links point at files HeyGen
 *        serves on 127.0.0.1 (scripts/sandbox/media-server.ts): the answer's `media` names them, with
 *        their sizes and SHA-256, and the video detail (GET /v3/videos/<id>) renews them.
 *   POST /_sandbox/endpoints/<id>/disable | /enable   as a user would in HeyGen's dashboard
 *   GET  /_sandbox/state  endpoints (without secrets; how many secrets each was issued), history size,
 *        delivery counts, requests that broke HeyGen's OpenAPI contract (`violations`)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseDuration } from '../../bin/commands/backfill-run.js';
import { sampleBody } from '../../bin/commands/send.js';
import { type FakeEndpoint, FakeHeyGenApi } from '../../test/fakes/heygen-api.js';
import type { SandboxMedia } from './media-server.js';

/** How HeyGen's retries are compressed here: attempts in all, backoff base (doubling, capped at 1 s by the fake). */
export const SANDBOX_DELIVERY = { maxAttempts: 6, backoffBaseMs: 250, timeoutMs: 10_000 } as const;
const DEFAULT_MISSED_AGO = '15m';

export interface SandboxHeyGen {
  readonly url: string;
  /** Its file host, when the sandbox archives. */
  readonly media?: SandboxMedia;
  readonly apiKey: string;
  readonly fake: FakeHeyGenApi;
  close(): Promise<void>;
}

type Answer = { status: number; body: unknown };

const bad = (message: string, status = 400): Answer => ({ status, body: { error: { code: 'invalid_request', message } } });

interface EmitRequest {
  type?: unknown;
  data?: unknown;
  missed?: unknown;
  ago?: unknown;
}

function subscribed(e: FakeEndpoint, type: string): boolean {
  return e.events === null || e.events.includes(type);
}

/** Result types whose sample gets a video and a thumbnail on the file host (a GIF result's `url` is a GIF). */
const RENDERED = new Set(['avatar_video.success', 'video_translate.success', 'personalized_video']);

/** The sample's files, rendered on the file host and described by the video detail; undefined without one. */
function render(fake: FakeHeyGenApi, media: SandboxMedia | undefined, type: string, data: Record<string, unknown>) {
  const id = Object.values(data).find((v): v is string => typeof v === 'string' && v.startsWith('heygen-relay-send-'));
  if (!media || !RENDERED.has(type) || !id) return undefined;
  const files = media.publish(id);
  data.url = files.video.url;
  data.thumbnail_url = files.thumbnail.url;
  fake.videos.set(id, { id, status: 'completed', video_url: files.video.url, thumbnail_url: files.thumbnail.url });
  return files;
}

async function emit(fake: FakeHeyGenApi, req: EmitRequest, media?: SandboxMedia): Promise<Answer> {
  const type = req.type;
  if (typeof type !== 'string' || !fake.eventTypes.includes(type))
    return bad(`"type" must be one of HeyGen's event types: ${fake.eventTypes.join(', ')}`);
  if (req.data !== undefined && (typeof req.data !== 'object' || req.data === null || Array.isArray(req.data)))
    return bad('"data" must be a JSON object (the event_data)');
  let agoMs = 0;
  try {
    agoMs = req.missed === true ? parseDuration(String(req.ago ?? DEFAULT_MISSED_AGO)) : 0;
  } catch {
    return bad('"ago" must be a duration like 15m or 2h');
  }
  const sample = JSON.parse(sampleBody(type)) as { event_type: string; event_data: Record<string, unknown> };
  const files = req.data === undefined ? render(fake, media, type, sample.event_data) : undefined;
  const event = { event_type: type, event_data: (req.data as Record<string, unknown> | undefined) ?? sample.event_data };
  const subscribers = [...fake.endpoints.values()].filter((e) => subscribed(e, type));
  if (subscribers.length === 0)
    return bad(`no HeyGen endpoint is subscribed to ${type}: register the relay first (heygen-relay reconcile --stack ...)`, 409);
  const at = Date.now() - agoMs;
  // A missed event in the past was addressed only to the endpoints that existed then.
  const targets = subscribers.filter((e) => req.missed !== true || Date.parse(e.created_at) <= at);
  if (targets.length === 0)
    return bad(
      `no HeyGen endpoint subscribed to ${type} existed ${String(req.ago ?? DEFAULT_MISSED_AGO)} ago (the oldest was created ${subscribers.map((e) => e.created_at).sort()[0]}): a missed event must be younger than the endpoint`,
      409,
    );
  const deliveries = [];
  for (const e of targets) {
    if (e.status === 'disabled') {
      deliveries.push({ endpoint_id: e.endpoint_id, url: e.url, delivered: false, reason: 'endpoint disabled' });
    } else if (req.missed === true) {
      const entry = fake.emit(e.endpoint_id, event, at);
      deliveries.push({ endpoint_id: e.endpoint_id, url: e.url, delivered: false, reason: 'missed', event_id: entry.event_id });
    } else {
      const r = await fake.deliver(e.endpoint_id, e.url, event, SANDBOX_DELIVERY);
      deliveries.push({
        endpoint_id: e.endpoint_id,
        url: e.url,
        delivered: r.delivered,
        attempts: r.attempts,
        statuses: r.statuses,
      });
    }
  }
  return {
    status: 200,
    body: { event_type: type, event_data: event.event_data, deliveries, ...(files ? { media: files } : {}) },
  };
}

function setStatus(fake: FakeHeyGenApi, id: string, status: 'enabled' | 'disabled'): Answer {
  const e = fake.endpoints.get(id);
  if (!e) return bad(`no endpoint ${id}`, 404);
  e.status = status;
  return { status: 200, body: { endpoint_id: id, status } };
}

function state(fake: FakeHeyGenApi): Answer {
  const endpoints = [...fake.endpoints.values()].map(({ secret: _s, ...e }) => ({
    ...e,
    secrets_issued: fake.issuedSecrets.get(e.endpoint_id)?.length ?? 0,
  }));
  const { history, stats: deliveries, violations } = fake;
  return { status: 200, body: { endpoints, history: history.length, deliveries, violations } };
}

async function control(fake: FakeHeyGenApi, media: SandboxMedia | undefined, method: string, path: string, raw: string) {
  let body: EmitRequest = {};
  try {
    body = raw === '' ? {} : (JSON.parse(raw) as EmitRequest);
  } catch {
    return bad('the body must be JSON');
  }
  if (method === 'POST' && path === '/_sandbox/emit') return emit(fake, body, media);
  const m = /^\/_sandbox\/endpoints\/([^/]+)\/(disable|enable)$/.exec(path);
  if (method === 'POST' && m) return setStatus(fake, m[1] as string, m[2] === 'disable' ? 'disabled' : 'enabled');
  if (method === 'GET' && path === '/_sandbox/state') return state(fake);
  return bad(`no sandbox route ${method} ${path}; see docs/sandbox.md`, 404);
}

async function handle(fake: FakeHeyGenApi, media: SandboxMedia | undefined, req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  const method = (req.method ?? 'GET').toUpperCase();
  const path = new URL(req.url ?? '/', 'http://sandbox').pathname;
  if (path.startsWith('/_sandbox/')) {
    const a: Answer = await control(fake, media, method, path, raw);
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(a.body));
    return;
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
  try {
    const answer = await fake.fetch(`http://sandbox${req.url ?? '/'}`, { method, headers, ...(raw ? { body: raw } : {}) });
    res.writeHead(answer.status, Object.fromEntries(answer.headers.entries()));
    res.end(Buffer.from(await answer.arrayBuffer()));
  } catch {
    req.socket.destroy(); // the fake dropped the connection
  }
}

export async function startSandboxHeyGen(apiKey: string, media?: SandboxMedia): Promise<SandboxHeyGen> {
  // validate: every request the relay and the CLI make is checked against HeyGen's OpenAPI file.
  const fake = await FakeHeyGenApi.start({ apiKey, validate: true, allowLoopbackHttp: true });
  await fake.close(); // its own socket is not used: this server fronts it
  const server: Server = createServer((req, res) => {
    handle(fake, media, req, res).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal_error', message: err.message } }));
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    apiKey,
    fake,
    ...(media ? { media } : {}),
    close: async () => {
      await media?.close();
      await new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      });
    },
  };
}
