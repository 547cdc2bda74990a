/** The shape of one `tide` sub-command (see main.ts). */
export interface CliCommand {
  name: string;
  /** One line for `tide --help`. */
  summary: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(argv: string[]): Promise<number>;
}

/**
 * An error the user caused and can fix (bad flag, malformed file …). The CLI prints its
 * message alone, without a stack trace; the message must say what and where.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
