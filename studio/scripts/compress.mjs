// After `vite build`: a Brotli and a gzip copy of every text asset, so partitur serve answers
// browsers that accept them with about a quarter of the bytes (the assets are immutable, so
// compressing once at build time costs nothing per request).
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const root = new URL("../../src/partitur/web/studio/", import.meta.url).pathname;
const TEXT = /\.(js|css|html|svg|json|map)$/;
let before = 0;
let after = 0;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      walk(path);
    } else if (TEXT.test(name) && statSync(path).size > 1024) {
      const data = readFileSync(path);
      const br = brotliCompressSync(data, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: 9,
          [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        },
      });
      writeFileSync(`${path}.br`, br);
      writeFileSync(`${path}.gz`, gzipSync(data, { level: 9 }));
      before += data.length;
      after += br.length;
    }
  }
}

walk(root);
console.log(
  `studio: compressed ${(before / 1024).toFixed(0)} kB to ${(after / 1024).toFixed(0)} kB (brotli)`,
);
