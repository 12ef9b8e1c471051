// Copies the generated TextMate grammar into the extension before packaging: vsce only packs
// files inside this folder, and the grammar's source of truth is editors/textmate/.
'use strict';

const fs = require('fs');
const path = require('path');

const source = path.join(__dirname, '..', '..', 'textmate', 'arch.tmLanguage.json');
const target = path.join(__dirname, '..', 'syntaxes', 'arch.tmLanguage.json');

fs.mkdirSync(path.dirname(target), { recursive: true });
fs.copyFileSync(source, target);
console.log(`copied ${path.relative(process.cwd(), source)} -> ${path.relative(process.cwd(), target)}`);
