/**
 * Names of the CLI's temporary listen/replay routes (functions/adapters/aws/temp-routes.ts), shared
 * with the construct that scopes the sweeper's IAM policy by them. No imports: safe for CDK code.
 */
export type TempKind = 'listen' | 'replay';
export const TEMP_KINDS: readonly TempKind[] = ['listen', 'replay'];
/** The lease: an ISO time, renewed by the owner while it runs. */
export const EXPIRES_TAG = 'heygen-relay:expires';
/** The bus the route belongs to. */
export const BUS_TAG = 'heygen-relay:bus';
/** The name prefix of every temporary rule and queue of a kind. */
export const tempRoutePrefix = (kind: TempKind): string => `heygen-relay-${kind}-`;
