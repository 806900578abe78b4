import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';

/** One Temporal client per process. */
export async function createTemporalClient(config: Pick<Config, 'temporalAddress' | 'temporalNamespace'>): Promise<{
  client: Client;
  connection: Connection;
}> {
  const connection = await Connection.connect({ address: config.temporalAddress });
  const client = new Client({ connection, namespace: config.temporalNamespace });
  return { client, connection };
}
