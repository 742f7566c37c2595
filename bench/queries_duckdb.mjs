// bench/queries_duckdb.mjs DATA_DIR QUERIES_TSV RUNS — DuckDB's side of bench/queries.sh:
// loads the generated CSVs into an in-memory database (2 threads: the bench machine's
// cores), runs each query RUNS times and prints "name<TAB>best_ms<TAB>rows" per query.
// Times are the engine's (query + materialising the result in the process), no wire.
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

const [dir, qfile, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const inst = await DuckDBInstance.create(':memory:', { threads: '2' });
const con = await inst.connect();
try { await con.run("SET TimeZone = 'UTC'"); } catch (e) { console.error('# no TimeZone setting: ' + e.message); }
const tables = ['dim_orgs', 'dim_users', 'dim_scenarios', 'dim_time', 'fact_scenario_attempts', 'fact_kpi_events'];
const t0 = performance.now();
for (const t of tables) {
  await con.run(`CREATE TABLE ${t} AS SELECT * FROM read_csv('${dir}/${t}.csv', header = true, auto_detect = true)`);
}
// timestamps as timestamptz, like the schema's columns
for (const c of ['started_at', 'ended_at', 'created_at']) {
  try { await con.run(`ALTER TABLE fact_scenario_attempts ALTER ${c} TYPE TIMESTAMPTZ`); } catch (e) { /* absent */ }
}
try { await con.run('ALTER TABLE fact_kpi_events ALTER created_at TYPE TIMESTAMPTZ'); } catch (e) { /* absent */ }
// the schema's generated column (started_at's UTC date) and dim_time's boolean
await con.run('ALTER TABLE fact_scenario_attempts ADD COLUMN date_key DATE');
await con.run("UPDATE fact_scenario_attempts SET date_key = CAST(timezone('UTC', started_at) AS DATE)");
try { await con.run('ALTER TABLE dim_time ALTER is_weekend TYPE BOOLEAN'); } catch (e) { console.error('# ' + e.message); }
try { await con.run('ALTER TABLE dim_time ALTER date_key TYPE DATE'); } catch (e) { console.error('# ' + e.message); }
console.error(`# duckdb load ${((performance.now() - t0) / 1000).toFixed(1)} s`);
for (const line of readFileSync(qfile, 'utf8').split('\n')) {
  if (!line.trim()) continue;
  const [name, sql] = line.split('\t');
  let best = Infinity, rows = 0;
  try {
    for (let i = 0; i < runs; i++) {
      const s = performance.now();
      const reader = await con.runAndReadAll(sql);
      rows = reader.getRows().length;
      best = Math.min(best, performance.now() - s);
    }
    console.log(`${name}\t${best.toFixed(1)}\t${rows}`);
  } catch (e) {
    console.error(`# DuckDB failed on "${name}": ${e.message.split('\n')[0]}`);
  }
}
