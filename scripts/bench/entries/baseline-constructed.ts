/** Init breakdown (informational): the three SDK clients imported AND constructed as functions/entries/ingress.ts does. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { sdkClientConfig } from '../../../functions/adapters/aws/sdk-config';

const sdk = sdkClientConfig();
export const clients = [new DynamoDBClient(sdk), new EventBridgeClient(sdk), new SecretsManagerClient(sdk)];
