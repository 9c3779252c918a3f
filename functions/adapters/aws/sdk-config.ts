import { NodeHttpHandler } from '@smithy/node-http-handler';

/** Per-attempt timeouts and retries, budgeted so a hanging dependency cannot hold the answer. */
export interface SdkBudget {
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly maxAttempts: number;
}

export const INGRESS_SDK_BUDGET: SdkBudget = { connectionTimeoutMs: 1_000, requestTimeoutMs: 2_000, maxAttempts: 3 };

/**
 * Client configuration shared by every SDK client of a function. The endpoint comes from the SDK's
 * own `AWS_ENDPOINT_URL*` variables when set (emulators), so there is no custom override here.
 */
export function sdkClientConfig(budget: SdkBudget = INGRESS_SDK_BUDGET) {
  return {
    maxAttempts: budget.maxAttempts,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: budget.connectionTimeoutMs,
      requestTimeout: budget.requestTimeoutMs,
      // Without this, @smithy/node-http-handler 4.x only warns on requestTimeout and keeps waiting.
      throwOnRequestTimeout: true,
    }),
  };
}
