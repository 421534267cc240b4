// kaigo-graph's GraphiQL page (api/graphiql/__init__.py serves it; development only).
//
// Reads the roles the server offers (graphiql/roles), mints a development token for the chosen one
// (graphiql/token) and only then mounts GraphiQL, with that token in its Authorization header and in the
// fetcher's defaults: its first request, the introspection of the role's view, already carries it. Each role
// opens with its example operation and keeps its own tabs (localStorage, one namespace per role); the
// headers are not stored, a reload mints a fresh token. Loaded from the server itself: the page's
// Content-Security-Policy allows nothing else.
(function () {
  "use strict";

  const endpoint = window.location.pathname; // the page is served by the GraphQL endpoint itself
  const base = endpoint.replace(/[^/]*$/, "");
  const picker = document.getElementById("kaigo-role");
  const status = document.getElementById("kaigo-status");
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  const CHOSEN = "kaigo-graphiql:role";

  function say(text) {
    status.textContent = text;
  }

  async function json(path, init) {
    const response = await fetch(base + path, init);
    const body = await response.json();
    if (!response.ok) {
      const error = body && body.errors && body.errors[0];
      throw new Error(error ? error.message : response.status + " " + response.statusText);
    }
    return body;
  }

  // GraphiQL's storage, under a prefix of the role's own.
  function storageOf(id) {
    const prefix = "kaigo-graphiql:" + id + ":";
    const keys = () => Object.keys(window.localStorage).filter((key) => key.startsWith(prefix));
    return {
      getItem: (key) => window.localStorage.getItem(prefix + key),
      setItem: (key, value) => window.localStorage.setItem(prefix + key, value),
      removeItem: (key) => window.localStorage.removeItem(prefix + key),
      get length() {
        return keys().length;
      },
      clear: () => keys().forEach((key) => window.localStorage.removeItem(key)),
    };
  }

  async function open(config, choice) {
    picker.disabled = true;
    let headers = {};
    if (config.tokens) {
      say("トークン発行中… / Minting a development token…");
      const minted = await json("graphiql/token", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ role: choice.role, department: choice.department }),
      });
      headers = { Authorization: "Bearer " + minted.token };
      say(choice.ja + " — 開発用トークン (" + minted.expiresIn / 3600 + " h) / development token");
    } else {
      say("ID プロバイダーのトークンを Headers に貼ってください / Paste a token of the identity provider in Headers");
    }
    window.localStorage.setItem(CHOSEN, choice.id);
    root.render(
      React.createElement(GraphiQL, {
        key: choice.id, // a new role is a new schema: mount afresh, introspect again
        fetcher: GraphiQL.createFetcher({ url: endpoint, headers: headers }),
        defaultQuery: choice.example,
        headers: JSON.stringify(headers, null, 2),
        shouldPersistHeaders: false,
        storage: storageOf(choice.id),
        defaultEditorToolsVisibility: "headers",
      }),
    );
    picker.disabled = false;
  }

  async function start() {
    const config = await json("graphiql/roles");
    const byId = new Map(config.roles.map((choice) => [choice.id, choice]));
    for (const choice of config.roles) {
      const option = document.createElement("option");
      option.value = choice.id;
      option.textContent = choice.id + " — " + choice.ja;
      option.title = choice.en;
      picker.append(option);
    }
    picker.value = byId.has(window.localStorage.getItem(CHOSEN)) ? window.localStorage.getItem(CHOSEN) : config.roles[0].id;
    picker.addEventListener("change", () => open(config, byId.get(picker.value)).catch(fail));
    await open(config, byId.get(picker.value));
  }

  function fail(error) {
    picker.disabled = false;
    say("エラー / Error: " + error.message);
  }

  start().catch(fail);
})();
