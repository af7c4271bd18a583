import { loadConfig } from '../config.js';
import { stopLocalAws } from './sidecar.js';

const config = loadConfig();
const stopped = await stopLocalAws(config.dataDir);
console.log(
  stopped
    ? `stopped the local AWS recorded in ${config.dataDir}`
    : `no local AWS running for ${config.dataDir}`,
);
