#!/usr/bin/env node
// CLI: regenerate models/ (default) or verify it is up to date.
//   node tools/model-gen/dist/main.js [--out DIR] [--check]
// --check writes nothing and exits 1 if any generated file is missing or
// differs, so CI can catch hand-edited or stale models.
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generate, toBytes } from './generate.js';

// dist/main.js (and src/main.ts) sit three levels below the repo root.
const DEFAULT_OUT = fileURLToPath(new URL('../../../models/', import.meta.url));

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, check: { type: 'boolean', default: false }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    console.log('usage: main.js [--out DIR] [--check]');
    return 0;
  }
  const outDir = values.out !== undefined ? resolve(values.out) : DEFAULT_OUT;
  const { files, penguinAccuracy } = generate();
  console.log(
    `penguins training accuracy: v1 (logistic) ${penguinAccuracy.v1.toFixed(4)}, v2 (mlp) ${penguinAccuracy.v2.toFixed(4)}`,
  );

  const differing: string[] = [];
  for (const [rel, content] of files) {
    const path = join(outDir, ...rel.split('/'));
    const bytes = toBytes(content);
    if (values.check) {
      if (!existsSync(path) || !sameBytes(readFileSync(path), bytes)) differing.push(rel);
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    console.log(`wrote ${rel} (${bytes.length} bytes)`);
  }
  if (values.check) {
    if (differing.length > 0) {
      console.error(`${differing.length} file(s) in ${outDir} differ from the generator (run \`npm run models\`):`);
      for (const rel of differing) console.error(`  ${rel}`);
      return 1;
    }
    console.log(`all ${files.size} files in ${outDir} are up to date`);
  }
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 2;
}
