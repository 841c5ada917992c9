// The list prices the request benchmarks compute costs with (sources in BENCHMARKS.md, "Prices used").
/** Published us-east-1 prices (sources in BENCHMARKS.md, "Requests and cost per replicated item"). */
export const PRICES = {
  /** S3 Standard: PUT, COPY, POST, LIST requests. */
  s3Tier1PerRequest: 0.005 / 1000,
  /** S3 Standard: GET, SELECT and all other requests (HEAD included). */
  s3Tier2PerRequest: 0.0004 / 1000,
  lambdaPerRequest: 0.2 / 1_000_000,
  /** Lambda duration, Arm (Graviton2), first 7.5 billion GB-s of a month. */
  lambdaArmPerGbSecond: 0.0000133334,
  /** Step Functions Standard: per state transition, retries included. */
  stepFunctionsPerTransition: 0.025 / 1000,
};
