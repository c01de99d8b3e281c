import { RedisBroker } from '../../lib/redis/index.js';
import { clusterContract } from '../support/cluster-contract.js';
import { RedisProcess } from '../support/redis-server.js';

let redis: RedisProcess;

clusterContract(
  'three servers on one Redis, each with its own RedisBroker',
  () => new RedisBroker({ url: redis.url, requestTimeout: 2000, heartbeatInterval: 100, heartbeatTimeout: 400 }),
  async () => {
    redis = await RedisProcess.start();
    return () => redis.dispose();
  },
);
