import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// README's "Layout" is the map a newcomer reads first: it must name every folder the tree has, and no
// folder the tree does not have.

const readme = readFileSync('README.md', 'utf8');
const layout = readme.slice(
  readme.indexOf('## Layout\n'),
  readme.indexOf('\n## ', readme.indexOf('## Layout\n') + 1),
);
const blocks = [...layout.matchAll(/```\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');

const folders = (dir: string): string[] =>
  readdirSync(dir).filter((name) => !name.startsWith('.') && statSync(join(dir, name)).isDirectory());

/** Folders the src/ map names: `  name/` at depth 1, `    a/ b/` at depth 2 (several on a line). */
function mappedSrcFolders(block: string): string[] {
  const found: string[] = [];
  let top = '';
  for (const line of block.split('\n')) {
    const depth1 = /^ {2}([\w-]+)\/(?:\s|$)/.exec(line);
    if (depth1?.[1]) {
      top = depth1[1];
      found.push(top);
      continue;
    }
    const lead = /^ {4}((?:[\w-]+\/ ?)+)(?: {2}|$)/.exec(line);
    for (const name of lead?.[1]?.split(/\s+/).filter((part) => part.endsWith('/')) ?? []) {
      found.push(`${top}/${name.slice(0, -1)}`);
    }
  }
  return found.sort();
}

describe('README "Layout"', () => {
  it('It should map every folder of src/, two levels deep, and only those', () => {
    const actual = folders('src')
      .flatMap((top) => [top, ...folders(join('src', top)).map((sub) => `${top}/${sub}`)])
      .sort();
    expect(mappedSrcFolders(blocks[0] ?? '')).toEqual(actual);
  });

  it('It should name every top-level folder of the repository', () => {
    const named = new Set(
      (blocks[1] ?? '')
        .split('\n')
        .map((line) => /^([\w-]+)\/ /.exec(line)?.[1])
        .filter(Boolean),
    );
    const tracked = folders('.').filter((name) => !['node_modules', 'src'].includes(name));
    for (const folder of tracked) expect(named, `${folder}/ is not in README's Layout`).toContain(folder);
  });
});
