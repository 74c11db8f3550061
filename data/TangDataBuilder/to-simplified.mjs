// Reads every quan_tang_shi file of the chinese-poetry package (poet.tang.<n>.json, in numeric order),
// converts title, author and text from traditional to simplified characters with OpenCC (Taiwan-agnostic
// 't' → mainland 'cn'), and writes one JSON array of { id, author, title, paragraphs } to argv[3].
import * as OpenCC from 'opencc-js';
import fs from 'node:fs';
import path from 'node:path';

const [source, target] = process.argv.slice(2);
const convert = OpenCC.Converter({ from: 't', to: 'cn' });
const files = fs.readdirSync(source)
  .filter(f => /^poet\.tang\.\d+\.json$/.test(f))
  .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
if (files.length === 0) throw new Error(`no poet.tang.*.json files in ${source}`);
const poems = [];
for (const file of files)
  for (const p of JSON.parse(fs.readFileSync(path.join(source, file), 'utf8')))
    poems.push({ id: p.id, author: convert(p.author ?? ''), title: convert(p.title ?? ''), paragraphs: (p.paragraphs ?? []).map(convert) });
fs.writeFileSync(target, JSON.stringify(poems));
console.error(`converted ${poems.length} poems from ${files.length} files`);
