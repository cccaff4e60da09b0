import { readEachOnce, readForAWhile, readOnce } from './logout-protocol';

describe('readForAWhile', () => {
  let now = 0;
  let reads = 0;
  const load = (answer: string) => async () => {
    reads++;
    return answer;
  };
  beforeEach(() => {
    now = 1_000;
    reads = 0;
  });

  it('shares a read among everyone who asks within its time, and reads again after', async () => {
    const once = readForAWhile(1000, () => now);
    expect(await Promise.all([once('a', load('one')), once('a', load('two'))])).toEqual(['one', 'one']);
    now += 999;
    expect(await once('a', load('three'))).toBe('one');
    expect(await once('b', load('other'))).toBe('other'); // another key, its own read
    now += 1;
    expect(await once('a', load('four'))).toBe('four'); // a setting changed meanwhile applies now
    expect(reads).toBe(3);
  });

  it('forgets a failed read at once, so the next batch asks the database again', async () => {
    const once = readForAWhile(1000, () => now);
    await expect(once('a', () => Promise.reject(new Error('database gone')))).rejects.toThrow('database gone');
    expect(await once('a', load('back'))).toBe('back');
  });
});

describe('readEachOnce', () => {
  const rows = ['a', 'b', 'c'].map((id) => ({ id, value: id.toUpperCase() }));
  let loads: string[][];
  const loadRows = async (ids: string[]) => {
    loads.push(ids);
    return rows.filter((row) => ids.includes(row.id));
  };
  const read = (once: ReturnType<typeof readForAWhile>, ids: string[], load = loadRows) =>
    readEachOnce(once, 'row:', ids, load, (row) => row.id).then((found) =>
      Object.fromEntries([...found].map(([id, row]) => [id, row.value])),
    );
  beforeEach(() => (loads = []));

  it('reads the ids it does not hold in one load, and the ones it holds not at all', async () => {
    const once = readForAWhile(1000);
    expect(await once('row:a', async () => rows[0])).toBe(rows[0]);
    expect(await read(once, ['a', 'b', 'c', 'b'])).toEqual({ a: 'A', b: 'B', c: 'C' });
    expect(loads).toEqual([['b', 'c']]);
    // Later reads of one key share what the load found.
    expect(await once('row:c', async () => 'read again')).toBe(rows[2]);
    expect(await read(once, ['b', 'c'])).toEqual({ b: 'B', c: 'C' });
    expect(loads).toHaveLength(1);
  });

  it('leaves out an id the load found no row for, and forgets it: its own read asks the database again', async () => {
    const once = readForAWhile(1000);
    expect(await read(once, ['a', 'gone'])).toEqual({ a: 'A' });
    expect(await once('row:gone', async () => 'created since')).toBe('created since');
  });

  it('leaves every id to its own read when the load fails', async () => {
    const once = readForAWhile(1000);
    expect(await read(once, ['a', 'b'], () => Promise.reject(new Error('database gone')))).toEqual({});
    expect(await once('row:a', async () => 'back')).toBe('back');
  });
});

describe('readOnce through a shared ReadOnce', () => {
  it('keeps for the whole batch what it read when it started, after the shared one forgot it', async () => {
    let now = 0;
    const shared = readForAWhile(1000, () => now);
    const batch = readOnce(shared);
    expect(await batch('a', async () => 'first')).toBe('first');
    now += 5000; // the batch's messages took long: the shared read expired meanwhile
    expect(await batch('a', async () => 'changed since')).toBe('first');
    // A batch that starts now reads it again.
    expect(await readOnce(shared)('a', async () => 'changed since')).toBe('changed since');
  });
});
