// npm run bench -- <name> [options]: runs one benchmark (each prints its figures and writes bench/results/).
const BENCHMARKS: Record<string, string> = {
  bundles: './bundles.ts',
  burst: './burst.ts',
  inventory: './inventory.ts',
  objects: './objects.ts',
  reconcile: './reconcile.ts',
  requests: './requests.ts',
  routing: './routing.ts',
  tags: './tag-sync.ts',
  waits: './waits.ts',
};

const [name] = process.argv.slice(2);
const entry = name ? BENCHMARKS[name] : undefined;
if (!entry) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [options]`);
  process.exit(2);
}
await import(entry);

export {};
