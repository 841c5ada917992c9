// Imports a Lambda entry file the way Lambda's init does, and says what it exports.
const entry = process.argv[2];
if (!entry) throw new Error('usage: tsx test/support/import-entry.ts ENTRY_FILE');
const module = (await import(new URL(`../../${entry}`, import.meta.url).href)) as Record<string, unknown>;
console.log(typeof module.handler);
