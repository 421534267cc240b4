// Builds vendor/ from node_modules/ (run by `make graphiql`, after `npm ci`): the files the GraphiQL page
// loads, at the versions package-lock.json pins, so that the server needs no CDN and no network.
//
// - React, ReactDOM and GraphiQL's UMD bundle are copied (GraphiQL's bundle carries graphql-js, CodeMirror and
//   the rest of its dependencies; its source-map comment is dropped: the map is not shipped);
// - GraphiQL's stylesheet embeds its fonts and icons as data: URLs, which a page whose Content-Security-Policy
//   allows only 'self' may not load: each becomes a file of assets/, named by its content's sha256;
// - LICENSES.txt holds the licence of every package of the lock, the bundled ones included;
// - manifest.json lists the pinned versions and the sha256 of every file: the server serves these files and
//   no other, and tests/test_graphiql_assets.py checks the committed files against it.
//
// Node built-ins only; the same node_modules give the same bytes.

import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const out = join(here, "vendor");
const PINNED = ["graphiql", "react", "react-dom"];
const COPIED = {
  "react.production.min.js": "react/umd/react.production.min.js",
  "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
  "graphiql.min.js": "graphiql/graphiql.min.js",
};
const CSS = { "graphiql.min.css": "graphiql/graphiql.min.css" };
const EXTENSIONS = { "font/woff2": "woff2", "font/woff": "woff", "image/png": "png" };

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("hex");
const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
const manifest = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));

const versions = {};
for (const name of PINNED) {
  const locked = lock.packages[`node_modules/${name}`]?.version;
  const installed = JSON.parse(readFileSync(join(modules, name, "package.json"), "utf8")).version;
  if (manifest.dependencies[name] !== locked || installed !== locked) {
    throw new Error(`${name}: package.json ${manifest.dependencies[name]}, lock ${locked}, installed ${installed}`);
  }
  versions[name] = locked;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "assets"), { recursive: true });
const files = {};
const write = (name, bytes) => {
  writeFileSync(join(out, name), bytes);
  files[name] = sha256(bytes);
};

for (const [name, source] of Object.entries(COPIED)) {
  const text = readFileSync(join(modules, source), "utf8").replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n");
  write(name, text);
}

for (const [name, source] of Object.entries(CSS)) {
  const css = readFileSync(join(modules, source), "utf8").replace(
    /url\((["']?)data:([a-z0-9/+.-]+);base64,([A-Za-z0-9+/=]+)\1\)/g,
    (_, quote, type, data) => {
      const extension = EXTENSIONS[type];
      if (!extension) throw new Error(`${source}: a data: URL of type ${type}`);
      const bytes = Buffer.from(data, "base64");
      const asset = `assets/${sha256(bytes).slice(0, 16)}.${extension}`;
      write(asset, bytes);
      return `url(${asset})`;
    },
  );
  if (/url\((["']?)(data:|https?:|\/\/)/.test(css)) throw new Error(`${source}: a URL left that is not the server's`);
  write(name, css);
}

const licenceFile = (folder) =>
  readdirSync(folder)
    .filter((f) => /^(licen[cs]e|copying)/i.test(f))
    .sort()[0];
const licences = [
  "Third-party software served with kaigo-graph's GraphiQL page (api/graphiql/vendor/), one entry per",
  "package of api/graphiql/package-lock.json. graphiql.min.js bundles GraphiQL's own dependencies.",
  "",
];
for (const [path, entry] of Object.entries(lock.packages).sort(([a], [b]) => a.localeCompare(b))) {
  if (!path) continue;
  const name = path.replace(/^.*node_modules\//, "");
  const folder = join(here, path);
  licences.push("=".repeat(100), `${name} ${entry.version} (${entry.license ?? "no licence declared"})`, "");
  const file = existsSync(folder) ? licenceFile(folder) : undefined;
  licences.push(
    file
      ? readFileSync(join(folder, file), "utf8").trim()
      : `(the package ships no licence file; its package.json declares ${entry.license})`,
    "",
  );
}
write("LICENSES.txt", licences.join("\n"));

const sorted = Object.fromEntries(Object.entries(files).sort(([a], [b]) => a.localeCompare(b)));
writeFileSync(join(out, "manifest.json"), JSON.stringify({ versions, files: sorted }, null, 2) + "\n");
console.log(`vendor/: ${Object.keys(sorted).length} files (${PINNED.map((n) => `${n} ${versions[n]}`).join(", ")})`);
