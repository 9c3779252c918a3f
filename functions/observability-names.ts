/** Names shared by the functions and the construct (metrics namespace, service). No imports: safe for CDK code. */
export const SERVICE_NAME = 'heygen-relay';
export const METRICS_NAMESPACE = 'HeyGenRelay';
