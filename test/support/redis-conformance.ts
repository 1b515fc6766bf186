import { Cluster } from 'ioredis';
import { RedisStore } from '../../src/store/redis/index.js';
import { linkOptions } from '../../src/store/redis/redis-link.js';
import type { ConformanceLimits, StoreUnderTest } from '../store/conformance.js';
import { TcpProxy } from './tcp-proxy.js';

/**
 * A Redis store for the conformance suite: a deployment of its own (`prefix`), reached through a
 * TCP proxy of its own, so that `setAvailable(false)` cuts it and its peers off Redis as a network
 * failure would. The caller closes the proxies (pushed to `proxies`) after the suite.
 */
export async function proxiedRedisStore(port: number, prefix: string, limits: ConformanceLimits | undefined, proxies: TcpProxy[]): Promise<StoreUnderTest> {
  const proxy = await TcpProxy.start(port);
  proxies.push(proxy);
  const make = () => new RedisStore({ url: `redis://127.0.0.1:${proxy.port}`, keyPrefix: prefix, ...limits });
  return {
    store: make(),
    peer: make,
    setAvailable: (up) => {
      proxy.refusing = !up;
      if (!up) proxy.killAll();
    },
  };
}

/**
 * The same for a Redis Cluster: one TCP proxy per node, and the Cluster client told by `natMap` to
 * reach every node (as the cluster announces it) through its proxy, so `setAvailable(false)` cuts
 * all of them. Each store gets a Cluster client of its own with the outage settings of
 * `linkOptions`; the store leaves a client it was given open, so `close` disconnects it here.
 */
export async function proxiedRedisClusterStore(ports: number[], prefix: string, limits: ConformanceLimits | undefined, proxies: TcpProxy[]): Promise<StoreUnderTest> {
  const own = await Promise.all(ports.map((port) => TcpProxy.start(port)));
  proxies.push(...own);
  const natMap = Object.fromEntries(ports.map((port, i) => [`127.0.0.1:${port}`, { host: '127.0.0.1', port: own[i]!.port }]));
  const make = () => {
    const client = new Cluster([{ host: '127.0.0.1', port: own[0]!.port }], {
      natMap,
      redisOptions: linkOptions(2000, 2000),
      enableOfflineQueue: false,
      enableAutoPipelining: true,
      clusterRetryStrategy: () => 100,
    });
    const store = new RedisStore({ client, keyPrefix: prefix, commandTimeoutMs: 2000, ...limits });
    const close = store.close.bind(store);
    store.close = async () => {
      await close();
      client.disconnect();
    };
    return store;
  };
  return {
    store: make(),
    peer: make,
    setAvailable: (up) => {
      for (const proxy of own) {
        proxy.refusing = !up;
        if (!up) proxy.killAll();
      }
    },
  };
}
