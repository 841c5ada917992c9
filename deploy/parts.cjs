// Resolved by `${file(./deploy/parts.cjs):…}` in serverless.yml. The framework loads .js/.cjs files with
// require() and calls an exported function (async is fine) with { options, resolveVariable,
// resolveConfigurationProperty }, so this shim loads the TypeScript generator through tsx at package time.
// `import('tsx/esm/api')`, not `require`: tsx's CommonJS build of tsImport cannot register its loader on
// Node 20. The rules file is the one the functions are deployed with (`custom.config`).
let parts;
module.exports = async ({ resolveConfigurationProperty }) => {
  parts ??= (async () => {
    const { tsImport } = await import('tsx/esm/api');
    const { templateParts } = await tsImport('./template-parts.ts', __filename);
    const { loadConfigFile } = await tsImport('../src/rules/load.ts', __filename);
    const property = (...path) => resolveConfigurationProperty(path);
    const configPath = await property('custom', 'config');
    return templateParts(loadConfigFile(configPath), {
      service: await property('service'),
      stage: await property('provider', 'stage'),
      region: await property('provider', 'region'),
    });
  })();
  return parts;
};
