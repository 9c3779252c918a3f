/**
 * The local relay: the Lambda's handler with local adapters (in-memory dedup, a JSON-lines file
 * sink instead of the bus, secrets from the environment). Used by `npm start`, tests and benchmarks.
 */

import type { Server } from 'node:http';
import { dirname, join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { createIngress, type ProviderRoute } from '../../core/ingress.js';
import type { DedupMode, EventPublisher } from '../../core/ports.js';
import { createIngressHandler } from '../../ingress-handler.js';
import { logger as defaultLogger, metrics as defaultMetrics, powertoolsTelemetry } from '../../observability.js';
import { answerBudgetMs, getProvider } from '../../providers/index.js';
import { FileSinkPublisher } from './file-sink.js';
import { createFunctionUrlServer } from './http-server.js';
import { MemoryDedupStore } from './memory-dedup.js';
import { DirectoryParkedStore } from './parked-dir.js';
import { StaticKeySource } from './static-keys.js';

export interface LocalProvider {
  readonly name: string;
  /** Secrets accepted for this provider (several during a rotation). */
  readonly secrets: readonly string[];
  /** @default `/${name}` */
  readonly path?: string;
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
  readonly keys: ReadonlyMap<string, StaticKeySource>;
  close(): Promise<void>;
}

export function buildLocalHandler(options: LocalRelayOptions) {
  const logger = options.logger ?? defaultLogger;
  const metrics = options.metrics ?? defaultMetrics;
  const maxBodyBytes = options.maxBodyBytes ?? 256 * 1024;
  // One store per dedup mode in use (keys carry the provider, so providers never collide).
  const stores = new Map<DedupMode, MemoryDedupStore>();
  const dedupFor = (mode: DedupMode) => {
    let store = stores.get(mode);
    if (!store) {
      store = new MemoryDedupStore({ windowSeconds: options.dedupWindowSeconds ?? 48 * 3600, lockSeconds: 15, mode });
      stores.set(mode, store);
    }
    return store;
  };
  const keys = new Map<string, StaticKeySource>();
  const routes: ProviderRoute[] = options.providers.map((p) => {
    const provider = getProvider(p.name);
    const source = new StaticKeySource(p.secrets, 'local', (label, reason) =>
      logger.warn('Signing secret refused as a key; set a real one (it is never logged)', { provider: p.name, label, reason }),
    );
    keys.set(p.name, source);
    return {
      provider,
      path: p.path ?? `/${p.name}`,
      keys: source,
      timestampToleranceSeconds: p.timestampToleranceSeconds ?? provider.defaultTimestampToleranceSeconds,
      budgetMs: answerBudgetMs(provider),
      ...(p.acceptSubpaths ? { acceptSubpaths: true } : {}),
      dedup: dedupFor(p.dedupMode ?? provider.defaultDedupMode),
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
