import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type CfnTemplate,
  checkTemplate,
  LIMITS,
  ManagedPoliciesPerRoleError,
  POLICY_FIT_METADATA,
  RolePolicySizeError,
} from '#deploy/limits';
import { PRECISION_LADDER } from '#deploy/policy-fit';
import { writeThousandRules } from '#test/support/thousand-rules';

/**
 * `npm run package` of a generated 1,000-rule configuration (940 object rules over 210 source buckets, 30
 * snapshot rules, 30 AMI rules): every role fits IAM's limits once deploy/policy-fit.ts has fitted it, the
 * package prints a size report, and the limits are checked on every template it writes (main + forwarders).
 */

const folder = '.build/package-thousand-rules';
let packaged: { status: number | null; output: string } | undefined;

function packageThousandRules() {
  if (packaged) return packaged;
  const config = writeThousandRules('.build/thousand-rules/replication.yml');
  const run = spawnSync('npm', ['run', '-s', 'package', '--', '--stage', 'ci', '--package', folder], {
    encoding: 'utf8',
    env: { ...process.env, FERRY_CONFIG: config },
    timeout: 300_000,
  });
  packaged = { status: run.status, output: `${run.stdout}\n${run.stderr}` };
  return packaged;
}

const templates = () =>
  readdirSync(folder)
    .filter((file) => file === 'cloudformation-template-update-stack.json' || file.startsWith('forwarder-'))
    .map((file) => {
      const body = readFileSync(`${folder}/${file}`, 'utf8');
      const name = file.startsWith('forwarder-') ? file.slice(0, -'.json'.length) : 'main';
      return { name, body, template: JSON.parse(body) as CfnTemplate };
    });

describe('npm run package: 1,000 rules (test/support/thousand-rules.ts)', () => {
  it('It should fit every function role into an inline policy and at most 10 managed policies', {
    timeout: 300_000,
  }, () => {
    const { output } = packageThousandRules();
    expect(output).not.toMatch(/RolePolicySizeError|ManagedPoliciesPerRoleError/);
    const main = templates().find(({ name }) => name === 'main');
    if (!main) throw new Error(`no template packaged:\n${output}`);
    const { report, errors } = checkTemplate(main.name, main.template, main.body);
    expect(
      errors.filter(
        (error) => error instanceof RolePolicySizeError || error instanceof ManagedPoliciesPerRoleError,
      ),
    ).toEqual([]);
    const functionRoles = report.roles.filter((role) => role.fit !== undefined);
    expect(functionRoles).toHaveLength(7);
    for (const role of functionRoles) {
      expect(role.inline, role.role).toBeLessThanOrEqual(LIMITS.roleInlinePolicyChars);
      expect(role.attached, role.role).toBeLessThanOrEqual(LIMITS.managedPoliciesPerRole);
      for (const chars of role.managed)
        expect(chars, role.role).toBeLessThanOrEqual(LIMITS.managedPolicyChars);
      expect(PRECISION_LADDER, role.role).toContain(role.fit);
    }
    // A thousand rules do not fit without managed policies, and each is a resource of the template.
    const managed = Object.values(main.template.Resources ?? {}).filter(
      (resource) => resource.Type === 'AWS::IAM::ManagedPolicy',
    );
    expect(managed.length).toBe(functionRoles.reduce((sum, role) => sum + role.managed.length, 0));
    expect(managed.length).toBeGreaterThan(0);
    // The function roles record the step they were fitted at, in the template itself.
    const reconcile = main.template.Resources?.ReconcileRole as {
      Metadata?: Record<string, { step: string }>;
    };
    expect(reconcile.Metadata?.[POLICY_FIT_METADATA]?.step).toBe(
      functionRoles.find((r) => r.role === 'ReconcileRole')?.fit,
    );
  });

  it('It should print the size report of every template it writes, main and forwarders', () => {
    const { output } = packageThousandRules();
    const names = templates().map(({ name }) => name);
    expect(names).toEqual(expect.arrayContaining(['main', 'forwarder-us-east-2', 'forwarder-eu-west-1']));
    for (const name of names)
      expect(output).toMatch(new RegExp(`^${name}: \\d+/500 resources, [\\d,]+/1,000,000 bytes$`, 'm'));
    expect(output).toMatch(
      /^ {2}ReconcileRole \[fitted: [a-z-]+\]: inline [\d,]+\/10,240 chars, managed \d+\/10 /m,
    );
  });

  it('It should fail the package, naming each limit and the figure, when a template breaks one', () => {
    const { status, output } = packageThousandRules();
    const failures = templates().flatMap(
      ({ name, template, body }) => checkTemplate(name, template, body).errors,
    );
    // Whatever the checks find fails the package with those messages; nothing found, it succeeds.
    expect(status === 0).toBe(failures.length === 0);
    for (const failure of failures) expect(output).toContain(`✖ ${failure.name}: ${failure.message}`);
  });

  it('It should pass cfn-lint with no error but the limits the checks name too (E1002 body size, E3010 resources)', {
    timeout: 300_000,
  }, () => {
    packageThousandRules();
    const sameLimit: Record<string, string> = {
      E1002: 'TemplateBodySizeError',
      E3010: 'TemplateResourceCountError',
    };
    for (const { name, template, body } of templates()) {
      const file = name === 'main' ? 'cloudformation-template-update-stack.json' : `${name}.json`;
      const lint = spawnSync('cfn-lint', ['--format', 'json', `${folder}/${file}`], {
        encoding: 'utf8',
        timeout: 300_000,
      });
      const findings = JSON.parse(lint.stdout || '[]') as {
        Level: string;
        Rule: { Id: string };
        Message: string;
      }[];
      const errors = findings.filter((finding) => finding.Level === 'Error');
      expect(
        errors
          .filter((error) => !(error.Rule.Id in sameLimit))
          .map((error) => `${error.Rule.Id} ${error.Message}`),
        name,
      ).toEqual([]);
      // cfn-lint and deploy/limits.ts agree on the limits both check.
      const named = checkTemplate(name, template, body)
        .errors.map((error) => error.name)
        .filter((error) => Object.values(sameLimit).includes(error));
      expect(errors.map((error) => sameLimit[error.Rule.Id]).sort(), name).toEqual(named.sort());
    }
  });
});
