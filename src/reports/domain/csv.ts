/**
 * CSV as RFC 4180 writes it: a field with a comma, a quote or a line break is quoted and its quotes
 * doubled; lines end with CRLF. A text field that a spreadsheet would read as a formula (starting
 * with =, +, -, @, a tab or a carriage return) is prefixed with ', so a product named
 * `=HYPERLINK(…)` stays text. Numbers are written as they are.
 */
export type Cell = string | number | null;

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: Cell): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(cells: readonly Cell[]): string {
  return `${cells.map(csvField).join(',')}\r\n`;
}
