import '../core/polyfills.js';
import Fastify from 'fastify';
import { loadConfig } from '../core/config.js';
import { ControlPlaneError } from '../core/errors.js';
import { startAwsRuntime } from '../core/runtime.js';
import { TierCatalog } from '../tiers/catalog.js';

try {
  const config = loadConfig({ argv: process.argv });
  TierCatalog.load(config.tierCatalogFile);
  const aws = await startAwsRuntime(config);
  const app = Fastify({ logger: { level: config.logLevel } });
  app.get('/healthz', async () => ({
    status: 'ok',
    awsEndpoint: aws.awsEndpoint,
    registry: { table: config.registryTable, status: await aws.registryStatus() },
  }));
  await app.listen({ host: config.host, port: config.port });
} catch (e) {
  if (e instanceof ControlPlaneError) {
    console.error(`${e.code}: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
