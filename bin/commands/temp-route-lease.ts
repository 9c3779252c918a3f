/**
 * The temporary routes (rule + queue, functions/adapters/aws/temp-routes.ts) that `listen` and
 * `replay` hold while they run: created on the bus, renewed every third of their TTL so a sweep
 * leaves them alone, removed when the command ends. A killed process leaves them to expire; the
 * next listen, replay or status, or the relay's sweeper Lambda, removes them.
 */
import {
  createTempRoute,
  removeTempRoute,
  renewTempRoute,
  sweepTempRoutes,
  type TempKind,
  type TempRoute,
} from '../../functions/adapters/aws/temp-routes.js';
import type { Ctx } from './shared.js';

/** Removes the bus's expired temporary routes (leftovers of a dead listen/replay); returns their names. */
export async function sweepLeftovers(ctx: Ctx, busName: string): Promise<string[]> {
  return (await sweepTempRoutes(ctx, busName)).removed;
}

export class TempRouteLease {
  readonly routes: TempRoute[] = [];
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly ctx: Ctx,
    private readonly busName: string,
    private readonly kind: TempKind,
    readonly ttlSeconds: number,
  ) {}

  /** Creates one more route with this event pattern. */
  async add(pattern: Record<string, unknown>): Promise<TempRoute> {
    const route = await createTempRoute(this.ctx, {
      busName: this.busName,
      kind: this.kind,
      pattern,
      ttlSeconds: this.ttlSeconds,
    });
    this.routes.push(route);
    return route;
  }

  /** Renews every route each third of the TTL (at least a second apart) until `release`; a failed renewal goes to `onError`. */
  keepAlive(onError: (route: TempRoute, err: Error) => void = () => undefined): void {
    this.heartbeat = setInterval(
      () => {
        for (const route of this.routes)
          renewTempRoute(this.ctx, route, this.ttlSeconds).catch((err: Error) => onError(route, err));
      },
      Math.max(1000, (this.ttlSeconds * 1000) / 3),
    );
    this.heartbeat.unref();
  }

  /** Stops renewing and removes every route (each one tried); throws the first removal's failure. */
  async release(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    const failures: unknown[] = [];
    for (const route of this.routes) await removeTempRoute(this.ctx, route).catch((err: unknown) => failures.push(err));
    if (failures.length > 0) throw failures[0];
  }
}
