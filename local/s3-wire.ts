/** The S3 wire helpers moved to `local/s3/wire.ts`; the fake EC2 and the other local services import them here. */
export { escapeXml, readBody, type S3ErrorAnswer, sendError, sendXml, unescapeXml } from './s3/wire.ts';
