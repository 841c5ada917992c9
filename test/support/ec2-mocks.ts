import { type EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';

/** An EC2 error as the SDK raises it: 5xx are server faults, the rest client faults. */
export const ec2Error = (name: string, status: number, message = `${name} happened`) =>
  new EC2ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message,
  });

/** The Region of the client that sent a call recorded by aws-sdk-client-mock. */
export async function regionOf(call: { thisValue: unknown } | undefined): Promise<string> {
  if (!call) throw new Error('expected a recorded call');
  return (call.thisValue as EC2Client).config.region();
}
