import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import type { Config } from './config';
import { QueueService } from './queue/service';
import { QueueSettingsStore } from './queue/settings';
import type { RedisClient } from './redis/client';
import type { RedisKeys } from './redis/keys';
import { PerformanceLookup } from './seats/performances';
import { SeatState } from './seats/seat-state';

/** What one process is connected to; its composition root (server.ts, worker.ts) opens them. */
export interface Connections {
  config: Config;
  dataSource: DataSource;
  redis: RedisClient;
  keys: RedisKeys;
  temporal: Client;
}

/** The domain services, built once per process on its connections and handed to everything below. */
export interface Services extends Connections {
  queue: QueueService;
  queueSettings: QueueSettingsStore;
  seatState: SeatState;
  performances: PerformanceLookup;
}

export function createServices(connections: Connections): Services {
  const { config, dataSource, redis, keys } = connections;
  return {
    ...connections,
    queue: new QueueService({ redis, keys, config }),
    queueSettings: new QueueSettingsStore(dataSource, config),
    seatState: new SeatState({ redis, keys }),
    performances: new PerformanceLookup(dataSource),
  };
}
