import { Cluster } from 'ioredis';
import { RedisBroker } from '../../lib/redis/index.js';
import type { BrokerHarness, FaultyBrokerServer } from './broker-conformance.js';
import { RedisClusterProcess, RedisProcess } from './redis-server.js';

/** A private redis-server; every server of the cluster gets its own RedisBroker to it. */
async function redisServer(up: boolean): Promise<FaultyBrokerServer> {
  const redis = await RedisProcess.start();
  if (!up) await redis.stop();
  return {
    broker: (_index, timings) => new RedisBroker({ url: redis.url, ...timings }),
    kill: () => redis.stop(),
    restart: () => redis.start(),
    dispose: () => redis.dispose(),
    childEnv: { BROKER: 'redis', BROKER_URL: redis.url },
  };
}

export const redisHarness: BrokerHarness = {
  name: 'Redis',
  start: () => redisServer(true),
  faults: {
    start: () => redisServer(true),
    startDown: () => redisServer(false),
    // One line per client (publisher, subscriber) per outage.
    outageWarnings: { pattern: /^Redis (publisher|subscriber): .*; reconnecting$/, max: 2 },
  },
};

/** Three masters; each server of the cluster gets its own ioredis `Cluster` client, which the broker never closes. */
export const redisClusterHarness: BrokerHarness = {
  name: 'Redis Cluster',
  ordersChannels: false,
  async start() {
    const redis = await RedisClusterProcess.start();
    const clients: Cluster[] = [];
    return {
      broker: (_index, timings) => {
        const client = new Cluster(redis.startupNodes);
        clients.push(client);
        return new RedisBroker({ client, ...timings });
      },
      async dispose() {
        await Promise.all(clients.map((client) => client.quit()));
        await redis.dispose();
      },
    };
  },
};
