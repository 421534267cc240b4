// PostGraphile 5 serving the bench's kaigo database: the peer of bench/peers.py (issue 14).
//
//   DATABASE_URL=postgres://… PORT=5678 WORKERS=2 node server.mjs     (Node 22; bench/peers.py runs it)
//
// Production-like, as a team would deploy it: GRAPHILE_ENV=production (grafast's production mode), no
// GraphiQL, no explain, no watch; N worker processes (node:cluster, WORKERS, default 2: kaigo runs 2 uvicorn
// workers), each with its own schema and connection pool, the OS spreading connections over the workers as
// it does for uvicorn's. A query is planned once per document by grafast and answered with one SQL
// statement. Read-only: the bench needs no mutations, so none are built. No authentication (PostGraphile's
// JWT and pgSettings would add a transaction per request): kaigo verifies an ES256 JWT and writes an audit
// entry per request, PostGraphile does neither — that is part of what the comparison measures.
//
// The tables are PostGraphile's view of the schema kaigo migrated (foreign keys as relations: a person's
// qualification, certifications, levies → installments → receipts, claim results) as a team would expose
// them. What kaigo's documents select by is written with PostGraphile's own means, no SQL functions and no
// extra schema: `condition` (built in) for the levy's fiscal year; postgraphile-plugin-connection-filter
// 4.0.1 (its PostGraphile 5 release) for the kana prefix on 氏名カナ or 通称名カナ (`or` + `startsWith`),
// the claim months in a range, and the current certification (decided, not cancelled by today,
// validFrom ≤ today ≤ validTo; `orderBy: [VALID_FROM_DESC, PRIMARY_KEY_DESC]`, `first: 1`).
// @graphile/pg-aggregates is not needed. bench/peers/postgraphile/documents.json holds the queries.
import cluster from "node:cluster";
import { createServer } from "node:http";
import process from "node:process";

process.env.GRAPHILE_ENV ??= "production";
process.env.NODE_ENV ??= "production";

const workers = Number(process.env.WORKERS ?? 2);
const port = Number(process.env.PORT ?? 5678);
const host = process.env.HOST ?? "127.0.0.1";

if (cluster.isPrimary && workers > 1) {
  // Each worker accepts on the shared socket itself (as uvicorn's workers do), not round-robin via the primary.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let ready = 0;
  for (let i = 0; i < workers; i++) cluster.fork();
  cluster.on("message", (_worker, message) => {
    if (message === "ready" && ++ready === workers) console.log(`postgraphile ready: ${workers} workers on ${host}:${port}`);
  });
  cluster.on("exit", (worker, code, signal) => {
    console.error(`worker ${worker.process.pid} exited (${signal ?? code})`);
    process.exitCode = 1;
    for (const other of Object.values(cluster.workers ?? {})) other?.kill();
  });
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} else {
  await serve();
}

async function serve() {
  const { postgraphile } = await import("postgraphile");
  const { PostGraphileAmberPreset } = await import("postgraphile/presets/amber");
  const { makePgService } = await import("postgraphile/adaptors/pg");
  const { grafserv } = await import("postgraphile/grafserv/node");
  const { PostGraphileConnectionFilterPreset } = await import("postgraphile-plugin-connection-filter");

  const preset = {
    extends: [PostGraphileAmberPreset, PostGraphileConnectionFilterPreset],
    disablePlugins: [
      // Read-only: no create/update/delete mutations.
      "PgMutationCreatePlugin",
      "PgMutationUpdateDeletePlugin",
      "PgMutationPayloadEdgePlugin",
      // Filtering and ordering on any column, as kaigo's documents do (PostGraphile 5 otherwise offers only
      // indexed columns; the rows filtered are those of one person's index scan either way).
      "PgIndexBehaviorsPlugin",
    ],
    pgServices: [
      makePgService({
        connectionString: process.env.DATABASE_URL,
        schemas: ["public"],
        // Connections stay open (as kaigo's pool keeps them): no reconnects inside a measurement.
        poolConfig: { max: Number(process.env.POOL_SIZE ?? 10), idleTimeoutMillis: 0 },
      }),
    ],
    schema: {
      connectionFilterAllowedOperators: [
        "isNull",
        "equalTo",
        "lessThanOrEqualTo",
        "greaterThan",
        "greaterThanOrEqualTo",
        "startsWith",
      ],
      connectionFilterComputedColumns: false,
      connectionFilterSetofFunctions: false,
      connectionFilterArrays: false,
    },
    grafserv: { graphqlPath: "/graphql", graphiql: false, watch: false, websockets: false },
    grafast: { explain: false },
  };

  const pgl = postgraphile(preset);
  const server = createServer();
  server.on("error", (e) => {
    console.error(e);
    process.exit(1);
  });
  const serv = pgl.createServ(grafserv);
  await serv.addTo(server);
  await pgl.getSchema(); // build the schema before taking requests
  server.listen(port, host, () => {
    if (process.send) process.send("ready");
    else console.log(`postgraphile ready: 1 worker on ${host}:${port}`);
  });
  const stop = async () => {
    server.close();
    await pgl.release();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
