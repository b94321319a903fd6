/**
 * A small RFC 4180 CSV reader: quoted fields may hold commas, doubled quotes and line breaks; CRLF and LF
 * both end records. Enough for the data sets Trinity reads (no dependency for a few dozen lines).
 */

/** Every record of `text` as arrays of fields. A trailing line break does not make an empty record. */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // skip a byte-order mark
  let quoted = false;
  let fieldStarted = false;
  const endField = () => {
    record.push(field);
    field = '';
    fieldStarted = false;
  };
  const endRecord = () => {
    endField();
    records.push(record);
    record = [];
  };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += ch;
      }
      i++;
      continue;
    }
    if (ch === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (ch === ',') {
      endField();
    } else if (ch === '\n' || ch === '\r') {
      endRecord();
      if (ch === '\r' && text[i + 1] === '\n') i++;
    } else {
      field += ch;
      fieldStarted = true;
    }
    i++;
  }
  if (quoted) throw new SyntaxError('CSV ends inside a quoted field');
  if (fieldStarted || field !== '' || record.length > 0) endRecord();
  return records;
}

/** Records as objects keyed by the header row; blank lines are skipped, other short or long rows are an error. */
export function parseCsvObjects(text: string): Record<string, string>[] {
  const [header, ...records] = parseCsv(text);
  if (!header) return [];
  const rows = records.filter((r) => !(r.length === 1 && r[0] === ''));
  return rows.map((row, i) => {
    if (row.length !== header.length) throw new SyntaxError(`CSV record ${i + 2} has ${row.length} fields, the header has ${header.length}`);
    return Object.fromEntries(header.map((h, j) => [h, row[j]]));
  });
}
