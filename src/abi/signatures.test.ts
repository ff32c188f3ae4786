// The signature table must say what the functions of abi/ expect, for every import: their
// names, their arity, and (read from their TypeScript declarations) which parameters are i64
// (bigint) and whether they return a value. And it must agree with wasi-libc (all_imports.wasm).
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { GuestMemory, wasiImports } from './index.js';
import { wtmImports } from './wtm.js';
import { splitSignature } from './adapter.js';
import { PROVIDED_SIGNATURES, WASI_SIGNATURES, WTM_SIGNATURES, formatSignature } from './signatures.js';
import { readImports } from '../runtime/imports.js';
import type { System, TaskHost } from '../system/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const provided = {
  wasi_snapshot_preview1: wasiImports({} as System, new GuestMemory()) as Record<string, (...a: never[]) => unknown>,
  wtm: wtmImports({} as TaskHost, new GuestMemory()) as Record<string, (...a: never[]) => unknown>,
};

/** The wasm signature of every method declared in src/abi/*.ts, from its TypeScript types. */
function declaredSignatures(): Map<string, string> {
  const out = new Map<string, string>();
  const dir = path.join(root, 'src/abi');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    const src = ts.createSourceFile(f, readFileSync(path.join(dir, f), 'utf8'), ts.ScriptTarget.ES2022, true);
    const visit = (n: ts.Node): void => {
      if (ts.isMethodDeclaration(n) && ts.isObjectLiteralExpression(n.parent) && ts.isIdentifier(n.name)) {
        const type = (t: ts.TypeNode | undefined) => (t?.getText() === 'bigint' ? 'i64' : t?.getText() === 'number' ? 'i32' : `?${t?.getText()}`);
        // An i64 comes as two halves (i64.ts, adapter.ts): `xLo: Lo, xHi: Hi` is one i64.
        const params: string[] = [];
        const ps = n.parameters;
        for (let i = 0; i < ps.length; i++) {
          if (ps[i]!.type?.getText() === 'Lo' && ps[i + 1]?.type?.getText() === 'Hi') {
            params.push('i64');
            i++;
          } else {
            params.push(type(ps[i]!.type));
          }
        }
        const results = n.type?.getText() === 'void' ? [] : [type(n.type)];
        out.set(n.name.text, formatSignature({ params, results }));
      }
      ts.forEachChild(n, visit);
    };
    visit(src);
  }
  return out;
}

describe('signature table', () => {
  for (const [module, fns] of Object.entries(provided)) {
    it(`${module}: the table names exactly the functions provided, each with its arity`, () => {
      const table = PROVIDED_SIGNATURES[module]!;
      assert.deepEqual(Object.keys(table).sort(), Object.keys(fns).sort());
      for (const [name, fn] of Object.entries(fns)) assert.equal(fn.length, splitSignature(table[name]!).params.length, `${module}.${name}`);
    });
  }

  it('every provided function is declared with the table\'s types (Lo, Hi = one i64, void = no result)', () => {
    const declared = declaredSignatures();
    for (const table of [WASI_SIGNATURES, WTM_SIGNATURES]) {
      for (const [name, sig] of Object.entries(table)) assert.equal(declared.get(name), formatSignature(sig), name);
    }
  });

  it('agrees with wasi-libc: all_imports.wasm imports 45 functions, each with the table\'s signature', () => {
    const imports = readImports(readFileSync(path.join(root, 'tests/guests/all_imports.wasm')));
    assert.equal(imports.length, 45);
    for (const imp of imports) {
      assert.equal(imp.module, 'wasi_snapshot_preview1');
      assert.equal(typeof imp.type, 'object', imp.name);
      const want = WASI_SIGNATURES[imp.name];
      assert.ok(want, `${imp.name} is not in the table`);
      assert.equal(formatSignature(imp.type as { params: string[]; results: string[] }), formatSignature(want), imp.name);
    }
  });

  it('spells signatures as a user reads them', () => {
    assert.equal(formatSignature(WASI_SIGNATURES.clock_time_get!), '(i32, i64, i32) -> i32');
    assert.equal(formatSignature(WASI_SIGNATURES.fd_seek!), '(i32, i64, i32, i32) -> i32');
    assert.equal(formatSignature(WASI_SIGNATURES.proc_exit!), '(i32) -> ()');
    assert.equal(formatSignature({ params: [], results: ['i32', 'i64'] }), '() -> (i32, i64)');
  });
});
