/** Names shared by the functions and the construct (metrics namespace, service). No imports: safe for CDK code. */
export const SERVICE_NAME = 'heygen-relay';
export const METRICS_NAMESPACE = 'HeyGenRelay';
/** Service names (the `service` metric dimension) of the registrar functions. */
export const HEYGEN_REGISTRAR_SERVICE = `${SERVICE_NAME}-registrar`;
export const JOGGAI_REGISTRAR_SERVICE = `${SERVICE_NAME}-joggai-registrar`;
export const HEYGEN_BACKFILL_SERVICE = `${SERVICE_NAME}-backfill`;
