/**
 * Quoting for the remote POSIX shell that runs every command Tide sends over SSH (OpenSSH hands
 * an exec request to the user's shell as one string). Inside single quotes a POSIX shell treats
 * every character literally except the single quote itself, which is written as '\'' — so any
 * string, however hostile, comes out as exactly one word. Names are still validated first
 * (names.ts): quoting is the second lock, not the only one.
 */
export function quoteShellArg(word: string): string {
  if (word.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte');
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Joins an argument vector into one command line in which every argument is quoted. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(quoteShellArg).join(' ');
}
