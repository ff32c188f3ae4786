#!/usr/bin/env node
// npm pack/publish: the package's package.json leaves out the scripts that only build a
// checkout (`prepare` would make npm list the package as one with install scripts).
//   prepack: node scripts/pack-manifest.mjs strip     postpack: node scripts/pack-manifest.mjs restore
import fs from 'node:fs';

const file = 'package.json';
const saved = '.package.json.unpacked';
if (process.argv[2] === 'strip') {
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(saved, text);
  const pkg = JSON.parse(text);
  delete pkg.scripts;
  delete pkg.devDependencies;
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n');
} else if (process.argv[2] === 'restore') {
  if (fs.existsSync(saved)) fs.renameSync(saved, file);
} else {
  console.error('usage: node scripts/pack-manifest.mjs strip|restore');
  process.exit(2);
}
