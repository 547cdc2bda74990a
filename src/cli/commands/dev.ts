import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../../controller/log.ts';
import { defaultDataDir } from '../../store/open-store.ts';
import { UserError, type CliCommand } from '../command.ts';
import { startDev } from '../dev/start-dev.ts';
import { logFormatFlag, scenarioFlag } from '../operator-flags.ts';
import { startupError } from '../startup-errors.ts';

const HELP = `usage: tide dev [flags]

Runs Tide against a simulated data centre, entirely on this machine: an embedded Kubernetes
API server (for development only), Tide's CRDs, the scenario's hosts and VMs as resources,
the ZigBee meter agent reading simulated meters, and the operator. Watch and change it live
with kubectl through the kubeconfig it writes.

flags:
  --scenario NAME|FILE   paper-consolidation (default), paper-balance, or a scenario YAML file
  --speed N              simulated seconds per wall second (default 10); simulated time
                         starts at the present
  --duration SECONDS     stop after this much simulated time (default: run until Ctrl-C)
  --kubeconfig FILE      where to write the kubeconfig (default .tide/dev.kubeconfig)
  --port N               API server port (default 0: a free port)
  --metrics-port N       /metrics, /healthz, /readyz on 127.0.0.1 (default 0: a free port)
  --data-dir DIR         history store for 'tide report' (default .tide/history)
  --log-format text|json (default text)
  --verbose              also log debug lines`;

function number(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UserError(`--${flag}: expected a number ≥ ${min}, got '${value}'`);
  return n;
}

export const command: CliCommand = {
  name: 'dev',
  summary: 'run Tide on a simulated data centre with an embedded API server (kubectl works against it)',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        scenario: { type: 'string', default: 'paper-consolidation' },
        speed: { type: 'string' },
        duration: { type: 'string' },
        kubeconfig: { type: 'string', default: '.tide/dev.kubeconfig' },
        port: { type: 'string' },
        'metrics-port': { type: 'string' },
        'data-dir': { type: 'string' },
        'log-format': { type: 'string', default: 'text' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    const format = logFormatFlag(values['log-format']);
    const scenario = scenarioFlag(values.scenario!);
    const speed = number('speed', values.speed, 10, 0.01);
    const durationS = values.duration === undefined ? undefined : number('duration', values.duration, 0, 1);
    const kubeconfigPath = resolve(values.kubeconfig!);
    let clockNow = () => Date.now();
    const log = createLogger({ format, verbose: values.verbose, now: () => clockNow() });

    const apiPort = number('port', values.port, 0, 0);
    const metricsPort = number('metrics-port', values['metrics-port'], 0, 0);
    const dev = await startDev({
      scenario,
      speed,
      apiPort,
      kubeconfigPath,
      metricsPort,
      dataDir: resolve(values['data-dir'] ?? defaultDataDir()),
      namespace: 'default',
      log,
      observeIntervalMs: 30_000,
    }).catch((err: unknown) => {
      throw startupError(err, { '--port': apiPort, '--metrics-port': metricsPort });
    });
    clockNow = () => dev.clock.now(); // log lines carry simulated time
    const banner = [
      `tide dev: scenario ${scenario.name} — ${scenario.description}`,
      `  simulated time runs ${speed}× faster than the wall${durationS ? `, for ${durationS} s` : ''}; log times are simulated`,
      `  API server   ${dev.api.url}   (embedded, for development only)`,
      `  kubeconfig   ${kubeconfigPath}`,
      `  metrics      http://127.0.0.1:${dev.runtime.metricsServer.port}/metrics`,
      `  try:         kubectl --kubeconfig ${kubeconfigPath} get physicalhosts,vmp -w`,
      durationS ? '' : '  Ctrl-C stops it.',
    ];
    process.stderr.write(banner.filter(Boolean).join('\n') + '\n');

    const startMs = dev.clock.now();
    await new Promise<void>((done) => {
      const finish = () => {
        // A round in progress finishes first (no migration is left half-recorded); a second signal quits at once.
        process.once('SIGINT', () => process.exit(130));
        process.once('SIGTERM', () => process.exit(143));
        done();
      };
      process.once('SIGINT', finish);
      process.once('SIGTERM', finish);
      if (durationS !== undefined) {
        dev.clock.sleep(durationS * 1000).then(finish, finish);
      }
    });
    const elapsedS = (dev.clock.now() - startMs) / 1000;
    const energyWh = dev.clock.dc.energyWh();
    process.stderr.write(`tide dev: ${Math.round(elapsedS)} s simulated, ${energyWh.toFixed(1)} Wh used, now drawing ${dev.clock.dc.watts().toFixed(1)} W; stopping after the running round (signal again to quit now)\n`);
    await dev.stop();
    return 0;
  },
};
