import { RedisStore } from '../../src/store/redis/index.js';
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
