// tests/e2e/clients/auth.js PORT SCENARIOS_JSON — node-postgres (pg) connects once per
// scenario and prints one JSON line each: {name, result: "ok" | SQLSTATE | "error: …", ssl}.
// auth_clients.py runs it against tally and PostgreSQL 15 and compares.
'use strict';
const fs = require('fs');
const { Client } = require('pg');

async function one(port, s) {
  const cfg = { host: s.host || '127.0.0.1', port, user: s.user, database: s.db || 'postgres',
                connectionTimeoutMillis: 10000 };
  if (s.password !== undefined) cfg.password = s.password;
  if (s.ssl === 'require') cfg.ssl = { rejectUnauthorized: false };
  if (s.ssl === 'verify-full') cfg.ssl = { ca: fs.readFileSync(s.ca), servername: 'localhost' };
  const c = new Client(cfg);
  try {
    await c.connect();
    const r = await c.query("select current_user as u, $1::int + 1 as n", [41]);
    const ok = r.rows[0].u === s.user && r.rows[0].n === 42;
    return { name: s.name, result: ok ? 'ok' : 'wrong answer ' + JSON.stringify(r.rows), ssl: !!c.connection.stream.encrypted };
  } catch (e) {
    return { name: s.name, result: e.code || ('error: ' + e.message), ssl: false };
  } finally {
    await c.end().catch(() => {});
  }
}

(async () => {
  const port = parseInt(process.argv[2], 10);
  const scenarios = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
  for (const s of scenarios) console.log(JSON.stringify(await one(port, s)));
})();
