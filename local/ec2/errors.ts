/**
 * An EC2 API error: the code and message EC2 answers with, and its HTTP status (client errors 400,
 * throttling and overload 503, internal errors 500).
 */
export class Ec2Error extends Error {
  override readonly name = 'Ec2Error';

  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** The error each id prefix answers when the resource does not exist, worded as EC2 words it. */
export function notFound(id: string): Ec2Error {
  if (id.startsWith('snap-'))
    return new Ec2Error('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`);
  if (id.startsWith('ami-'))
    return new Ec2Error('InvalidAMIID.NotFound', `The image id '[${id}]' does not exist`);
  if (id.startsWith('vol-'))
    return new Ec2Error('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
  if (id.startsWith('i-'))
    return new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
  return new Ec2Error('InvalidID', `The ID '${id}' is not valid`);
}

const ID_SHAPES: Record<string, { pattern: RegExp; code: string }> = {
  snap: { pattern: /^snap-[0-9a-f]{8}([0-9a-f]{9})?$/, code: 'InvalidSnapshotID.Malformed' },
  ami: { pattern: /^ami-[0-9a-f]{8}([0-9a-f]{9})?$/, code: 'InvalidAMIID.Malformed' },
  vol: { pattern: /^vol-[0-9a-f]{8}([0-9a-f]{9})?$/, code: 'InvalidVolumeID.Malformed' },
  i: { pattern: /^i-[0-9a-f]{8}([0-9a-f]{9})?$/, code: 'InvalidInstanceID.Malformed' },
};

/** EC2 tells a malformed id (a typo, a name instead of an id) apart from one that does not exist. */
export function checkIdShape(kind: keyof typeof ID_SHAPES, id: string): void {
  const shape = ID_SHAPES[kind];
  if (shape && !shape.pattern.test(id)) throw new Ec2Error(shape.code, `Invalid id: "${id}"`);
}

export const missingParameter = (name: string) =>
  new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`);

export const invalidValue = (name: string, value: string, why = '') =>
  new Ec2Error(
    'InvalidParameterValue',
    `Value (${value}) for parameter ${name} is invalid.${why ? ` ${why}` : ''}`,
  );

export const requestLimitExceeded = (account: string, action: string) =>
  new Ec2Error(
    'RequestLimitExceeded',
    `Request limit exceeded. Account ${account} has been throttled on ec2:${action} because it exceeded its request rate limit.`,
    503,
  );
