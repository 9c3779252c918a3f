/** Init breakdown (informational): Powertools Logger + Metrics (functions/wiring/observability.ts) and the ingress handler around them (functions/wiring/ingress-handler.ts), no SDK. */
export { createIngressHandler } from '../../../functions/wiring/ingress-handler';
export { logger, metrics, powertoolsTelemetry } from '../../../functions/wiring/observability';
