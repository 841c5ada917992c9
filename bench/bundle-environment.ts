import type { ServerlessFile } from '#deploy/function-bundles';

/** The stage the framework would resolve `${sls:stage}` to (`--stage`), here a stand-in. */
export const BENCH_STAGE = 'bench';

/**
 * The deployed environment of one function of serverless.yml, for the bundles benchmark's init runs: the
 * provider's and the function's variables, with what the framework or CloudFormation would resolve replaced
 * by stand-ins, and what Lambda itself sets (no credentials: init must not need them, clients are created on
 * first use). A variable with no stand-in is refused rather than passed on unresolved.
 */
export function benchEnvironment(
  service: ServerlessFile,
  name: string,
  compiledRules: string,
  taskRoot: string,
): Record<string, string> {
  const standIn = (variable: string, raw: string): string => {
    // Biome's noTemplateCurlyInString: these are the framework's variables, not template literals.
    const value = raw
      .replaceAll(`\${self:service}`, service.service)
      .replaceAll(`\${sls:stage}`, BENCH_STAGE);
    if (!value.includes('${')) return value;
    if (variable === 'FERRY_CONFIG') return compiledRules;
    if (variable.endsWith('_STATE_MACHINE_ARN'))
      return `arn:aws:states:us-east-1:123456789012:stateMachine:bench-${variable.toLowerCase()}`;
    throw new Error(`serverless.yml: no stand-in for the environment variable ${variable} (${value})`);
  };
  const deployed = Object.fromEntries(
    Object.entries(service.provider.environment ?? {}).map(([variable, raw]) => [
      variable,
      standIn(variable, String(raw)),
    ]),
  );
  // The function's own variables: a `Ref` (the copy-waiters table's name) stands in by its logical id.
  const own = Object.fromEntries(
    Object.entries(service.functions[name]?.environment ?? {}).map(([variable, value]) => [
      variable,
      typeof value === 'string'
        ? standIn(variable, value)
        : `bench-${(value as { Ref?: string }).Ref ?? variable}`,
    ]),
  );
  return {
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EXECUTION_ENV: `AWS_Lambda_${service.provider.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: `ferry-bench-${name}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    LAMBDA_TASK_ROOT: taskRoot,
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    ...deployed,
    ...own,
  };
}
