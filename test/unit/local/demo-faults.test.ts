import { describe, expect, it } from 'vitest';
import { parseDemoFaults } from '#local/demo-faults';

describe('parseDemoFaults', () => {
  it('sends each fault to the service that has it, and unavailable to both', () => {
    expect(parseDemoFaults('slowdown=0.2,throttle=0.1,limit=0.05,unavailable=0.01')).toEqual({
      s3: { slowdown: 0.2, unavailable: 0.01 },
      ec2: { throttle: 0.1, limit: 0.05, unavailable: 0.01 },
    });
  });

  it('takes s3: and ec2: to pick one service', () => {
    expect(parseDemoFaults('s3:unavailable=0.1,ec2:copy-error=0.2')).toEqual({
      s3: { unavailable: 0.1 },
      ec2: { 'copy-error': 0.2 },
    });
  });

  it('refuses unknown names, misplaced kinds, bad rates and totals above 1, saying why', () => {
    expect(() => parseDemoFaults('bogus=0.1')).toThrow(
      /unknown fault "bogus".*S3 faults: slowdown.*EC2 faults: throttle/,
    );
    expect(() => parseDemoFaults('ec2:slowdown=0.1')).toThrow(
      /unknown fault "ec2:slowdown": expected one of the EC2 faults/,
    );
    expect(() => parseDemoFaults('gcs:slowdown=0.1')).toThrow(/unknown service "gcs"/);
    expect(() => parseDemoFaults('throttle=2')).toThrow(/between 0 and 1, not "2"/);
    expect(() => parseDemoFaults('throttle')).toThrow(/between 0 and 1, not ""/);
    expect(() => parseDemoFaults('throttle=0.6,internal=0.6')).toThrow(/EC2 fault rates add up to 1.2/);
  });
});
