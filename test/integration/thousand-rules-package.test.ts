import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, checkTemplate, LIMITS } from '#deploy/limits';
import { matchesPattern } from '#local/event-pattern';
import { imageRulesOf, objectRulesOf, snapshotRulesOf } from '#rules/config';
import { EVENT_PATTERN_MAX_CHARS, type EventPattern, patternSize } from '#rules/event-patterns';
import { loadConfigFile } from '#rules/load';
import { writeThousandRules } from '#test/support/thousand-rules';

/**
 * Issue 13, "Limits checked at package time": a generated 1,000-rule configuration (objects over 200+
 * buckets, snapshots, AMIs) packaged as CI packages, every limit asserted on the templates it writes, and
 * cfn-lint run on them as .ci/run does. The work is asynchronous (packaging, linting), so the test's thread
 * keeps turning and the stall watchdog (test/setup.ts) stays quiet.
 */

const run = promisify(execFile);
const CONFIG = '.build/thousand-rules/replication.yml';
// Its own folder: test/integration/package-limits.test.ts packages the same rules without --minify-template.
const FOLDER = '.build/package-thousand-rules-minified';
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

describe('npm run package: a generated 1,000-rule configuration', () => {
  beforeAll(async () => {
    writeThousandRules(CONFIG);
    // --minify-template: the file is then byte for byte what the framework uploads for CloudFormation
    // (it sends the template compact), so its size and cfn-lint's size check are the deployed figures.
    await run(
      'npm',
      ['run', '-s', 'package', '--', '--stage', 'ci', '--package', FOLDER, '--minify-template'],
      { env: { ...process.env, FERRY_CONFIG: CONFIG }, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
    );
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
    expect(eventPatterns(template).length).toBeLessThan(buckets / 5);
    for (const file of forwarderFiles()) expect(eventPatterns(read(file)), file).toHaveLength(1);
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
    const lint = await run('.ci/cfn-lint', templates, { maxBuffer: 16 * 1024 * 1024 }).then(
      ({ stdout, stderr }) => ({ status: 0, stdout, stderr }),
      (error: { code?: number; stdout?: string; stderr?: string }) => ({
        status: error.code ?? -1,
        stdout: error.stdout ?? '',
        stderr: error.stderr ?? '',
      }),
    );
    // Not skipped when cfn-lint is missing: the test fails and says why (.ci/cfn-lint exits 127).
    if (lint.status === 127) throw new Error(`cfn-lint is required for this test: ${lint.stderr.trim()}`);
    expect(lint.status, `${lint.stdout}\n${lint.stderr}`).toBe(0);
  }, 600_000);
});
