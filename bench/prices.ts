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
  /**
   * DynamoDB on-demand, Standard table class: per write request unit (1 KB written; a conditional write
   * whose condition fails consumes its units too) and per read request unit (4 KB read strongly
   * consistently, or twice that eventually). Storage is not priced: a copy leaves one or two items of a few
   * hundred bytes, held for hours and deleted or expired within two days (at $0.25 per GB-month, about
   * $0.00000001 per copy, a thousandth of what its DynamoDB requests cost).
   */
  dynamoDbPerWriteUnit: 0.625 / 1_000_000,
  dynamoDbPerReadUnit: 0.125 / 1_000_000,
};
