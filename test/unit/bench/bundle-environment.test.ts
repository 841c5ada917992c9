import { describe, expect, it } from 'vitest';
import { readServerlessFile } from '#deploy/function-bundles';
import { benchEnvironment } from '../../../bench/bundle-environment.ts';

describe('bundles benchmark environment (npm run bench -- bundles)', () => {
  const service = readServerlessFile();
  // A stand-in task root, relative: the environment only carries it.
  const taskRoot = 'bundle-task';

  it('It should give every function of serverless.yml an environment with nothing left to resolve', () => {
    for (const name of Object.keys(service.functions)) {
      const environment = benchEnvironment(service, name, '.build/rules.json', taskRoot);
      const unresolved = Object.entries(environment).filter(([, value]) => value.includes('${'));
      expect(unresolved, name).toEqual([]);
    }
  });

  it('It should name the service as the deployment does, for a stand-in stage', () => {
    const environment = benchEnvironment(service, 'objectCreated', '.build/rules.json', taskRoot);
    expect(environment.POWERTOOLS_SERVICE_NAME).toBe(`${service.service}-bench`);
    expect(environment.FERRY_CONFIG).toBe('.build/rules.json');
  });

  it('It should refuse a variable it has no stand-in for', () => {
    const broken = {
      ...service,
      provider: { ...service.provider, environment: { SOMETHING: `\${cf:other-stack.Output}` } },
    };
    expect(() => benchEnvironment(broken, 'objectCreated', '.build/rules.json', taskRoot)).toThrow(
      /no stand-in for the environment variable SOMETHING/,
    );
  });
});
