import { describe, expect, it } from 'vitest';
import { availableImageOf, ImageStateChangeEventSchema } from '#ec2/images/event';
import { instrumented } from '#foundation/observability/middleware';
import { createPowertools } from '#foundation/observability/powertools';
import { type Ec2FixtureEvent, ec2Event } from '#test/support/ec2-events';
import { lambdaContext } from '#test/support/fixtures';

const imageOf = (event: Ec2FixtureEvent) => availableImageOf(ImageStateChangeEventSchema.parse(event));

describe('EC2 AMI State Change events', () => {
  it('It should accept an AMI that became available, in the event Region', () => {
    expect(imageOf(ec2Event('image-available'))).toEqual({
      imageId: 'ami-0b1c2d3e4f5a60718',
      region: 'us-west-2',
      accepted: true,
    });
  });

  it('It should skip every other state with its reason and error message', () => {
    expect(imageOf(ec2Event('image-failed'))).toEqual({
      imageId: 'ami-0c2d3e4f5a6071829',
      region: 'us-west-2',
      accepted: false,
      reason: 'state failed: AMI snapshot copy failed with error: Given key ID is not accessible',
    });
    const deregistered = ec2Event('image-available');
    deregistered.detail.State = 'deregistered';
    expect(imageOf(deregistered)).toMatchObject({ accepted: false, reason: 'state deregistered' });
  });

  it('It should accept an event without the optional RequestId and ErrorMessage', () => {
    const event = ec2Event('image-available');
    delete event.detail.RequestId;
    delete event.detail.ErrorMessage;
    expect(imageOf(event).accepted).toBe(true);
  });

  it.each([
    ['a missing ImageId', (e: Ec2FixtureEvent) => delete e.detail.ImageId, 'detail.ImageId'],
    [
      'an ImageId that is not an AMI id',
      (e: Ec2FixtureEvent) => {
        e.detail.ImageId = 'snap-0a1b2c3d4e5f60718';
      },
      'detail.ImageId: expected an AMI id',
    ],
    ['a missing State', (e: Ec2FixtureEvent) => delete e.detail.State, 'detail.State'],
    [
      'another detail-type',
      (e: Ec2FixtureEvent) => {
        e['detail-type'] = 'EC2 Instance State-change Notification';
      },
      'detail-type',
    ],
    ['a missing region', (e: Ec2FixtureEvent) => Reflect.deleteProperty(e, 'region'), 'region'],
  ])('It should reject %s through the handler chain, naming the field', async (_, breakIt, field) => {
    const handler = instrumented(createPowertools(), ImageStateChangeEventSchema, async (event) =>
      availableImageOf(event),
    );
    const event = ec2Event('image-available');
    breakIt(event);
    await expect(handler(event as never, lambdaContext)).rejects.toMatchObject({
      name: 'MalformedEventError',
      message: expect.stringContaining(field),
    });
  });
});
