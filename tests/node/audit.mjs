// The graphql-http audit suite (GraphQL over HTTP: MUST and SHOULD) against a running kaigo-graph.
// Usage: node audit.mjs URL TOKEN — prints one JSON array of {id, name, status, reason}.
import { auditServer } from "graphql-http";

const [url, token] = process.argv.slice(2);
// Every request carries the token: kaigo-graph answers nothing without one.
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  headers.set("authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const out = [];
for (const r of results) {
  out.push({ id: r.id, name: r.name, status: r.status, reason: r.status === "ok" ? "" : r.reason });
}
console.log(JSON.stringify(out));
