// Tokenizes files with VS Code's own TextMate engine (vscode-textmate + Oniguruma) and prints
// the tokens as JSON, so tests/test_editors.py can check that its Python TextMate tokenizer
// agrees with the editor.  Usage: node scripts/tokenize.js GRAMMAR.json FILE...
// Output: {file: [[[start, end, [scopes...]], ...] per line]}, offsets in code points.
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

function onigLib() {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));
  return oniguruma.loadWASM(wasm.buffer).then(() => ({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }));
}

// vscode-textmate counts UTF-16 code units; Python counts code points.
function codePoints(line, index) {
  return Array.from(line.slice(0, index)).length;
}

function tokenizeFile(grammar, file) {
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  let state = vsctm.INITIAL;
  return lines.map((line) => {
    const result = grammar.tokenizeLine(line, state);
    state = result.ruleStack;
    return result.tokens.map((t) => [codePoints(line, t.startIndex), codePoints(line, t.endIndex), t.scopes]);
  });
}

async function main() {
  const [grammarPath, ...files] = process.argv.slice(2);
  const registry = new vsctm.Registry({
    onigLib: onigLib(),
    loadGrammar: async () => vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath),
  });
  const grammar = await registry.loadGrammar('source.arch');
  const out = {};
  for (const file of files) {
    out[file] = tokenizeFile(grammar, file);
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
