// What the function bundles get for `@aws-sdk/credential-provider-node`, the SDK's default credential chain
// (deploy/esbuild-plugins.cjs resolves it here). Every client's runtime configuration imports the chain, and
// through it the SSO, INI, process, web-identity, login and instance-metadata providers with the STS, SSO and
// sign-in clients they call: about 95 kB that a Lambda function never runs. Lambda puts the execution role's
// credentials in the reserved variables AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN
// ("Defined runtime environment variables",
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime), the
// chain's first link, so the chain never gets past it. The one environment where Lambda gives no key variables
// (SnapStart) serves them from a container endpoint instead, AWS_CONTAINER_CREDENTIALS_FULL_URI with
// AWS_CONTAINER_AUTHORIZATION_TOKEN (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-activate.html#snapstart-credentials):
// the chain's remote link, kept here for 4 kB. Those two links, in the chain's order, are this provider.
//
// Cross-account destinations assume their role with `fromTemporaryCredentials` (src/aws/clients.ts): its STS
// client takes the function's own credentials from this same provider, so AssumeRole is unchanged. The sandbox
// and the tests keep the real chain; test/integration/bundled-functions.test.ts runs the bundles.
import type { defaultProvider as sdkDefaultProvider } from '@aws-sdk/credential-provider-node';
import { fromEnv, fromHttp } from '@aws-sdk/credential-providers';
import { doesIdentityRequireRefresh, isIdentityExpired, memoizeIdentityProvider } from '@smithy/core';

type DefaultProvider = typeof sdkDefaultProvider;

/** The container endpoint's variables (a relative URI is the ECS form; the SDK's chain honours both). */
const CONTAINER_URI_VARIABLES = [
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
];
const KEY_VARIABLES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

const isSet = (variable: string) => Boolean(process.env[variable]);

/**
 * The default chain as it runs in Lambda: the key variables when both are set (fromEnv), else the container
 * endpoint when one is named (fromHttp), else fromEnv's own error ("Unable to find environment variable
 * credentials"). Memoized as the chain is: container credentials expire, and are fetched again only then.
 */
export const defaultProvider = ((init: Parameters<DefaultProvider>[0] = {}) => {
  const fromVariables = fromEnv(init);
  const fromContainer = fromHttp(init);
  return memoizeIdentityProvider(
    (options: Parameters<ReturnType<DefaultProvider>>[0]) =>
      !KEY_VARIABLES.every(isSet) && CONTAINER_URI_VARIABLES.some(isSet)
        ? fromContainer(options)
        : fromVariables(options),
    isIdentityExpired,
    doesIdentityRequireRefresh,
  );
}) as DefaultProvider;
