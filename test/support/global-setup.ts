/**
 * Starts one in-memory dynalite (a real DynamoDB API) for the whole run. Its endpoint reaches
 * the test workers through DYNAMODB_ENDPOINT; each test file creates its own tables.
 */
import { startDynalite } from '../../lambda/local/dynalite';

export default async function globalSetup(): Promise<void> {
  const dynamo = await startDynalite({ port: 0 });
  process.env.DYNAMODB_ENDPOINT = dynamo.endpoint;
  (globalThis as { __dynalite?: { close(): Promise<void> } }).__dynalite = dynamo;
}
