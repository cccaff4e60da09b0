import { EnvReader } from './env-reader';

describe('EnvReader', () => {
  it('trims values and takes an empty one as unset; untrimmed keeps the spaces', () => {
    const read = new EnvReader({ A: '  a b  ', EMPTY: '', P: ' pass word ' });
    expect(read.value('A')).toBe('a b');
    expect(read.value('EMPTY')).toBeUndefined();
    expect(read.value('UNSET')).toBeUndefined();
    expect(read.untrimmed('P')).toBe(' pass word ');
    expect(read.untrimmed('EMPTY')).toBeUndefined();
    expect(read.problems).toEqual([]);
  });

  it('reads whole numbers within bounds, and notes anything else with the value as given', () => {
    const read = new EnvReader({ N: ' 42 ', LOW: '0', HIGH: '11', FRACTION: '1.5', NEGATIVE: '-1' });
    expect(read.integer('N', 7, 1, 100)).toBe(42);
    expect(read.integer('UNSET', 7, 1, 100)).toBe(7);
    for (const name of ['LOW', 'HIGH', 'FRACTION', 'NEGATIVE']) read.integer(name, 7, 1, 10);
    expect(read.problems).toEqual([
      'LOW: must be a whole number from 1 to 10 (got "0")',
      'HIGH: must be a whole number from 1 to 10 (got "11")',
      'FRACTION: must be a whole number from 1 to 10 (got "1.5")',
      'NEGATIVE: must be a whole number from 1 to 10 (got "-1")',
    ]);
  });

  it('reads durations of at least a minimum, the fallback when unset, and the minimum in place of a bad one', () => {
    const read = new EnvReader({ D: '15m', SHORT: '50ms', BAD: 'soon' });
    expect(read.duration('D', '1h', 1000)).toBe(900_000);
    expect(read.duration('UNSET', '1h', 1000)).toBe(3_600_000);
    expect(read.duration('SHORT', '1h', 100)).toBe(100);
    expect(read.duration('BAD', '1h', 60_000)).toBe(60_000);
    expect(read.problems).toEqual([
      'SHORT: must be a duration such as 90s, 15m, 12h or 7d, at least 0.1s (got "50ms")',
      'BAD: must be a duration such as 90s, 15m, 12h or 7d, at least 60s (got "soon")',
    ]);
  });

  it('reads booleans in any case, the fallback when unset or bad', () => {
    const read = new EnvReader({ Y: 'YES', T: 'true', ONE: '1', N: 'No', F: 'false', ZERO: '0', BAD: 'maybe' });
    expect(['Y', 'T', 'ONE'].map((name) => read.boolean(name, false))).toEqual([true, true, true]);
    expect(['N', 'F', 'ZERO'].map((name) => read.boolean(name, true))).toEqual([false, false, false]);
    expect(read.boolean('UNSET', true)).toBe(true);
    expect(read.boolean('BAD', true)).toBe(true);
    expect(read.problems).toEqual(['BAD: must be true or false (got "maybe")']);
  });

  it('reads secrets of at least 32 characters (after trimming), and notes a shorter one', () => {
    const read = new EnvReader({ OK: 's'.repeat(32), SHORT: ` ${'s'.repeat(31)} ` });
    expect(read.secret('OK')).toBe('s'.repeat(32));
    expect(read.secret('UNSET')).toBeUndefined();
    expect(read.secret('SHORT')).toBe('s'.repeat(31));
    expect(read.problems).toEqual([`SHORT: must be at least 32 characters (got " ${'s'.repeat(31)} ")`]);
  });
});
