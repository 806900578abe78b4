import type { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import type { Config } from '../config';
import type { RedisKeys } from '../redis/keys';

/** What activity factories are built from; the worker creates one set per process. */
export interface ActivityDeps {
  dataSource: DataSource;
  redis: Redis;
  keys: RedisKeys;
  config: Config;
  /** For activities that signal other workflows. */
  temporal: Client;
}
