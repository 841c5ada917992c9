import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { SANDBOX_CREDENTIALS } from '#foundation/sandbox-credentials';
import { signingScopeOf } from '../sigv4.ts';
import { VirtualClock } from '../virtual-clock.ts';
import { FakeEc2, type FakeEc2Options } from './fake-ec2.ts';

export interface StandaloneEc2 {
  fake: FakeEc2;
  clock: VirtualClock;
  endpoint: string;
  /** An SDK client for the fake in a Region (extra settings, such as `maxAttempts`, make a new client). */
  client(region: string, config?: Partial<EC2ClientConfig>): EC2Client;
  close(): Promise<void>;
}

/**
 * The fake EC2 alone behind its own HTTP server on 127.0.0.1 (port 0 picks a free one): for tests and for
 * driving it with the AWS CLI. The sandbox serves the same `FakeEc2.handle` behind its single endpoint.
 */
export async function startStandaloneEc2(
  options: Partial<FakeEc2Options> & { clock?: VirtualClock; port?: number } = {},
): Promise<StandaloneEc2> {
  const clock = options.clock ?? new VirtualClock();
  const fake = new FakeEc2({ account: '000000000000', ...options, clock });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    void fake.handle(req, res, url, signingScopeOf(req.headers, url));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: EC2Client[] = [];
  const byRegion = new Map<string, EC2Client>();
  const client = (region: string, config?: Partial<EC2ClientConfig>) => {
    const cached = config ? undefined : byRegion.get(region);
    if (cached) return cached;
    const made = new EC2Client({ region, endpoint, credentials: SANDBOX_CREDENTIALS, ...config });
    clients.push(made);
    if (!config) byRegion.set(region, made);
    return made;
  };
  return {
    fake,
    clock,
    endpoint,
    client,
    async close() {
      await fake.settle();
      for (const made of clients) made.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
