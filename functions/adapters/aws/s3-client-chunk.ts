/**
 * The S3 client, built as a file of its own next to a function's bundle (`s3-client.js`,
 * lib/function-build.ts) for the functions that park deliveries: parked-store.ts loads it the
 * first time a delivery is parked, so the function's cold start never compiles it.
 */
export { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
