// Apollo Client's persisted-query link against a running kaigo-graph (tests/test_persisted_apollo_client.py).
//
//   KAIGO_URL=http://127.0.0.1:8000/graphql KAIGO_TOKEN=... node apq.mjs
//
// For each mode (POST, and GET for hashed queries) it runs one query twice with no cache: the first
// time the server does not know the hash (PERSISTED_QUERY_NOT_FOUND) and the link retries with the
// text, which registers it; the second time the hash alone is sent. Every HTTP exchange is recorded
// and printed as JSON on stdout.
import { createHash } from "node:crypto";

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";

const url = process.env.KAIGO_URL;
const token = process.env.KAIGO_TOKEN;
const sha256 = (text) => createHash("sha256").update(text).digest("hex");

async function run(mode, query) {
  const requests = [];
  const recordingFetch = async (uri, options) => {
    const target = new URL(uri);
    const sent = options.body ? JSON.parse(options.body) : Object.fromEntries(target.searchParams);
    const response = await fetch(uri, options);
    const answer = await response.clone().json();
    requests.push({
      method: options.method ?? "GET",
      sentQuery: typeof sent.query === "string" && sent.query.length > 0,
      sentHash: JSON.stringify(sent.extensions ?? "").includes("sha256Hash"),
      status: response.status,
      code: answer.errors?.[0]?.extensions?.code ?? null,
    });
    return response;
  };
  const link = createPersistedQueryLink({ sha256, useGETForHashedQueries: mode === "get" }).concat(
    new HttpLink({ uri: url, fetch: recordingFetch, headers: { Authorization: `Bearer ${token}` } }),
  );
  const client = new ApolloClient({ link, cache: new InMemoryCache(), name: "kaigo_web", version: "test" });
  const results = [];
  for (const attempt of ["first", "second"]) {
    const before = requests.length;
    const { data } = await client.query({ query: gql(query), fetchPolicy: "no-cache" });
    results.push({ attempt, data, requests: requests.slice(before) });
  }
  return results;
}

const out = {
  post: await run("post", "query Viewer { viewer { subject roles } }"),
  get: await run("get", "query ViewerDuties { viewer { subject duties } }"),
};
console.log(JSON.stringify(out));
