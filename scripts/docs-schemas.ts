// Writes the workflow contract's JSON Schemas to docs/schemas/ (see src/task/json-schema.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { contractJsonSchemas } from '../src/task/json-schema.ts';

const dir = new URL('../docs/schemas/', import.meta.url);
mkdirSync(dir, { recursive: true });
for (const [name, schema] of Object.entries(contractJsonSchemas())) {
  writeFileSync(new URL(`${name}.json`, dir), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`docs/schemas/${name}.json`);
}
