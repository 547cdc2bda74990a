import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { quoteShellArg, shellCommand } from '../../src/hypervisor/shell-quote.ts';
import { validDomainName, validLibvirtUri, validMigrationDataUri } from '../../src/hypervisor/names.ts';
import { HypervisorError } from '../../src/hypervisor/errors.ts';

/** What a real POSIX shell makes of a quoted word: printf prints it back unchanged, or not. */
const throughShell = (word: string) => execFileSync('sh', ['-c', `printf %s ${quoteShellArg(word)}`], { encoding: 'utf8' });

test('a hostile word stays one literal word in a real shell and runs nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tide-quote-'));
  try {
    const marker = join(dir, 'pwned');
    const hostile = [
      `x';touch ${marker};'`,
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `a" ; touch ${marker} ; "`,
      `x'\\''; touch ${marker}; echo '`,
      `\n touch ${marker}\n`,
      `'$'`,
      `*`,
    ];
    for (const word of hostile) {
      assert.equal(throughShell(word), word);
      assert.equal(execFileSync('sh', ['-c', `${shellCommand(['printf', '%s|%s', word, word])}`], { encoding: 'utf8' }), `${word}|${word}`);
    }
    assert.equal(existsSync(marker), false, 'a quoted word ran a command');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('any string without NUL survives the shell byte for byte (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\0')), (word) => {
      assert.equal(throughShell(word), word);
    }),
    { numRuns: 150 },
  );
});

test('NUL cannot be quoted and is refused', () => {
  assert.throws(() => quoteShellArg('a\0b'), /NUL/);
});

test('hostile domain names and URIs are refused by validation, naming where', () => {
  for (const name of [`x';touch /tmp/pwned;'`, 'a b', '$(id)', '-rf', '', 'a/b', 'é', 'x'.repeat(65), `a\nb`]) {
    assert.throws(
      () => validDomainName(name, 'VirtualMachinePlacement default/vm1 spec.domain'),
      (error: unknown) => error instanceof HypervisorError && error.reason === 'InvalidName' && /spec\.domain/.test(error.message),
      name,
    );
  }
  for (const name of ['vm-40', 'web01.prod', 'a_b+c', 'A1']) assert.equal(validDomainName(name, 'x'), name);

  for (const uri of [`qemu+ssh://h/system';touch /tmp/p;'`, 'qemu+ssh://h/system $(id)', 'qemu+ssh://h/sys`id`', 'qemu:///system?x=$y', 'file:///etc/passwd ']) {
    assert.throws(() => validLibvirtUri(uri, 'PhysicalHost n1 spec.libvirt.migrationUri'), /spec\.libvirt\.migrationUri: invalid libvirt URI/, uri);
  }
  for (const uri of ['qemu:///system', 'qemu+ssh://root@10.0.0.2/system', 'qemu+tcp://[fd00::2]:16509/system', 'qemu+ssh://h.example/system?keyfile=/root/.ssh/id_ed25519']) {
    assert.equal(validLibvirtUri(uri, 'x'), uri);
  }
  assert.equal(validMigrationDataUri('tcp://10.0.0.2:49152', 'x'), 'tcp://10.0.0.2:49152');
  assert.throws(() => validMigrationDataUri('tcp://a;b', 'x'), /invalid migration data URI/);
});
