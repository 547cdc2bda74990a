import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHostKey, hostKeyAlgorithms, parseKnownHosts } from '../../src/hypervisor/known-hosts.ts';

/** Real keys from ssh-keygen, and known_hosts hashed by ssh-keygen -H, so we read what OpenSSH writes. */
function withKeys(run: (keys: { a: string; b: string; rsa: string; hash: (text: string) => string }) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'tide-kh-'));
  try {
    const make = (name: string, type: string) => {
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', name, '-f', join(dir, name)]);
      return readFileSync(join(dir, `${name}.pub`), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    };
    const hash = (text: string) => {
      const file = join(dir, 'known_hosts');
      writeFileSync(file, text);
      execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
      return readFileSync(file, 'utf8');
    };
    run({ a: make('a', 'ed25519'), b: make('b', 'ed25519'), rsa: make('r', 'rsa'), hash });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const blob = (line: string) => Buffer.from(line.split(' ')[1], 'base64');

test('plain entries: trusted, changed (mismatch) and unknown keys, port 22 and [host]:port', () => {
  withKeys(({ a, b }) => {
    const entries = parseKnownHosts(`# comment\n\nnode1,10.0.0.1 ${a}\n[10.0.0.2]:2222 ${b}\n`, 'test');
    assert.equal(checkHostKey(entries, 'node1', 22, blob(a)), 'trusted');
    assert.equal(checkHostKey(entries, '10.0.0.1', 22, blob(a)), 'trusted');
    assert.equal(checkHostKey(entries, 'node1', 22, blob(b)), 'mismatch');
    assert.equal(checkHostKey(entries, '10.0.0.2', 2222, blob(b)), 'trusted');
    // The same address on another port is another host as far as known_hosts goes.
    assert.equal(checkHostKey(entries, '10.0.0.2', 22, blob(b)), 'unknown');
    assert.equal(checkHostKey(entries, '10.0.0.1', 2222, blob(a)), 'unknown');
    assert.equal(checkHostKey(entries, 'node9', 22, blob(a)), 'unknown');
  });
});

test('hashed entries written by ssh-keygen -H are matched', () => {
  withKeys(({ a, b, hash }) => {
    const hashed = hash(`node1 ${a}\n[127.0.0.1]:40022 ${b}\n`);
    assert.match(hashed, /^\|1\|/m);
    assert.doesNotMatch(hashed, /node1|127\.0\.0\.1/);
    const entries = parseKnownHosts(hashed, 'test');
    assert.equal(checkHostKey(entries, 'node1', 22, blob(a)), 'trusted');
    assert.equal(checkHostKey(entries, 'node1', 22, blob(b)), 'mismatch');
    assert.equal(checkHostKey(entries, '127.0.0.1', 40022, blob(b)), 'trusted');
    assert.equal(checkHostKey(entries, '127.0.0.1', 40023, blob(b)), 'unknown');
    assert.equal(checkHostKey(entries, 'node2', 22, blob(a)), 'unknown');
  });
});

test('wildcards, negation, @revoked and @cert-authority', () => {
  withKeys(({ a, b }) => {
    const entries = parseKnownHosts(`*.lab,!bad.lab ${a}\n@revoked * ${b}\n@cert-authority *.lab ${b}\n`, 'test');
    assert.equal(checkHostKey(entries, 'n1.lab', 22, blob(a)), 'trusted');
    assert.equal(checkHostKey(entries, 'N1.LAB', 22, blob(a)), 'trusted');
    assert.equal(checkHostKey(entries, 'bad.lab', 22, blob(a)), 'unknown');
    assert.equal(checkHostKey(entries, 'n1.lab', 22, blob(b)), 'revoked');
    assert.equal(checkHostKey(entries, 'elsewhere', 22, blob(b)), 'revoked');
    // A CA line never makes a plain key trusted.
    assert.equal(checkHostKey(parseKnownHosts(`@cert-authority *.lab ${b}\n`, 't'), 'n1.lab', 22, blob(b)), 'unknown');
  });
});

test('the host key algorithms offered are those known for the host', () => {
  withKeys(({ a, rsa }) => {
    const entries = parseKnownHosts(`node1 ${a}\nnode1 ${rsa}\nnode2 ${a}\n`, 'test');
    assert.deepEqual(hostKeyAlgorithms(entries, 'node1', 22), ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.deepEqual(hostKeyAlgorithms(entries, 'node3', 22), []);
  });
});

test('a corrupt known_hosts is refused with its source and line number', () => {
  withKeys(({ a }) => {
    assert.throws(() => parseKnownHosts(`node1 ${a}\nnode2 ssh-ed25519\n`, 'Secret tide/n2-ssh known_hosts'), /Secret tide\/n2-ssh known_hosts line 2: expected/);
    assert.throws(() => parseKnownHosts(`node1 ssh-rsa ${a.split(' ')[1]}\n`, 'kh'), /kh line 1: key blob is not a ssh-rsa key/);
    assert.throws(() => parseKnownHosts(`@weird node1 ${a}\n`, 'kh'), /kh line 1: unknown marker @weird/);
  });
});
