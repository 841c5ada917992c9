import { EC2_FAULT_KINDS, type Ec2FaultKind, type Ec2FaultRates } from './ec2/faults.ts';
import { FAULT_KINDS, type FaultKind, type FaultRates } from './faults.ts';

/**
 * `--faults` of `npm start` / `npm run demo`: one list for both fakes. Each `name=rate` goes to the service
 * that has a fault of that name: S3's kinds (local/faults.ts) to the S3 gateway, EC2's (local/ec2/faults.ts)
 * to the fake EC2. `unavailable` exists in both and goes to both; `s3:NAME` or `ec2:NAME` picks one.
 */
export interface DemoFaults {
  s3: FaultRates;
  ec2: Ec2FaultRates;
}

const isS3Kind = (name: string): name is FaultKind => (FAULT_KINDS as readonly string[]).includes(name);
const isEc2Kind = (name: string): name is Ec2FaultKind =>
  (EC2_FAULT_KINDS as readonly string[]).includes(name);

export function parseDemoFaults(text: string): DemoFaults {
  const faults: DemoFaults = { s3: {}, ec2: {} };
  for (const pair of text.split(',').filter(Boolean)) {
    const [qualified = '', value = '', ...extra] = pair.split('=');
    const [service, name] = qualified.includes(':') ? qualified.split(':', 2) : [undefined, qualified];
    if (service !== undefined && service !== 's3' && service !== 'ec2') {
      throw new Error(`unknown service "${service}" in "${pair}": write s3:NAME or ec2:NAME`);
    }
    const toS3 = service !== 'ec2' && name !== undefined && isS3Kind(name);
    const toEc2 = service !== 's3' && name !== undefined && isEc2Kind(name);
    if (!toS3 && !toEc2) {
      const known =
        service === 's3'
          ? `S3 faults: ${FAULT_KINDS.join(', ')}`
          : service === 'ec2'
            ? `EC2 faults: ${EC2_FAULT_KINDS.join(', ')}`
            : `S3 faults: ${FAULT_KINDS.join(', ')}; EC2 faults: ${EC2_FAULT_KINDS.join(', ')}`;
      throw new Error(`unknown fault "${qualified}": expected one of the ${known}`);
    }
    const rate = Number(value);
    if (extra.length > 0 || value === '' || !(rate >= 0 && rate <= 1)) {
      throw new Error(`the rate of ${qualified} must be a number between 0 and 1, not "${value}"`);
    }
    if (toS3) faults.s3[name as FaultKind] = rate;
    if (toEc2) faults.ec2[name as Ec2FaultKind] = rate;
  }
  for (const [service, rates] of Object.entries(faults)) {
    const total = Object.values(rates as Record<string, number>).reduce((sum, rate) => sum + rate, 0);
    if (total > 1) {
      throw new Error(`the ${service.toUpperCase()} fault rates add up to ${total}: at most 1`);
    }
  }
  return faults;
}

/** `slowdown=0.2, throttle=0.1` for the banner; empty when no fault is set. */
export const describeRates = (rates: FaultRates | Ec2FaultRates): string =>
  Object.entries(rates)
    .map(([name, rate]) => `${name}=${rate}`)
    .join(', ');
