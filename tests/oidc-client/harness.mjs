// What the relying-party scripts here share: checks that fail with a
// message, required environment variables, JSON lines out and lines in
// (the Rust tests talk to the scripts over stdin/stdout,
// portcullis_tests::node::Script).

import { createInterface } from 'node:readline';

/** A failed expectation: the script reports it and exits 1. */
export class CheckFailed extends Error {}

export function check(condition, message, detail) {
  if (!condition) {
    const suffix = detail === undefined ? '' : `: ${JSON.stringify(detail)}`;
    throw new CheckFailed(`${message}${suffix}`);
  }
}

export function env(name) {
  const value = process.env[name];
  check(typeof value === 'string' && value.length > 0, `environment variable ${name} is not set`);
  return value;
}

/** One JSON line on stdout. */
export function print(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

// Opened at the first read, so a script that reads nothing does not hold stdin.
let stdin;

/** The next line of stdin, trimmed; a check fails if stdin closed first. */
export async function readLine() {
  stdin ??= createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
  const { value, done } = await stdin.next();
  check(!done, 'stdin closed before the next line arrived');
  return value.trim();
}
