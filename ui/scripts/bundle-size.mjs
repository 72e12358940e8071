// Prints the production bundle's size, raw and gzipped, per file and in all (budget: 500 KB gz).
// Run after `npm run build`: `node scripts/bundle-size.mjs [--json]`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET_KB = 500;
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

let all;
try {
  all = files(dist).filter((path) => /\.(js|css|html)$/.test(path));
} catch {
  console.error(`bundle-size: no build at ${dist}; run \`npm run build\` first`);
  process.exit(2);
}
const rows = all
  .map((path) => {
    const bytes = readFileSync(path);
    return { file: relative(dist, path), raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  })
  .sort((a, b) => b.gzip - a.gzip);
const total = rows.reduce((sum, r) => ({ raw: sum.raw + r.raw, gzip: sum.gzip + r.gzip }), { raw: 0, gzip: 0 });
const kb = (n) => (n / 1024).toFixed(1);

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ files: rows, total, budget_kb: BUDGET_KB }));
} else {
  for (const r of rows) console.log(`${kb(r.gzip).padStart(7)} KB gz ${kb(r.raw).padStart(8)} KB  ${r.file}`);
  console.log(
    `bundle: ${kb(total.gzip)} KB gzipped (${kb(total.raw)} KB raw) in ${rows.length} files; budget ${BUDGET_KB} KB gz`,
  );
}
