// The list prices the request benchmarks compute costs with (sources in BENCHMARKS.md, "Prices used").
import { S3_REQUEST_PRICES } from '#reconcile/listing-join';

/** Published us-east-1 prices (sources in BENCHMARKS.md, "Requests and cost per replicated item"). */
export const PRICES = {
  /** S3 Standard: PUT, COPY, POST, LIST requests (the prices reconcile's listing join weighs). */
  s3Tier1PerRequest: S3_REQUEST_PRICES.tier1,
  /** S3 Standard: GET, SELECT and all other requests (HEAD included). */
  s3Tier2PerRequest: S3_REQUEST_PRICES.tier2,
  lambdaPerRequest: 0.2 / 1_000_000,
  /** Lambda duration, Arm (Graviton2), first 7.5 billion GB-s of a month. */
  lambdaArmPerGbSecond: 0.0000133334,
  /** Step Functions Standard: per state transition, retries included. */
  stepFunctionsPerTransition: 0.025 / 1000,
};
