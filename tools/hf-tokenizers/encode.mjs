// node encode.mjs <tokenizer folder> <texts.json>: prints the ids of each text (a JSON array of arrays) as the
// pure-JavaScript Hugging Face tokenizers library encodes them from the folder's tokenizer.json and tokenizer_config.json.
// ExportTests compares them with our own tokenizer's ids; nothing here is needed to train or run a model.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";

const [folder, textsFile] = process.argv.slice(2);
const read = (path) => JSON.parse(readFileSync(path, "utf8"));
const tokenizer = new Tokenizer(read(join(folder, "tokenizer.json")), read(join(folder, "tokenizer_config.json")));
const texts = read(textsFile);
const ids = texts.map((text) => tokenizer.encode(text, { add_special_tokens: false }).ids);
const decoded = ids.map((row) => tokenizer.decode(row, { skip_special_tokens: false }));
process.stdout.write(JSON.stringify({ ids, decoded }));
