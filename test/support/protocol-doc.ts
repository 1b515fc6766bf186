import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The code tables of the documentation, read at test time so tests compare the code against what
 * users are told rather than against a copy of it.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface DocumentedCode<T> {
  code: T;
  /** The row's second column: the name of a close code, or where an error code is sent. */
  where: string;
}

/** The rows of the first table under the heading `heading` (`## Close codes`) of a Markdown file. */
export function tableRows(file: string, heading: string): string[][] {
  const lines = readFileSync(`${ROOT}${file}`, 'utf8').split('\n');
  const start = lines.findIndex((line) => line.trim() === heading);
  if (start < 0) throw new Error(`${file} has no heading "${heading}"`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#')) break; // the next section: the table ended without one
    if (!line.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
    if (cells.every((cell) => /^-*$/.test(cell))) continue; // the separator row
    rows.push(cells);
  }
  if (rows.length < 2) throw new Error(`${file}: no table under "${heading}"`);
  return rows.slice(1); // without the header row
}

/** PROTOCOL.md's close-code table. */
export function documentedCloseCodes(): Array<DocumentedCode<number>> {
  return tableRows('PROTOCOL.md', '## Close codes').map(([code, where]) => {
    const value = Number(code);
    if (!Number.isInteger(value)) throw new Error(`PROTOCOL.md: close code "${code}" is not a number`);
    return { code: value, where: where ?? '' };
  });
}

/** PROTOCOL.md's error-code table. */
export function documentedErrorCodes(): Array<DocumentedCode<string>> {
  return errorRows('PROTOCOL.md', '## Error codes');
}

/** The start-up error codes of docs/store.md (never sent on the wire). */
export function documentedStartErrorCodes(): Array<DocumentedCode<string>> {
  return errorRows('docs/store.md', '### Start errors');
}

/** Error codes the server may send on the wire: the rows not marked as the client's alone. */
export function wireErrorCodes(): Set<string> {
  return new Set(documentedErrorCodes().filter((row) => row.where !== 'client').map((row) => row.code));
}

function errorRows(file: string, heading: string): Array<DocumentedCode<string>> {
  return tableRows(file, heading).map(([code, where]) => {
    const match = /^`([A-Z_]+)`$/.exec(code ?? '');
    if (match === null) throw new Error(`${file}: error code cell "${code}" is not a \`CODE\``);
    return { code: match[1]!, where: where ?? '' };
  });
}

/** PROTOCOL.md's Defaults table: each setting (`heartbeat.interval`) with its value as a number. */
export function documentedDefaults(): Array<{ setting: string; value: number }> {
  return tableRows('PROTOCOL.md', '## Defaults').map(([setting, value]) => {
    const name = /^`([\w.]+)`$/.exec(setting ?? '');
    // The number first, with thousands separators; what follows in brackets is for people.
    const number = /^([\d,]+)(?: \(.*\))?$/.exec(value ?? '');
    if (name === null || number === null) throw new Error(`PROTOCOL.md: Defaults row "${setting}" | "${value}" is not \`setting\` | number`);
    return { setting: name[1]!, value: Number(number[1]!.replaceAll(',', '')) };
  });
}

/** The "default" cell of `option`'s row in the first table under `heading` of a Markdown file. */
export function documentedOptionDefault(file: string, heading: string, option: string): string {
  const row = tableRows(file, heading).find(([name]) => name === option);
  if (row === undefined) throw new Error(`${file}: no row for ${option} under "${heading}"`);
  return row[1] ?? '';
}
