// Resolved by `${file(./deploy/parts.cjs):…}` in serverless.yml. The framework loads .js/.cjs files with
// require() and calls an exported function (async is fine) with { options, resolveVariable,
// resolveConfigurationProperty }, so this shim loads the TypeScript generator through tsx at package time.
// `import('tsx/esm/api')`, not `require`: tsx's CommonJS build of tsImport cannot register its loader on
// Node 20. The rules file is `custom.config`; the functions are deployed with it compiled to JSON.
const { mkdirSync, writeFileSync } = require('node:fs');
const { dirname } = require('node:path');

/** Where the compiled rules go, relative to the service (and so to Lambda's cwd inside each zip). */
const COMPILED_RULES = '.build/rules.json';

let parts;
module.exports = async ({ resolveConfigurationProperty }) => {
  parts ??= (async () => {
    const { tsImport } = await import('tsx/esm/api');
    const { templateParts } = await tsImport('./template-parts.ts', __filename);
    const { compileRules, loadConfigFile } = await tsImport('../src/rules/load.ts', __filename);
    const { DEPLOYED_EC2_COMPLETION, ec2CopyDefinition } = await tsImport(
      '../statemachines/ec2-copy.ts',
      __filename,
    );
    const property = (...path) => resolveConfigurationProperty(path);
    const configPath = await property('custom', 'config');
    // The functions read their rules as JSON (no YAML parser in their bundles): compiled here, packaged
    // beside each bundle (`package.patterns`) and named by FERRY_CONFIG.
    mkdirSync(dirname(COMPILED_RULES), { recursive: true });
    writeFileSync(COMPILED_RULES, compileRules(configPath));
    return {
      ...templateParts(loadConfigFile(configPath), {
        service: await property('service'),
        stage: await property('provider', 'stage'),
        region: await property('provider', 'region'),
      }),
      rulesFile: COMPILED_RULES,
      // serverless.yml's stepFunctions definitions: one EC2 copy machine, rendered for each kind, waiting
      // for the copy's completion event (README, "Waiting for the copy by event").
      snapshotCopyDefinition: ec2CopyDefinition('snapshot', DEPLOYED_EC2_COMPLETION),
      imageCopyDefinition: ec2CopyDefinition('image', DEPLOYED_EC2_COMPLETION),
    };
  })();
  return parts;
};
