import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeXml, readBody } from './s3-wire.ts';

/**
 * STS's AssumeRole for the sandbox, so that destinations with `roleArn` (another account's role, deployed
 * from deploy/cross-account-role.yml) work end to end: Ferry's clients get temporary credentials for the
 * role, and every later request signed with them is known to come from that role.
 *
 * The query protocol and its XML answer as the STS API reference gives them
 * (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html): a form-encoded POST with
 * `Action=AssumeRole&Version=2011-06-15`, answered by `AssumeRoleResponse/AssumeRoleResult` with
 * `Credentials` (AccessKeyId, SecretAccessKey, SessionToken, Expiration) and `AssumedRoleUser` (Arn,
 * AssumedRoleId); errors are `ErrorResponse/Error` (Type, Code, Message) with a RequestId
 * (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html). The parameters are checked
 * against the reference's constraints (RoleArn 20–2048 characters, RoleSessionName 2–64 of
 * `[\w+=,.@-]`, ExternalId 2–1224 of `[\w+=,.@:/-]`, DurationSeconds 900–43200). Trust policies are not
 * evaluated here: that is the IAM proof's job (deploy/iam-proof), over the calls the recorder saw.
 */

const NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const DEFAULT_DURATION_SECONDS = 3600;

/** A session STS handed out: who is behind a temporary access key. */
export interface AssumedRole {
  roleArn: string;
  sessionName: string;
  externalId?: string;
  /** `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`. */
  assumedRoleArn: string;
}

interface IssuedSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: string;
  assumedRoleArn: string;
  assumedRoleId: string;
}

class StsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'StsError';
  }
}

export class SandboxSts {
  /** Every session handed out, by its temporary access key id. */
  readonly sessions = new Map<string, AssumedRole>();

  /** The role behind a temporary access key, if STS issued it. */
  roleOf(accessKeyId: string): AssumedRole | undefined {
    return this.sessions.get(accessKeyId);
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const requestId = randomUUID();
    try {
      const body = req.method === 'POST' ? (await readBody(req)).toString('utf8') : '';
      const params = new URLSearchParams(body);
      for (const [name, value] of url.searchParams) if (!params.has(name)) params.set(name, value);
      const action = params.get('Action');
      if (action !== 'AssumeRole')
        throw new StsError('InvalidAction', `The Ferry sandbox's STS serves AssumeRole only, not ${action}`);
      send(res, 200, assumeRoleAnswer(this.assume(params), requestId));
    } catch (error) {
      const answer =
        error instanceof StsError ? error : new StsError('InternalFailure', (error as Error).message, 500);
      send(
        res,
        answer.status,
        `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${answer.status < 500 ? 'Sender' : 'Receiver'}</Type><Code>${answer.code}</Code><Message>${escapeXml(answer.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
    }
  }

  private assume(params: URLSearchParams): IssuedSession {
    const roleArn = params.get('RoleArn') ?? '';
    const sessionName = params.get('RoleSessionName') ?? '';
    const externalId = params.get('ExternalId') ?? undefined;
    const duration = Number(params.get('DurationSeconds') ?? DEFAULT_DURATION_SECONDS);
    const role = ROLE_ARN.exec(roleArn);
    if (!role || roleArn.length > 2048)
      throw new StsError('ValidationError', `RoleArn ${JSON.stringify(roleArn)} is not a role ARN`);
    if (!SESSION_NAME.test(sessionName))
      throw new StsError('ValidationError', `RoleSessionName ${JSON.stringify(sessionName)} is not valid`);
    if (externalId !== undefined && !EXTERNAL_ID.test(externalId))
      throw new StsError('ValidationError', 'ExternalId must be 2 to 1224 characters of [\\w+=,.@:/-]');
    if (!Number.isInteger(duration) || duration < 900 || duration > 43_200)
      throw new StsError('ValidationError', 'DurationSeconds must be between 900 and 43200');
    const accessKeyId = `ASIA${randomBytes(8).toString('hex').toUpperCase()}`;
    const assumedRoleArn = `arn:aws:sts::${role[1]}:assumed-role/${role[2]}/${sessionName}`;
    this.sessions.set(accessKeyId, {
      roleArn,
      sessionName,
      ...(externalId !== undefined ? { externalId } : {}),
      assumedRoleArn,
    });
    return {
      accessKeyId,
      secretAccessKey: randomBytes(20).toString('base64'),
      sessionToken: randomBytes(48).toString('base64'),
      // Real time: the SDK refreshes credentials by the wall clock, not the sandbox's virtual one.
      expiration: new Date(Date.now() + duration * 1000).toISOString(),
      assumedRoleArn,
      assumedRoleId: `AROA${randomBytes(8).toString('hex').toUpperCase()}:${sessionName}`,
    };
  }
}

function assumeRoleAnswer(session: IssuedSession, requestId: string): string {
  return [
    `<AssumeRoleResponse xmlns="${NAMESPACE}"><AssumeRoleResult>`,
    `<Credentials><AccessKeyId>${session.accessKeyId}</AccessKeyId>`,
    `<SecretAccessKey>${escapeXml(session.secretAccessKey)}</SecretAccessKey>`,
    `<SessionToken>${escapeXml(session.sessionToken)}</SessionToken>`,
    `<Expiration>${session.expiration}</Expiration></Credentials>`,
    `<AssumedRoleUser><Arn>${escapeXml(session.assumedRoleArn)}</Arn>`,
    `<AssumedRoleId>${escapeXml(session.assumedRoleId)}</AssumedRoleId></AssumedRoleUser>`,
    '<PackedPolicySize>0</PackedPolicySize>',
    `</AssumeRoleResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></AssumeRoleResponse>`,
  ].join('');
}

function send(res: ServerResponse, status: number, xml: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n${xml}`;
  res.writeHead(status, {
    'content-type': 'text/xml',
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}
