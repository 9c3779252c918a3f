/** Cold-start baseline: only the AWS SDK clients the ingress uses, bundled with the same options. */
export { DynamoDBClient } from '@aws-sdk/client-dynamodb';
export { EventBridgeClient } from '@aws-sdk/client-eventbridge';
export { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
