import { describe, expect, it } from 'vitest';
import { parseCsv, parseCsvObjects } from '../../src/util/csv.js';

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks (RFC 4180)', () => {
    const text = 'text,intent\r\n"add ""Blue, Green"" to\nmy list",AddToPlaylist\r\nplain,Other\n';
    expect(parseCsv(text)).toEqual([
      ['text', 'intent'],
      ['add "Blue, Green" to\nmy list', 'AddToPlaylist'],
      ['plain', 'Other'],
    ]);
  });

  it('keeps empty fields, skips a byte-order mark and needs no final line break', () => {
    expect(parseCsv('\ufeffa,,c\n,"",x')).toEqual([
      ['a', '', 'c'],
      ['', '', 'x'],
    ]);
  });

  it('throws on a quoted field left open', () => {
    expect(() => parseCsv('a,"b\n')).toThrow(/inside a quoted field/);
  });
});

describe('parseCsvObjects', () => {
  it('keys records by the header, skips blank lines and rejects ragged records', () => {
    expect(parseCsvObjects('text,intent\nhi,Greet\n\n')).toEqual([{ text: 'hi', intent: 'Greet' }]);
    expect(() => parseCsvObjects('text,intent\nhi\n')).toThrow(/record 2 has 1 fields, the header has 2/);
  });
});
