/** CSV in the report tests: reading RFC 4180 strictly, and a report's CSV against its JSON. */
import type request from 'supertest';

/**
 * A strict RFC 4180 reader for the tests: records end with CRLF, a field that holds a comma, a quote
 * or a line break is quoted, and a quote inside it is doubled. Anything else (a bare LF, a quote in
 * an unquoted field, text after a closing quote) is an error, so a test sees a malformed file as
 * malformed rather than as different values.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`CSV: ${what} at character ${i}: ${JSON.stringify(text.slice(i, i + 40))}`);
  };
  const endField = () => {
    record.push(field);
    field = '';
  };
  while (i < text.length) {
    if (text[i] === '"' && field === '') {
      i++;
      for (;;) {
        if (i >= text.length) fail('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < text.length && text[i] !== ',' && text[i] !== '\r') fail('text after a quoted field');
      continue;
    }
    const c = text[i];
    if (c === ',') {
      endField();
      i++;
    } else if (c === '\r') {
      if (text[i + 1] !== '\n') fail('a CR without LF');
      endField();
      records.push(record);
      record = [];
      i += 2;
    } else if (c === '\n') {
      fail('a bare LF');
    } else if (c === '"') {
      fail('a quote in an unquoted field');
    } else {
      field += c;
      i++;
    }
  }
  // The last record may end without a line break.
  if (field !== '' || record.length > 0) {
    endField();
    records.push(record);
  }
  return records;
}

/**
 * A report's CSV against its JSON (docs/REPORTS.md, CSV): the header, every row, the quoting and
 * the leading `'` of text a spreadsheet would run; the problems found, one line each.
 */
/** A text cell as the contract writes it: one a spreadsheet would read as a formula gets a `'`. */
function asCsvText(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

function csvValue(value: unknown): string {
  if (typeof value === 'string') return asCsvText(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value === null || value === undefined ? '' : JSON.stringify(value);
}

interface MoneyJson {
  currency: string;
  amount: number | null;
}

/** The summary's leaves as `metric → value`: objects by dots, per-currency lists by currency. */
function summaryMetrics(
  value: unknown,
  path: string,
  out: Map<string, string>,
): Map<string, string> {
  if (Array.isArray(value)) {
    for (const m of value as MoneyJson[]) out.set(`${path}.${m.currency}`, csvValue(m.amount));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) summaryMetrics(v, path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, csvValue(value));
  }
  return out;
}

/**
 * What a CSV may list for a metric the JSON leaves out: 0 for a count or revenue of nothing, an
 * empty cell for the average of nothing.
 */
function absentMetric(metric: string): string | undefined {
  if (
    /^(orders\.byStatus|orders\.byFailureReason|cancellations\.byPreviousStatus|revenue)\.[A-Z_]+$/.test(
      metric,
    )
  )
    return '0';
  if (/^averageOrderValue\.[A-Z]{3}$/.test(metric)) return '';
  return undefined;
}

export function csvProblems(
  label: string,
  route: string,
  json: unknown,
  res: request.Response,
): string[] {
  const problems: string[] = [];
  const say = (what: string) => problems.push(`${label}: ${what}`);
  if (res.status !== 200) return [`${label}: HTTP ${res.status}`];
  if (!/^text\/csv; charset=utf-8$/i.test(String(res.headers['content-type'])))
    say(`content-type ${String(res.headers['content-type'])}`);
  if (!/^attachment;\s*filename=/i.test(String(res.headers['content-disposition'])))
    say(`content-disposition ${String(res.headers['content-disposition'])}`);
  let rows: string[][];
  try {
    rows = parseCsv(res.text);
  } catch (err) {
    return [...problems, `${label}: ${String(err)}`];
  }
  const [header = [], ...body] = rows;

  if (route === 'summary') {
    if (header.join(',') !== 'metric,value') say(`header ${JSON.stringify(header)}`);
    const expected = summaryMetrics(json, '', new Map());
    const listed = new Map<string, string>();
    for (const row of body) {
      const [metric = '', value = '', ...extra] = row;
      if (extra.length > 0) say(`row ${JSON.stringify(row)} has more than two cells`);
      if (listed.has(metric)) say(`metric ${metric} twice`);
      listed.set(metric, value);
      // The range's fields may be listed without their `range.` prefix (`from`, `to`, `tz`).
      const want = expected.get(metric) ?? expected.get(`range.${metric}`) ?? absentMetric(metric);
      if (want === undefined && metric !== 'asOf') say(`metric ${metric} is not in the JSON`);
      else if (want !== undefined && value !== want && metric !== 'asOf')
        say(`${metric}: CSV ${JSON.stringify(value)}, JSON ${JSON.stringify(want)}`);
    }
    for (const metric of expected.keys())
      if (!listed.has(metric) && !metric.startsWith('range.') && metric !== 'asOf')
        say(`metric ${metric} is missing`);
    return problems;
  }

  const items = (json as { items?: Array<Record<string, unknown>> }).items ?? [];
  const leading =
    route === 'series' ? ['start', 'orders', 'confirmed'] : ['productId', 'name', 'units'];
  if (header.slice(0, leading.length).join(',') !== leading.join(','))
    say(`header ${JSON.stringify(header)}`);
  const currencyColumns = header.slice(leading.length);
  const currencies = currencyColumns.map((c) => c.replace(/^revenue_/, ''));
  if (
    !currencyColumns.every((c) => /^revenue_[A-Z]{3}$/.test(c)) ||
    new Set(currencies).size !== currencies.length
  )
    say(`revenue columns ${JSON.stringify(currencyColumns)}`);
  const inJson = new Set(
    items.flatMap((i) => (i.revenue as MoneyJson[]).filter((m) => m.amount).map((m) => m.currency)),
  );
  for (const c of inJson) if (!currencies.includes(c)) say(`no revenue_${c} column`);
  if (body.length !== items.length) say(`${body.length} rows for ${items.length} items`);
  for (const [i, item] of items.entries()) {
    const row = body[i] ?? [];
    const revenue = item.revenue as MoneyJson[];
    const want = [
      ...leading.map((k) => csvValue(item[k])),
      ...currencies.map((c) => String(revenue.find((m) => m.currency === c)?.amount ?? 0)),
    ];
    if (row.join('\u0000') !== want.join('\u0000'))
      say(`row ${i + 1}: CSV ${JSON.stringify(row)}, JSON ${JSON.stringify(want)}`);
  }
  return problems.slice(0, 12);
}
