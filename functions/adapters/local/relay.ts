/**
 * The local relay: the Lambda's handler with local adapters (in-memory dedup, a JSON-lines file
 * sink instead of the bus, secrets from the environment). Used by `npm start`, tests and benchmarks.
 */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { answerBudgetMs } from '../../../providers/runtime.js';
import { createIngress, type ProviderRoute } from '../../core/ingress.js';
import type { DedupMode, EventPublisher } from '../../core/ports.js';
import { routeProvider } from '../../wiring/ingress-config.js';
import { createIngressHandler } from '../../wiring/ingress-handler.js';
import { logger as defaultLogger, metrics as defaultMetrics, powertoolsTelemetry } from '../../wiring/observability.js';
import { FileSinkPublisher } from './file-sink.js';
import { createFunctionUrlServer } from './http-server.js';
import { MemoryDedupStore } from './memory-dedup.js';
import { DirectoryParkedStore } from './parked-dir.js';
import { StaticKeySource } from './static-keys.js';

export interface LocalProvider {
  /** The provider plug-in (`heygen`, `joggai`, `standard-webhooks`). */
  readonly name: string;
  /**
   * The source's id when several sources use one provider (two HeyGen accounts, two Standard
   * Webhooks senders): the envelope's `source`, the logs' label, the key of `LocalRelay.keys`.
   * @default name
   */
  readonly source?: string;
  /** Secrets accepted for this provider (several during a rotation). */
  readonly secrets: readonly string[];
  /** @default `/${source ?? name}` */
  readonly path?: string;
  /** The plug-in's options (a Standard Webhooks body rule), as RELAY_PROVIDERS `options`. @default none */
  readonly options?: Readonly<Record<string, unknown>>;
  /** @default the provider's default */
  readonly timestampToleranceSeconds?: number;
  /** Also accept `<path>/<segment>`. @default false */
  readonly acceptSubpaths?: boolean;
  /** @default the provider's `defaultDedupMode` */
  readonly dedupMode?: DedupMode;
}

export interface LocalRelayOptions {
  readonly providers: readonly LocalProvider[];
  /** JSON-lines file every published event is appended to. */
  readonly sinkPath: string;
  /** Replaces the file sink (tests, benchmarks). */
  readonly publisher?: EventPublisher;
  readonly onPublish?: (line: string) => void;
  /** Directory for parked deliveries (signed, but EventBridge could never take them). @default `parked/` next to the sink */
  readonly parkedDir?: string;
  readonly maxBodyBytes?: number;
  readonly dedupWindowSeconds?: number;
  readonly port?: number;
  readonly host?: string;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
}

export interface LocalRelay {
  readonly url: string;
  readonly server: Server;
  /** Each source's keys (by `source ?? name`), to swap them like a rotation. */
  readonly keys: ReadonlyMap<string, StaticKeySource>;
  close(): Promise<void>;
}

export function buildLocalHandler(options: LocalRelayOptions) {
  const logger = options.logger ?? defaultLogger;
  const metrics = options.metrics ?? defaultMetrics;
  const maxBodyBytes = options.maxBodyBytes ?? 256 * 1024;
  // One store per source: two senders of one provider (two Standard Webhooks senders with
  // sequential ids, two HeyGen accounts) never see each other's deliveries as duplicates.
  const stores = new Map<string, MemoryDedupStore>();
  const dedupFor = (source: string, mode: DedupMode) => {
    let store = stores.get(source);
    if (!store) {
      store = new MemoryDedupStore({ windowSeconds: options.dedupWindowSeconds ?? 48 * 3600, lockSeconds: 15, mode });
      stores.set(source, store);
    }
    return store;
  };
  const keys = new Map<string, StaticKeySource>();
  const routes: ProviderRoute[] = options.providers.map((p) => {
    const provider = routeProvider({
      name: p.name,
      ...(p.source ? { source: p.source } : {}),
      ...(p.options ? { options: p.options } : {}),
    });
    const id = p.source ?? p.name;
    const source = new StaticKeySource(
      p.secrets,
      'local',
      (label, reason) =>
        logger.warn('Signing secret refused as a key; set a real one (it is never logged)', { provider: id, label, reason }),
      provider.secretProblem,
    );
    keys.set(id, source);
    return {
      provider,
      ...(p.source ? { source: p.source } : {}),
      path: p.path ?? `/${id}`,
      keys: source,
      timestampToleranceSeconds: p.timestampToleranceSeconds ?? provider.defaultTimestampToleranceSeconds,
      budgetMs: answerBudgetMs(provider),
      ...(p.acceptSubpaths ? { acceptSubpaths: true } : {}),
      dedup: dedupFor(id, p.dedupMode ?? provider.defaultDedupMode),
    };
  });
  const handler = createIngressHandler({
    pipeline: createIngress({
      routes,
      maxBodyBytes,
      publisher: options.publisher ?? new FileSinkPublisher(options.sinkPath, options.onPublish),
      parked: new DirectoryParkedStore(options.parkedDir ?? join(dirname(options.sinkPath), 'parked')),
      telemetry: powertoolsTelemetry(logger, metrics),
    }),
    maxBodyBytes,
    logger,
    metrics,
  });
  return { handler, keys, dedupStores: [...stores.values()], maxBodyBytes };
}

export async function startLocalRelay(options: LocalRelayOptions): Promise<LocalRelay> {
  const { handler, keys, dedupStores, maxBodyBytes } = buildLocalHandler(options);
  const server = createFunctionUrlServer(handler, maxBodyBytes);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const sweeper = setInterval(() => {
    for (const store of dedupStores) store.sweep();
  }, 60_000);
  sweeper.unref();
  return {
    url: `http://${host}:${port}`,
    server,
    keys,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweeper);
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
