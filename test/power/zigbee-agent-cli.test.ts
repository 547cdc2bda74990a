import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../../src/cli/command.ts';
import { command } from '../../src/cli/commands/zigbee-agent.ts';

test('bad flags are refused with a UserError naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--serial', '/dev/null', '--mqtt', 'mqtt://127.0.0.1:1'], /exactly one of --serial and --mqtt is required/],
    [['--serial', '/dev/null', '--baud', 'fast'], /--baud: expected an integer 50…4000000, got 'fast'/],
    [['--mqtt', 'http://broker'], /--mqtt: expected mqtt:\/\/HOST:PORT/],
    [['--serial', '/dev/null', '--stale-after', '10 minutes'], /--stale-after: invalid duration '10 minutes'/],
    [['--serial', '/dev/null', '--stale-after', '100ms'], /--stale-after: at least 1s/],
    [['--serial', '/dev/null', '--kubeconfig', '/nonexistent/kubeconfig'], /--kubeconfig: no such file \/nonexistent\/kubeconfig/],
    [['--serial', '/dev/null', '--frobnicate'], /Unknown option '--frobnicate'/],
  ];
  for (const [args, message] of cases) {
    await assert.rejects(command.run(args), (err: unknown) => err instanceof UserError && message.test(err.message), args.join(' '));
  }
});

test('--help lists the flags', async () => {
  const printed: string[] = [];
  const log = console.log;
  console.log = (line: string) => printed.push(line);
  try {
    assert.equal(await command.run(['--help']), 0);
  } finally {
    console.log = log;
  }
  for (const flag of ['--serial', '--escaped', '--mqtt', '--base-topic', '--stale-after', '--metrics-port']) assert.ok(printed.join('\n').includes(flag), flag);
});
