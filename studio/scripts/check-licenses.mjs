// Fails when a package of the Studio carries a licence we may not ship.
// Shipped (runtime) packages must be permissive; build and test tools (dev) may also be
// MPL-2.0 (lightningcss inside Vite, axe-core in the browser tests): they are not shipped.
import { readFileSync } from "node:fs";

const PERMISSIVE = new Set([
  "MIT",
  "ISC",
  "BSD-2-Clause",
  "BSD-3-Clause",
  "0BSD",
  "Apache-2.0",
  "Unlicense",
  "CC0-1.0",
  "MIT OR Apache-2.0",
  "(MIT OR CC0-1.0)",
  "Python-2.0",
]);
const DEV_ONLY = new Set(["MPL-2.0"]);

const lock = JSON.parse(readFileSync(new URL("../package-lock.json", import.meta.url), "utf8"));
const refused = [];
for (const [path, pkg] of Object.entries(lock.packages)) {
  if (!path) continue;
  const licence = pkg.license ?? "UNKNOWN";
  if (PERMISSIVE.has(licence)) continue;
  if (pkg.dev && DEV_ONLY.has(licence)) continue;
  refused.push(`${path.replace(/^node_modules\//, "")}: ${licence}${pkg.dev ? " (dev)" : ""}`);
}
if (refused.length) {
  console.error(`studio: packages with a licence we may not ship:\n  ${refused.join("\n  ")}`);
  process.exit(1);
}
console.log(`studio: ${Object.keys(lock.packages).length - 1} packages, all licences permitted`);
