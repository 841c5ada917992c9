import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The import boundaries of biome.json, proven to bite: `npm run lint` (biome check) is run on a copy of
// the repository's biome.json over fixture files, some crossing a boundary and some not, and must fail
// on exactly the ones that cross.

const ROOT = process.cwd();
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

/** Each file holds one import and uses it, so a diagnostic on it can only be about that import. */
const importing = (specifier: string) =>
  `import { thing } from '${specifier}';\n\nexport const used = thing;\n`;

const CROSSING: Record<string, string> = {
  'src/objects/sandbox-alias.ts': importing('#local/sandbox'),
  'src/objects/sandbox-relative.ts': importing('../../local/sandbox.ts'),
  'src/foundation/bench-relative.ts': importing('../../bench/routing.ts'),
  'src/rules/soak-alias.ts': importing('#soak/workload'),
  'src/rules/soak-relative.ts': importing('../../soak/workload.ts'),
  'src/adapters/test-alias.ts': importing('#test/support/fixtures'),
  'src/adapters/test-relative.ts': importing('../../test/support/fixtures.ts'),
  'functions/sandbox-relative.ts': importing('../local/sandbox.ts'),
  'functions/test-alias.ts': importing('#test/support/fixtures'),
  'functions/sandbox-dynamic.ts': "export const load = () => import('#local/sandbox');\n",
  'src/objects/handlers/sandbox-reexport.ts': "export { thing } from '#local/sandbox';\n",
  'cli/sandbox-alias.ts': importing('#local/sandbox'),
  'cli/sandbox-relative.ts': importing('../local/sandbox.ts'),
};

/** Imports on the right side of every boundary, and names that only look like a forbidden folder. */
const ALLOWED: Record<string, string> = {
  'src/objects/foundation.ts': importing('#aws/clients'),
  'src/objects/sibling.ts': importing('./local-time.ts'),
  'functions/handler.ts': importing('#handlers/object-created'),
  'cli/shared.ts': importing('#aws/sandbox-credentials'),
  'local/anything.ts': importing('#test/support/fixtures'),
  'bench/sandbox.ts': importing('#local/sandbox'),
  'soak/sandbox.ts': importing('../local/sandbox.ts'),
  'test/sandbox.ts': importing('#local/sandbox'),
};

interface Diagnostic {
  severity: string;
  category: string;
  file: string;
  message: string;
}

let workspace: string;
let run: { status: number | null; diagnostics: Diagnostic[]; output: string };

beforeAll(() => {
  workspace = mkdtempSync(join(tmpdir(), 'ferry-lint-boundaries-'));
  copyFileSync(join(ROOT, 'biome.json'), join(workspace, 'biome.json'));
  for (const [file, text] of Object.entries({ ...CROSSING, ...ALLOWED })) {
    mkdirSync(dirname(join(workspace, file)), { recursive: true });
    writeFileSync(join(workspace, file), text);
  }
  // The copy is no git repository: the VCS settings (which only choose the files to walk) are set aside.
  const result = spawnSync(BIOME, ['check', '--vcs-enabled=false', '--reporter=github', '.'], {
    cwd: workspace,
    encoding: 'utf8',
    timeout: 60_000,
  });
  // GitHub workflow commands, one a line: `::error title=CATEGORY,file=PATH,line=…::MESSAGE`.
  const diagnostics = [...result.stdout.matchAll(/^::(\w+) title=([^,]+),file=([^,]+),[^:]*::(.*)$/gm)].map(
    ([, severity = '', category = '', file = '', message = '']) => ({
      severity,
      category,
      file: relative(workspace, file),
      message,
    }),
  );
  run = { status: result.status, diagnostics, output: `${result.stdout}${result.stderr}` };
}, 60_000);

afterAll(() => rmSync(workspace, { recursive: true, force: true }));

describe('Import boundaries (biome.json noRestrictedImports, run by npm run lint)', () => {
  it('It should be what npm run lint runs', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts.lint).toMatch(/\bbiome check\b/);
  });

  it('It should fail the lint on every import that crosses a boundary, and on nothing else', () => {
    expect(run.status, run.output).toBe(1);
    const errors = run.diagnostics.filter((diagnostic) => diagnostic.severity === 'error');
    // Nothing but the boundary rule fails: the fixtures are otherwise clean, so the exit status is its doing.
    expect(new Set(errors.map((error) => error.category))).toEqual(
      new Set(['lint/style/noRestrictedImports']),
    );
    expect(errors.map((error) => error.file).sort()).toEqual(Object.keys(CROSSING).sort());
  });

  it('It should say which folder may not be imported, and why', () => {
    const messageOf = (file: string) =>
      run.diagnostics.find((diagnostic) => diagnostic.file === file)?.message;
    expect(messageOf('src/objects/sandbox-alias.ts')).toMatch(/what Lambda runs.*sandbox \(local\/\)/);
    expect(messageOf('src/foundation/bench-relative.ts')).toMatch(/benchmarks \(bench\/\)/);
    expect(messageOf('src/rules/soak-alias.ts')).toMatch(/soak run \(soak\/\)/);
    expect(messageOf('functions/test-alias.ts')).toMatch(/tests \(test\/\)/);
    expect(messageOf('cli/sandbox-alias.ts')).toMatch(/CLI .* never imports local\//);
  });
});
