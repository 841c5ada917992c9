/** The sandbox's S3 lives in `local/s3/`; this is its entry point for `local/sandbox.ts`. */
export { type S3Gateway, type S3GatewayOptions, startS3Gateway } from './s3/gateway.ts';
