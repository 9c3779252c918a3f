/**
 * JoggAI v2 webhook-endpoint management (providers/joggai/runtime/api/openapi.yaml):
 * GET /v2/endpoints, POST /v2/endpoint, PUT /v2/endpoint/{id} (full replace), DELETE /v2/endpoint/{id}.
 * Auth `x-api-key`; every answer is `{code, msg, data}` with code 0 = success. Messages of errors
 * carry JoggAI's `msg`, never the key or a secret.
 */
import { JoggAiApiError, joggAiError } from './errors.js';

export type EndpointStatus = 'enabled' | 'disabled';

export interface JoggAiEndpoint {
  readonly endpoint_id: string;
  readonly url: string;
  /** JoggAI returns the secret on create and in the list (it cannot be changed). */
  readonly secret: string;
  readonly status: EndpointStatus;
  readonly events: readonly string[];
  readonly username?: string;
  readonly created_at?: number;
}

export interface EndpointInput {
  readonly url: string;
  readonly status: EndpointStatus;
  readonly events: readonly string[];
}

/** The port the registrar and rotation use. */
export interface JoggAiWebhookApi {
  listEndpoints(signal?: AbortSignal): Promise<JoggAiEndpoint[]>;
  createEndpoint(input: EndpointInput, signal?: AbortSignal): Promise<JoggAiEndpoint>;
  updateEndpoint(id: string, input: EndpointInput, signal?: AbortSignal): Promise<JoggAiEndpoint>;
  deleteEndpoint(id: string, signal?: AbortSignal): Promise<void>;
}

/** JoggAI's documented limit of webhook endpoints per user. */
export const JOGGAI_ENDPOINT_LIMIT = 20;

export interface JoggAiClientOptions {
  readonly apiKey: string;
  /** @default https://api.jogg.ai */
  readonly baseUrl?: string;
  /** Per-request timeout. @default 10_000 */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

export class JoggAiClient implements JoggAiWebhookApi {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: JoggAiClientOptions) {
    this.baseUrl = (options.baseUrl ?? 'https://api.jogg.ai').replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  async listEndpoints(signal?: AbortSignal): Promise<JoggAiEndpoint[]> {
    const data = await this.call<{ endpoints?: JoggAiEndpoint[] | null }>('GET', '/v2/endpoints', undefined, signal);
    return [...(data?.endpoints ?? [])];
  }

  createEndpoint(input: EndpointInput, signal?: AbortSignal): Promise<JoggAiEndpoint> {
    return this.call<JoggAiEndpoint>('POST', '/v2/endpoint', input, signal).then(requireEndpoint);
  }

  updateEndpoint(id: string, input: EndpointInput, signal?: AbortSignal): Promise<JoggAiEndpoint> {
    return this.call<JoggAiEndpoint>('PUT', `/v2/endpoint/${encodeURIComponent(id)}`, input, signal).then(requireEndpoint);
  }

  async deleteEndpoint(id: string, signal?: AbortSignal): Promise<void> {
    await this.call('DELETE', `/v2/endpoint/${encodeURIComponent(id)}`, undefined, signal);
  }

  private async call<T>(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers: {
          'x-api-key': this.options.apiKey,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: combined,
      });
    } catch (err) {
      throw new JoggAiApiError(-1, `JoggAI ${method} ${path} failed: ${(err as Error).name}`, 0, { cause: err });
    }
    const text = await res.text();
    let envelope: { code?: unknown; msg?: unknown; data?: unknown };
    try {
      envelope = JSON.parse(text) as typeof envelope;
    } catch {
      throw new JoggAiApiError(-1, `JoggAI ${method} ${path}: HTTP ${res.status}, not a JSON envelope`, res.status);
    }
    if (typeof envelope.code !== 'number')
      throw new JoggAiApiError(-1, `JoggAI ${method} ${path}: HTTP ${res.status}, no code in the answer`, res.status);
    if (envelope.code !== 0)
      throw joggAiError(
        envelope.code,
        `JoggAI ${method} ${path}: ${envelope.code} ${String(envelope.msg ?? '').slice(0, 200)}`,
        res.status,
      );
    return envelope.data as T;
  }
}

function requireEndpoint(e: JoggAiEndpoint | undefined): JoggAiEndpoint {
  if (!e || typeof e.endpoint_id !== 'string' || typeof e.secret !== 'string')
    throw new JoggAiApiError(-1, 'JoggAI answered without an endpoint', 200);
  return e;
}
