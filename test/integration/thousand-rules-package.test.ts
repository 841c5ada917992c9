import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, checkTemplate, LIMITS, POLICY_FIT_METADATA } from '#deploy/limits';
import { PRECISION_LADDER } from '#deploy/policy-fit';
import { matchesPattern } from '#local/event-pattern';
import { imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import { EVENT_PATTERN_MAX_CHARS, type EventPattern, patternSize } from '#rules/event-patterns';
import { loadConfigFile } from '#rules/load';
import { cfnLint } from '#test/support/cfn-lint';
import { writeThousandRules } from '#test/support/thousand-rules';

/**
 * Issue 13, "Limits checked at package time": a generated 1,000-rule configuration (objects over 200+
 * buckets, snapshots, AMIs) packaged as CI packages, every limit asserted on the templates it writes, and
 * cfn-lint run on them as .ci/run does. The work is asynchronous (packaging, linting), so the test's thread
 * keeps turning and the stall watchdog (test/setup.ts) stays quiet.
 */

const run = promisify(execFile);
const CONFIG = '.build/thousand-rules/replication.yml';
const FOLDER = '.build/package-thousand-rules';
const STACK_TEMPLATE = `${FOLDER}/cloudformation-template-update-stack.json`;

type Resource = { Type: string; Properties: Record<string, unknown> };
type Template = { Resources: Record<string, Resource> };

const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Template;
const forwarderFiles = () =>
  readdirSync(FOLDER)
    .filter((file) => file.startsWith('forwarder-'))
    .map((file) => `${FOLDER}/${file}`);
const eventPatterns = (template: Template): [string, EventPattern][] =>
  Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Events::Rule' && resource.Properties.EventPattern)
    .map(([id, resource]) => [id, resource.Properties.EventPattern as EventPattern]);

/** Whether the EventBridge rule `id` invokes the function named `handler` (its logical id's stem). */
const rulesTarget = (template: Template, id: string, handler: string): boolean =>
  JSON.stringify(template.Resources[id]?.Properties.Targets ?? []).includes(`"${handler}LambdaFunction"`);

describe('npm run package: a generated 1,000-rule configuration', () => {
  /** What the package printed: the size report, and a `✖ <Error>: …` line per limit broken. */
  let output = '';

  beforeAll(async () => {
    writeThousandRules(CONFIG);
    // --minify-template: the file is then byte for byte what the framework uploads for CloudFormation
    // (it sends the template compact), so its size and cfn-lint's size check are the deployed figures.
    const packaged = await run(
      'npm',
      ['run', '-s', 'package', '--', '--stage', 'ci', '--package', FOLDER, '--minify-template'],
      { env: { ...process.env, FERRY_CONFIG: CONFIG }, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
    ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`npm run package failed:\n${error.stdout ?? ''}\n${error.stderr ?? error.message}`);
    });
    output = `${packaged.stdout}\n${packaged.stderr}`;
  }, 320_000);

  it('is the configuration the issue asks for: 1,000 rules, objects over 200+ buckets, snapshots and AMIs', () => {
    const config = loadConfigFile(CONFIG);
    expect(config.rules).toHaveLength(1000);
    expect(new Set(objectRulesOf(config).map((rule) => rule.objects.bucket)).size).toBeGreaterThanOrEqual(
      200,
    );
    expect(snapshotRulesOf(config).length).toBeGreaterThan(0);
    expect(imageRulesOf(config).length).toBeGreaterThan(0);
  });

  it('stays well under CloudFormation’s 500 resources: EventBridge rules grow with pattern size, not buckets', () => {
    const template = read(STACK_TEMPLATE);
    const resources = Object.keys(template.Resources).length;
    expect(resources).toBeLessThan(LIMITS.resourcesPerTemplate / 2);
    const buckets = new Set(objectRulesOf(loadConfigFile(CONFIG)).map((rule) => rule.objects.bucket)).size;
    // Before the merge: one rule and one permission per bucket and event type (565 resources at 260 buckets).
    // Now each S3 handler (Object Created, Object Deleted, the two tag events) gets as few rules as the
    // pattern size allows, so its count stays far below its buckets; a new S3 handler adds its own few.
    const s3Handlers = ['ObjectCreated', 'ObjectDeleted', 'ObjectTagsChanged'];
    for (const handler of s3Handlers) {
      const rules = eventPatterns(template).filter(([id]) => rulesTarget(template, id, handler));
      expect(rules.length, handler).toBeGreaterThan(0);
      expect(rules.length, handler).toBeLessThan(buckets / 5);
    }
    // A forwarder holds one rule per event source it forwards (aws.ec2's snapshot and AMI events, aws.tag's
    // tag changes), however many rules and Regions the configuration has.
    for (const file of forwarderFiles()) {
      const sources = eventPatterns(read(file)).map(([, pattern]) => JSON.stringify(pattern.source));
      expect(sources.length, file).toBeGreaterThan(0);
      expect(new Set(sources).size, file).toBe(sources.length);
    }
  });

  it('fits every IAM and CloudFormation limit deploy/limits.ts checks, on every template written', () => {
    for (const file of [STACK_TEMPLATE, ...forwarderFiles()]) {
      const body = readFileSync(file, 'utf8');
      const { report, errors } = checkTemplate(file, JSON.parse(body) as CfnTemplate, body);
      expect(
        errors.map((error) => error.message),
        file,
      ).toEqual([]);
      // The checks did measure: the body as uploaded, and every role's policies.
      expect(report.bytes, file).toBe(statSync(file).size);
      for (const role of report.roles) {
        expect(role.inline, role.role).toBeLessThanOrEqual(LIMITS.roleInlinePolicyChars);
        for (const chars of role.managed)
          expect(chars, role.role).toBeLessThanOrEqual(LIMITS.managedPolicyChars);
        expect(role.attached, role.role).toBeLessThanOrEqual(LIMITS.managedPoliciesPerRole);
      }
    }
  });

  it('fits each function role by the precision ladder, recording the step in the role and the report', () => {
    const body = readFileSync(STACK_TEMPLATE, 'utf8');
    const template = JSON.parse(body) as CfnTemplate;
    const functionRoles = checkTemplate('main', template, body).report.roles.filter(
      (role) => role.fit !== undefined,
    );
    // One role per function the template deploys, every one fitted. (Each has its entry in functions/; an
    // entry's function may be left out by the configuration, as objectCreatedBatch is without queue delivery.)
    const deployed = Object.values(template.Resources ?? {}).filter(
      (resource) => resource.Type === 'AWS::Lambda::Function',
    );
    expect(deployed.length).toBeGreaterThanOrEqual(12);
    expect(deployed.length).toBeLessThanOrEqual(
      readdirSync('functions').filter((file) => file.endsWith('.ts')).length,
    );
    expect(functionRoles).toHaveLength(deployed.length);
    for (const role of functionRoles) {
      expect(PRECISION_LADDER, role.role).toContain(role.fit);
      const resource = template.Resources?.[role.role] as { Metadata?: Record<string, { step: string }> };
      expect(resource.Metadata?.[POLICY_FIT_METADATA]?.step, role.role).toBe(role.fit);
    }
    // A thousand rules do not fit without managed policies, and each is a resource of the template.
    const managed = Object.values(template.Resources ?? {}).filter(
      (resource) => resource.Type === 'AWS::IAM::ManagedPolicy',
    );
    expect(managed.length).toBe(functionRoles.reduce((sum, role) => sum + role.managed.length, 0));
    expect(managed.length).toBeGreaterThan(0);
  });

  it('prints the size report of every template it writes, main and forwarders', () => {
    const names = [
      'main',
      ...forwarderFiles().map((file) => file.slice(`${FOLDER}/`.length, -'.json'.length)),
    ];
    expect(names).toEqual(expect.arrayContaining(['main', 'forwarder-us-east-2', 'forwarder-eu-west-1']));
    for (const name of names)
      expect(output).toMatch(new RegExp(`^${name}: \\d+/500 resources, [\\d,]+/1,000,000 bytes$`, 'm'));
    expect(output).toMatch(
      /^ {2}ReconcileRole \[fitted: [a-z-]+\]: inline [\d,]+\/10,240 chars, managed \d+\/10 /m,
    );
    expect(output).not.toContain('✖');
  });

  it('keeps every event pattern within EventBridge’s 2,048 characters', () => {
    for (const file of [STACK_TEMPLATE, ...forwarderFiles()]) {
      for (const [id, pattern] of eventPatterns(read(file))) {
        expect(patternSize(pattern), `${file} ${id}`).toBeLessThanOrEqual(EVENT_PATTERN_MAX_CHARS);
      }
    }
  });

  it('delivers each object rule’s events to objectCreated through exactly one packaged rule', () => {
    const template = read(STACK_TEMPLATE);
    const created = eventPatterns(template)
      .map(([, pattern]) => pattern)
      .filter((pattern) => JSON.stringify(pattern['detail-type']) === '["Object Created"]');
    for (const rule of objectRulesOf(loadConfigFile(CONFIG))) {
      const event = {
        source: 'aws.s3',
        'detail-type': 'Object Created',
        detail: { bucket: { name: rule.objects.bucket }, object: { key: `${rule.objects.prefix}x.json` } },
      };
      expect(
        created.filter((pattern) => matchesPattern(event, pattern)),
        rule.name,
      ).toHaveLength(1);
    }
  });

  it('has 0 cfn-lint errors on the stack and forwarder templates, as CI lints them', async () => {
    const templates = [
      `${FOLDER}/cloudformation-template-create-stack.json`,
      STACK_TEMPLATE,
      ...forwarderFiles(),
    ];
    expect(forwarderFiles().length).toBeGreaterThan(0);
    const lint = await cfnLint(templates);
    expect(lint.status, lint.output).toBe(0);
  }, 600_000);
});
