import { loadConfig } from '../config.js';
import { stopLocalAws } from './sidecar.js';

/** `npm run local-aws:stop`: stops the local AWS of the data directory, saying what became of its state. */
const config = loadConfig();
const report = await stopLocalAws(config.dataDir);
if (report.stopped.length === 0) console.log(`no local AWS running for ${config.dataDir}`);
for (const moto of report.stopped)
  console.log(
    `stopped ${moto.recorded ? 'the local AWS' : 'a stray moto'} of ${config.dataDir}: pid ${moto.pid}${moto.port ? `, port ${moto.port}` : ''}`,
  );
if (report.stopped.some((m) => m.recorded)) {
  console.log(
    report.stateSaved
      ? `its state is saved in ${report.stateFile}; the next \`npm start\` restores it`
      : report.stateFile
        ? `its state could NOT be saved (see ${config.dataDir}/moto.log); the next start restores the last snapshot in ${report.stateFile}`
        : 'it kept its state in memory only: that state is gone',
  );
}
