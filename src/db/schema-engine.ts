// Prisma's schema engine, run from the WASM build that ships in npm (`@prisma/schema-engine-wasm`).
// The `prisma` CLI would download a native engine binary from a host this product cannot rely on; the WASM
// engine talks to PostgreSQL through the same `pg` driver adapter the application uses, so migrations run
// anywhere npm packages install. Rows it writes to `_prisma_migrations` match `prisma migrate deploy`.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine as Engine } from '@prisma/schema-engine-wasm';
import type { PoolConfig } from 'pg';

const require = createRequire(import.meta.url);

export type SchemaEngine = Engine;

let engineModule: Promise<typeof import('@prisma/schema-engine-wasm/schema_engine_bg')> | undefined;

// The engine reports a Rust panic through this global before it throws; keep the message for the error.
let lastPanic: string | undefined;
(globalThis as { PRISMA_WASM_PANIC_REGISTRY?: unknown }).PRISMA_WASM_PANIC_REGISTRY = {
  set_message(message: string) {
    lastPanic = message;
  },
};

/** Instantiates the WASM module by hand: Node 20 cannot import `.wasm` without an experimental flag. */
function loadEngineModule() {
  engineModule ??= (async () => {
    const bg = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const dir = dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'));
    const wasm = await WebAssembly.instantiate(readFileSync(join(dir, 'schema_engine_bg.wasm')), {
      './schema_engine_bg.js': bg as unknown as WebAssembly.ModuleImports,
    });
    const exports = wasm.instance.exports as Record<string, unknown> & { __wbindgen_start?: () => void };
    (bg as unknown as { __wbg_set_wasm(w: unknown): void }).__wbg_set_wasm(exports);
    exports.__wbindgen_start?.();
    return bg;
  })();
  return engineModule;
}

export interface EngineHandle {
  engine: SchemaEngine;
  /** Turns the engine's `External error id#N` into the driver's message. */
  explain(err: unknown): Error;
}

type ScriptAdapter = { client: { query(sql: string): Promise<unknown> }; onError(err: unknown): never };
type PgResult = { fields: { dataTypeID: number }[] };
type IOAdapter = {
  performIO(query: unknown): Promise<PgResult>;
  queryRaw(query: unknown): Promise<{ columnTypes: number[] }>;
};

// PostgreSQL's internal one-byte type "char" (OID 18: pg_constraint.contype and friends), which the adapter
// does not map. The engine's introspection reads those columns as characters.
const pgInternalChar = 18;
const pgText = 25;
const columnTypeCharacter = 6; // ColumnTypeEnum.Character of @prisma/driver-adapter-utils

/**
 * Two gaps of the pg adapter when it serves the schema engine: it runs a migration script by splitting it on
 * every `;`, which breaks dollar-quoted function bodies (PostgreSQL's simple query protocol runs a whole
 * multi-statement script in one implicit transaction, as Prisma's native engine does, so send it whole);
 * and introspection reads catalog columns of the internal type "char", which it cannot map.
 */
function wholeScriptAdapter(connection: PoolConfig): PrismaPg {
  const factory = new PrismaPg(connection);
  const patch = <T extends object>(adapter: T): T => {
    const a = adapter as unknown as ScriptAdapter &
      IOAdapter & { executeScript(script: string): Promise<void> };
    const performIO = a.performIO.bind(a);
    const queryRaw = a.queryRaw.bind(a);
    // queryRaw calls performIO, then maps each field's type; the engine runs one query at a time.
    let charColumns: number[] = [];
    a.performIO = async (query) => {
      const result = await performIO(query);
      charColumns = [];
      result.fields.forEach((field, i) => {
        if (field.dataTypeID === pgInternalChar) {
          field.dataTypeID = pgText;
          charColumns.push(i);
        }
      });
      return result;
    };
    a.queryRaw = async (query) => {
      const result = await queryRaw(query);
      for (const i of charColumns) result.columnTypes[i] = columnTypeCharacter;
      return result;
    };
    a.executeScript = async (script: string) => {
      try {
        await a.client.query(script);
      } catch (err) {
        a.onError(err);
      }
    };
    return adapter;
  };
  const connect = factory.connect.bind(factory);
  factory.connect = async () => patch(await connect());
  const connectToShadowDb = factory.connectToShadowDb.bind(factory);
  factory.connectToShadowDb = async () => patch(await connectToShadowDb());
  return factory;
}

export async function openSchemaEngine(
  connection: string | PoolConfig,
  schema: { path: string; content: string },
  log: (message: string) => void = () => {},
): Promise<EngineHandle> {
  const bg = await loadEngineModule();
  const adapter = bindMigrationAwareSqlAdapterFactory(
    wholeScriptAdapter(typeof connection === 'string' ? { connectionString: connection } : connection),
  );
  const engine = await bg.SchemaEngine.new({ datamodels: [[schema.path, schema.content]] }, log, adapter);
  const explain = (err: unknown): Error => {
    const text =
      (err instanceof Error ? err.message : String(err)) + (lastPanic ? ` (engine panic: ${lastPanic})` : '');
    lastPanic = undefined;
    const id = /External error id#(\d+)/.exec(text)?.[1];
    if (id !== undefined) {
      const registry = (adapter as unknown as { errorRegistry?: { consumeError(id: number): unknown } })
        .errorRegistry;
      const cause = registry?.consumeError(Number(id));
      if (cause) return new Error(`${text}: ${JSON.stringify(cause)}`);
    }
    return err instanceof Error ? err : new Error(text);
  };
  return { engine, explain };
}
