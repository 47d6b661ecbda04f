// The composition root and `syncline serve | migrate | token | doctor`: the one module that reads
// process.env and calls listen(). It builds the store, the engine and the server from the environment.
import { existsSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import {
  createCollectionRegistry,
  type CollectionRegistry,
  type CollectionsConfig,
} from './engine/collections.js';
import { createSyncEngine } from './engine/sync-engine.js';
import { createSchemaCompiler } from './http/ajv-schema-compiler.js';
import {
  loadAuthKeys,
  secretFileName,
  secretFileTooOpen,
  type AuthKeySources,
} from './http/auth-keys.js';
import { createTokenVerifier, mintToken } from './http/auth.js';
import { buildServer } from './http/build-server.js';
import { nodeCrypto } from './http/node-crypto.js';
import { createBackgroundJobs } from './jobs/index.js';
import { parseDuration, parseRateLimit, rateLimitDefaults } from './http/rate-limits.js';
import { isPostgresUrl, migrate, openStore, sqliteFileIn } from './store/index.js';

type Env = Record<string, string | undefined>;

const usage = `Usage: syncline <command> [options]

Commands:
  serve     Serve the sync API (PORT, HOST, SYNCLINE_DATA_DIR, SYNCLINE_DB_URL, SYNCLINE_CONFIG,
            SYNCLINE_JWT_SECRET | SYNCLINE_JWT_PUBLIC_KEY | SYNCLINE_JWKS_FILE,
            SYNCLINE_PUSH_LIMIT, SYNCLINE_PULL_LIMIT, SYNCLINE_LOG_LEVEL)
  migrate   Bring the database schema up to date, then exit
  token     Print a bearer token: --sub <user> --tenant <tenant> [--role user|admin] [--ttl 1h]
  doctor    Check the database, the token key and the collections config; exit 1 on a failure
`;

const mintHint = 'npm run syncline -- token --sub u1 --tenant t1 [--role admin]';

/** A fault in the configuration: reported as one line, without a stack. */
class ConfigError extends Error {}

const present = (value: string | undefined): string | undefined =>
  value === undefined || value === '' ? undefined : value;

function dataDirOf(env: Env): string {
  return present(env.SYNCLINE_DATA_DIR) ?? './data';
}

function keySources(env: Env): AuthKeySources {
  return {
    secret: present(env.SYNCLINE_JWT_SECRET),
    publicKey: present(env.SYNCLINE_JWT_PUBLIC_KEY),
    jwksFile: present(env.SYNCLINE_JWKS_FILE),
    dataDir: dataDirOf(env),
  };
}

function storeOptions(env: Env) {
  const url = present(env.SYNCLINE_DB_URL);
  return { dataDir: dataDirOf(env), ...(url !== undefined ? { url } : {}) };
}

/** Reads SYNCLINE_CONFIG (JSON) and compiles every schema, so that a bad config fails at startup. */
export async function loadCollections(
  path: string | undefined,
): Promise<{ registry: CollectionRegistry; config: CollectionsConfig }> {
  let config: CollectionsConfig = {};
  if (path !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new ConfigError(`SYNCLINE_CONFIG ${path}: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`SYNCLINE_CONFIG ${path}: expected a JSON object`);
    }
    const { collections } = parsed as { collections?: unknown };
    if (
      collections !== undefined &&
      (typeof collections !== 'object' || collections === null || Array.isArray(collections))
    ) {
      throw new ConfigError(
        `SYNCLINE_CONFIG ${path}: "collections" must be an object keyed by entity type`,
      );
    }
    config = parsed as CollectionsConfig;
  }
  let registry: CollectionRegistry;
  try {
    registry = createCollectionRegistry(config);
    const compile = createSchemaCompiler();
    for (const name of registry.names()) {
      const schema = registry.get(name).schema;
      try {
        if (schema) compile(schema);
      } catch (error) {
        throw new Error(`schema of "${name}": ${(error as Error).message}`);
      }
    }
  } catch (error) {
    throw new ConfigError(`${path ?? 'collections config'}: ${(error as Error).message}`);
  }
  return { registry, config };
}

function limitsOf(env: Env) {
  const read = (name: string, fallback: string) => {
    const value = present(env[name]) ?? fallback;
    try {
      return parseRateLimit(value);
    } catch (error) {
      throw new ConfigError(`${name}: ${(error as Error).message}`);
    }
  };
  return {
    pushLimit: read('SYNCLINE_PUSH_LIMIT', rateLimitDefaults.push),
    pullLimit: read('SYNCLINE_PULL_LIMIT', rateLimitDefaults.pull),
  };
}

function portOf(env: Env): number {
  const text = present(env.PORT) ?? '3000';
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError(`PORT: "${text}" is not a port number`);
  return port;
}

function loggerOf(env: Env): Logger {
  const level = present(env.SYNCLINE_LOG_LEVEL) ?? 'info';
  try {
    return pino({ level });
  } catch (error) {
    throw new ConfigError(`SYNCLINE_LOG_LEVEL: ${(error as Error).message}`);
  }
}

async function serve(env: Env, out: NodeJS.WritableStream): Promise<number> {
  const logger = loggerOf(env);
  const port = portOf(env);
  const host = present(env.HOST) ?? '0.0.0.0';
  const limits = limitsOf(env);
  const { registry } = await loadCollections(present(env.SYNCLINE_CONFIG));
  const keys = await loadAuthKeys(keySources(env));
  const verifier = createTokenVerifier(keys.config);

  const store = await openStore(storeOptions(env));
  const engine = createSyncEngine({
    store,
    collections: registry,
    compileSchema: createSchemaCompiler(),
    crypto: nodeCrypto,
    logger,
  });
  let jobs;
  try {
    jobs = createBackgroundJobs({ env, store, engine, logger });
  } catch (error) {
    await store.close();
    throw new ConfigError((error as Error).message);
  }
  const tenantSettings = jobs.settings;
  const app = buildServer({ engine, store, auth: verifier, limits, logger, tenantSettings });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Readiness first, so that a load balancer stops sending; close() then lets requests in
    // flight finish (their transactions commit) before the store goes.
    app.setNotReady();
    void (async () => {
      try {
        await jobs.stop();
        await app.close();
        await store.close();
        process.exit(0);
      } catch (error) {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      }
    })();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);

  try {
    await app.listen({ port, host });
  } catch (error) {
    await store.close();
    throw error;
  }
  await jobs.start();
  logger.info(
    {
      database: store.dialect,
      collections: registry.names().length,
      auth: keys.source,
      algorithms: verifier.algorithms,
    },
    'syncline ready',
  );
  if (keys.source === 'data-dir-secret') {
    out.write(
      `\nNo SYNCLINE_JWT_SECRET / SYNCLINE_JWT_PUBLIC_KEY / SYNCLINE_JWKS_FILE set: tokens are verified with the ` +
        `development secret in ${keys.secretFile}${keys.created ? ' (just created)' : ''}.\n` +
        `Mint a token with:  ${mintHint}\n\n`,
    );
  }
  return 0;
}

async function runMigrate(env: Env, out: NodeJS.WritableStream): Promise<number> {
  const ran = await migrate(storeOptions(env));
  out.write(
    ran.length === 0
      ? 'The database is up to date.\n'
      : `Ran ${ran.length} migration(s): ${ran.join(', ')}\n`,
  );
  return 0;
}

async function token(args: string[], env: Env, out: NodeJS.WritableStream): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      tenant: { type: 'string' },
      role: { type: 'string', default: 'user' },
      ttl: { type: 'string', default: '1h' },
    },
    strict: true,
  });
  if (!values.sub || !values.tenant)
    throw new ConfigError(`token needs --sub and --tenant: ${mintHint}`);
  if (values.role !== 'user' && values.role !== 'admin')
    throw new ConfigError('--role must be user or admin');
  let ttlMs: number;
  try {
    ttlMs = parseDuration(values.ttl);
  } catch (error) {
    throw new ConfigError(`--ttl: ${(error as Error).message}`);
  }
  const keys = await loadAuthKeys(keySources(env));
  if (keys.secret === undefined) {
    throw new ConfigError(
      'The server verifies tokens with a public key; mint them where the private key lives (your identity provider).',
    );
  }
  const jwt = await mintToken({
    secret: keys.secret,
    sub: values.sub,
    tenant: values.tenant,
    role: values.role,
    ttlSeconds: Math.max(1, Math.round(ttlMs / 1000)),
  });
  out.write(`${jwt}\n`);
  return 0;
}

async function doctor(env: Env, out: NodeJS.WritableStream): Promise<number> {
  let failed = false;
  const check = async (name: string, run: () => Promise<string>) => {
    try {
      out.write(`ok    ${name}: ${await run()}\n`);
    } catch (error) {
      failed = true;
      out.write(`FAIL  ${name}: ${(error as Error).message}\n`);
    }
  };

  await check('database', async () => {
    const options = storeOptions(env);
    const store = await openStore({ ...options, migrate: false });
    try {
      await store.ping();
    } finally {
      await store.close();
    }
    return isPostgresUrl(options.url)
      ? `PostgreSQL answers`
      : `SQLite ${sqliteFileIn(options.dataDir)} answers`;
  });

  await check('token key', async () => {
    const sources = keySources(env);
    const devSecret = join(sources.dataDir, secretFileName);
    if (!sources.secret && !sources.publicKey && !sources.jwksFile && !existsSync(devSecret)) {
      return `none configured; serve will create a development secret in ${devSecret}`;
    }
    const keys = await loadAuthKeys(sources);
    const verifier = createTokenVerifier(keys.config);
    if (keys.secretFile && (await secretFileTooOpen(keys.secretFile))) {
      throw new Error(`${keys.secretFile} is readable by others: chmod 600 it`);
    }
    return `${keys.source}${keys.secretFile ? ` (${keys.secretFile})` : ''}, algorithms ${verifier.algorithms.join(', ')}`;
  });

  await check('collections config', async () => {
    const path = present(env.SYNCLINE_CONFIG);
    const { registry } = await loadCollections(path);
    return `${path ?? 'presets only'}: ${registry.names().length} collections${registry.strict ? ' (strict)' : ''}`;
  });

  await check('rate limits', async () => {
    const { pushLimit, pullLimit } = limitsOf(env);
    const show = (l: { max: number; windowMs: number }) => `${l.max} per ${l.windowMs / 1000} s`;
    return `push ${show(pushLimit)}, pull ${show(pullLimit)}`;
  });

  return failed ? 1 : 0;
}

/** Runs one command; resolves to the exit code (serve resolves once listening). */
export async function main(
  argv: string[],
  env: Env = process.env,
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(env, out);
      case 'migrate':
        return await runMigrate(env, out);
      case 'token':
        return await token(rest, env, out);
      case 'doctor':
        return await doctor(env, out);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out.write(usage);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`Unknown command "${command}".\n\n${usage}`);
        return 2;
    }
  } catch (error) {
    const known =
      error instanceof ConfigError ||
      (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    process.stderr.write(
      `syncline ${command}: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}\n`,
    );
    return 1;
  }
}

// Run when executed directly (tsx packages/server/src/cli.ts …); bin/syncline.js calls main() itself.
const entry = process.argv[1];
if (entry && existsSync(entry) && realpathSync(entry) === fileURLToPath(import.meta.url)) {
  void main(process.argv.slice(2)).then((code) => {
    if (code !== 0) process.exit(code);
  });
}
