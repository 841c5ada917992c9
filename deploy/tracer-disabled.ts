// What the function bundles get for `@aws-lambda-powertools/tracer` (and its `/middleware`) when the stack
// does not turn X-Ray on for its functions (serverless.yml `provider.tracing.lambda`): deploy/esbuild-plugins.cjs
// resolves both imports here. Without it the functions run in Lambda's PassThrough mode and never record a
// trace of their own (https://docs.aws.amazon.com/lambda/latest/dg/API_TracingConfig.html), so the Tracer and
// the X-Ray SDK it brings (with semver and cls-hooked, about 110 kB) would be carried for nothing. Only what
// Ferry calls is here, typed by the real module so the two cannot drift; the sandbox and the tests keep the
// real Tracer.
import type { Tracer as PowertoolsTracer } from '@aws-lambda-powertools/tracer';
import type { captureLambdaHandler as powertoolsCaptureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';

export class Tracer implements Pick<PowertoolsTracer, 'captureAWSv3Client' | 'isTracingEnabled'> {
  isTracingEnabled(): boolean {
    return false;
  }

  /** The client as given: no X-Ray middleware, as the real Tracer does when tracing is off. */
  captureAWSv3Client<T>(client: T): T {
    return client;
  }
}

/**
 * A hook that does nothing, as each hook of the real middleware does when tracing is off (Middy refuses a
 * middleware without one).
 */
export const captureLambdaHandler: typeof powertoolsCaptureLambdaHandler = () => ({
  before: () => undefined,
});
