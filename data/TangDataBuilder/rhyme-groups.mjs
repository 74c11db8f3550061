// Writes data/tang/rhymes.tsv (argv[2]): for every character of CJK Unified Ideographs U+4E00–U+9FFF that
// pinyin-pro has a reading for, the finals (韵母) of ALL its readings and the modern rhyme tracks (十三辙) they
// belong to. Deterministic: code-point order, finals and groups in the order of pinyin-pro's readings.
//
// The finals are derived from the full toneless syllable, not from pinyin-pro's `pattern: 'final'`: that
// pattern treats y and w as initials, so 也 ye gives "e" (梭波, wrong: ie is 乜斜) and 雨 yu gives "u"
// (姑苏, wrong: ü is 一七). Here the spelling rules of 汉语拼音方案 are undone (yi → i, ye → ie, yu → ü, wu → u,
// ju/qu/xu → ü, iu → iou, ui → uei, un → uen/ün, zhi/chi/shi/ri/zi/ci/si → -i) before the final is looked up.
import { pinyin } from 'pinyin-pro';
import fs from 'node:fs';

const [target, version] = process.argv.slice(2);
if (!target) throw new Error('usage: node rhyme-groups.mjs <rhymes.tsv> [pinyin-pro version]');

// 十三辙 (thirteen rhyme tracks of northern opera and 曲艺) over the standard finals of 汉语拼音.
const TRACKS = {
  '发花': ['a', 'ia', 'ua'],
  '梭波': ['o', 'e', 'uo', 'io'],
  '乜斜': ['ie', 'üe', 'ê'],
  '一七': ['i', 'ü', '-i', 'er'],
  '姑苏': ['u'],
  '怀来': ['ai', 'uai'],
  '灰堆': ['ei', 'uei'],
  '遥条': ['ao', 'iao'],
  '油求': ['ou', 'iou'],
  '言前': ['an', 'ian', 'uan', 'üan'],
  '人辰': ['en', 'in', 'uen', 'ün'],
  '江阳': ['ang', 'iang', 'uang'],
  '中东': ['eng', 'ing', 'ong', 'iong', 'ueng'],
};
const trackOf = new Map(Object.entries(TRACKS).flatMap(([track, finals]) => finals.map(f => [f, track])));

const INITIALS = ['zh', 'ch', 'sh', 'b', 'p', 'm', 'f', 'd', 't', 'n', 'l', 'g', 'k', 'h', 'j', 'q', 'x', 'r', 'z', 'c', 's'];
// Syllables written with y/w (zero initial) → their final.
const ZERO = {
  yi: 'i', ya: 'ia', yo: 'io', ye: 'ie', yao: 'iao', you: 'iou', yan: 'ian', yin: 'in', yang: 'iang', ying: 'ing', yong: 'iong',
  yu: 'ü', yue: 'üe', yuan: 'üan', yun: 'ün',
  wu: 'u', wa: 'ua', wo: 'uo', wai: 'uai', wei: 'uei', wan: 'uan', wen: 'uen', wang: 'uang', weng: 'ueng',
};

/** The standard final of a toneless syllable (ü written as ü or v), or null for n/m/ng interjections and unknown spellings. */
function finalOf(syllable) {
  const s = syllable.normalize('NFC').replace(/v/g, 'ü');
  if (!/^[a-zü]+$|^ê$/.test(s)) return null;
  if (s in ZERO) return ZERO[s];
  if (s === 'ê') return 'ê';
  const initial = INITIALS.find(i => s.startsWith(i) && s.length > i.length);
  if (!initial) return trackOf.has(s) ? s : null; // a, o, e, ai, ei, ao, ou, an, en, ang, eng, er
  let final = s.slice(initial.length);
  if (['j', 'q', 'x'].includes(initial) && final.startsWith('u')) final = 'ü' + final.slice(1);
  if (final === 'i' && ['zh', 'ch', 'sh', 'r', 'z', 'c', 's'].includes(initial)) return '-i';
  if (final === 'iu') final = 'iou';
  else if (final === 'ui') final = 'uei';
  else if (final === 'un') final = 'uen';
  else if (final === 'ün') final = 'ün';
  return trackOf.has(final) ? final : null;
}

const lines = [];
let known = 0;
let ungrouped = 0;
for (let cp = 0x4e00; cp <= 0x9fff; cp++) {
  const ch = String.fromCodePoint(cp);
  const readings = pinyin(ch, { toneType: 'none', multiple: true, type: 'array', v: true })
    .filter(r => r !== ch && r.length > 0);
  if (readings.length === 0) continue; // pinyin-pro echoes a character it does not know
  known++;
  const finals = [...new Set(readings.map(finalOf).filter(f => f !== null))];
  const groups = [...new Set(finals.map(f => trackOf.get(f)))];
  if (groups.length === 0) { ungrouped++; continue; } // only n/m/ng interjections (嗯, 呣): no rhyme track
  lines.push(`${ch}\t${finals.join(',')}\t${groups.join(',')}`);
}

const header = `# rhymes.tsv: character TAB finals of all its readings TAB 十三辙 rhyme tracks, comma-separated; `
  + `${lines.length} characters of U+4E00–U+9FFF, code-point order. Made by data/TangDataBuilder/rhyme-groups.mjs (make data) `
  + `from pinyin-pro@${version ?? '?'} readings: modern Mandarin, not the Middle-Chinese 平水韵.`;
fs.writeFileSync(target, [header, ...lines].join('\n') + '\n');
console.error(`rhyme table: ${lines.length} characters (${known} known to pinyin-pro, ${ungrouped} with only n/m/ng readings left out)`);
