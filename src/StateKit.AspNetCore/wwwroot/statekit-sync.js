// statekit-sync.js: offline-first sync of StateKit session keys. No dependencies; served by StateKit.AspNetCore as
// _content/StateKit.AspNetCore/statekit-sync.js. The protocol, the policies and the threats are in docs/offline.md.
//
//   import { StateKitSync } from '/_content/StateKit.AspNetCore/statekit-sync.js';
//   const sync = new StateKitSync({ keys: ['cart'] });
//   sync.addEventListener('change', () => render(sync.value('cart'), sync.status));
//   await sync.start();
//   sync.add('cart', 'tea', 1);          // shows at once, syncs now or when the connection returns
//
// Every change is recorded in IndexedDB first (so it survives a reload or a closed tab while offline), applied to the
// page at once on top of the last value the server confirmed, and sent in batches. The server's answer replaces the
// confirmed values; an operation it rejected is reported in status.conflicts with the value the server kept.

const DB_VERSION = 1;

function randomId() {
  if (globalThis.crypto?.randomUUID) {
    return crypto.randomUUID();
  }

  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

// The same rules as the server (SyncMerges): a counter is a number, or an object of numbers whose zero fields drop;
// a set is an array of strings.
export function applyOperation(exists, value, op) {
  switch (op.op) {
    case 'set':
      return { exists: true, value: clone(op.value) };
    case 'remove':
      return { exists: false, value: undefined };
    case 'add': {
      if (op.field === undefined) {
        const total = (exists && typeof value === 'number' ? value : 0) + op.by;
        return { exists: true, value: total };
      }

      const next = exists && value && typeof value === 'object' && !Array.isArray(value) ? { ...value } : {};
      const total = (typeof next[op.field] === 'number' ? next[op.field] : 0) + op.by;
      if (total === 0) {
        delete next[op.field];
      } else {
        next[op.field] = total;
      }

      return { exists: true, value: next };
    }
    case 'setAdd':
    case 'setRemove': {
      const members = exists && Array.isArray(value) ? value.filter((m) => m !== op.member) : [];
      if (op.op === 'setAdd') {
        members.push(op.member);
      }

      return { exists: true, value: members };
    }
    default:
      return { exists, value };
  }
}

export class StateKitSync extends EventTarget {
  #endpoint;
  #keys;
  #dbName;
  #retryMs;
  #maxBatch;
  #db = null;
  #base = new Map();      // key -> { version, exists, value }: what the server last confirmed
  #pending = [];          // operations not yet answered, oldest first
  #conflicts = [];
  #lastSync = null;
  #online = typeof navigator === 'undefined' ? true : navigator.onLine;
  #syncing = null;
  #again = false;
  #timer = null;
  #channel = null;

  /**
   * @param {object} options
   * @param {string[]} options.keys the session keys to sync (the server lists the same in MapStateKitSync).
   * @param {string} [options.endpoint] the sync endpoint; default '/statekit/sync'.
   * @param {string} [options.database] the IndexedDB database name; default 'statekit-sync'.
   * @param {number} [options.retryMs] how often to try again while changes wait; default 3000.
   * @param {number} [options.maxBatch] operations per batch, at most the server's MaxOperations; default 100.
   */
  constructor({ keys, endpoint = '/statekit/sync', database = 'statekit-sync', retryMs = 3000, maxBatch = 100 }) {
    super();
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new TypeError('StateKitSync needs the keys to sync, e.g. { keys: ["cart"] }.');
    }

    this.#keys = [...keys];
    this.#endpoint = endpoint;
    this.#dbName = database;
    this.#retryMs = retryMs;
    this.#maxBatch = maxBatch;
  }

  /** Opens the local queue, shows what it holds, and syncs. */
  async start() {
    this.#db = await this.#open();
    await this.#loadLocal();
    if (typeof BroadcastChannel !== 'undefined') {
      // Other tabs of this browser share the queue: when one changes it, the others show it too.
      this.#channel = new BroadcastChannel(this.#dbName);
      this.#channel.onmessage = async () => {
        await this.#loadLocal();
        this.#changed();
      };
    }

    globalThis.addEventListener?.('online', () => {
      this.#online = true;
      this.#changed();
      this.sync();
    });
    globalThis.addEventListener?.('offline', () => {
      this.#online = false;
      this.#changed();
    });
    this.#timer = setInterval(() => {
      if (this.#pending.length > 0 || this.#lastSync === null) {
        this.sync();
      }
    }, this.#retryMs);
    this.#changed();
    await this.sync();
  }

  /** Stops retrying and closes the local queue. */
  stop() {
    clearInterval(this.#timer);
    this.#channel?.close();
    this.#db?.close();
  }

  /** The key's value as the page should show it: the server's last confirmed value with every waiting change applied. */
  value(key) {
    const base = this.#base.get(key) ?? { exists: false, value: undefined };
    let state = { exists: base.exists, value: clone(base.value) };
    for (const op of this.#pending) {
      if (op.key === key) {
        state = applyOperation(state.exists, state.value, op);
      }
    }

    return state.exists ? state.value : undefined;
  }

  /** What the page shows about sync: changes waiting, the last successful sync, rejected changes, and the connection. */
  get status() {
    return {
      pending: this.#pending.length,
      lastSync: this.#lastSync,
      conflicts: [...this.#conflicts],
      // The last request's outcome, and what the browser knows: either one saying offline is enough.
      online: this.#online && (typeof navigator === 'undefined' || navigator.onLine !== false),
      syncing: this.#syncing !== null,
    };
  }

  /** Adds to a counter: the whole value, or one field of an object of counters (a cart's SKU). Never conflicts. */
  add(key, field, by = 1) {
    const op = { op: 'add', by };
    if (field !== undefined && field !== null) {
      op.field = field;
    }

    return this.#record(key, op);
  }

  /** Replaces the value; a conflicting change on the server is settled by the key's policy. */
  set(key, value) {
    return this.#record(key, { op: 'set', value });
  }

  /** Removes the key; a conflicting change on the server is settled by the key's policy. */
  remove(key) {
    return this.#record(key, { op: 'remove' });
  }

  /** Adds a member to a set (an array of strings). Never conflicts. */
  setAdd(key, member) {
    return this.#record(key, { op: 'setAdd', member });
  }

  /** Removes a member from a set. Never conflicts. */
  setRemove(key, member) {
    return this.#record(key, { op: 'setRemove', member });
  }

  /** Forgets the rejected changes shown so far. */
  clearConflicts() {
    this.#conflicts = [];
    this.#changed();
  }

  /** Sends every waiting change now; resolves when the server answered, or the attempt failed (they keep waiting). */
  sync() {
    if (this.#syncing) {
      this.#again = true;
      return this.#syncing;
    }

    this.#syncing = this.#run().finally(() => {
      this.#syncing = null;
      this.#changed();
      if (this.#again) {
        this.#again = false;
        this.sync();
      }
    });
    this.#changed();
    return this.#syncing;
  }

  async #record(key, fields) {
    if (!this.#keys.includes(key)) {
      throw new TypeError(`'${key}' is not a synced key (${this.#keys.join(', ')}).`);
    }

    const op = {
      id: randomId(),
      key,
      ...fields,
      baseVersion: this.#base.get(key)?.version ?? 0,
      at: Date.now(),
    };

    // Durable first: a change the page shows is a change a reload or a crash does not lose.
    const tx = this.#db.transaction('ops', 'readwrite');
    op.seq = await request(tx.objectStore('ops').add(op));
    await done(tx);
    this.#pending.push(op);
    this.#broadcast();
    this.#changed();
    this.sync();
    return op.id;
  }

  async #run() {
    while (true) {
      const batch = this.#pending.slice(0, this.#maxBatch);
      let response;
      try {
        response = await fetch(this.#endpoint, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({
            operations: batch.map(({ seq, ...op }) => op),
            read: this.#keys,
          }),
        });
      } catch {
        // No connection: the changes wait, the timer and the 'online' event try again.
        this.#online = false;
        return;
      }

      this.#online = true;
      if (response.status === 409 || response.status >= 500) {
        return;   // contention or an outage: nothing was applied; the same batch goes again later
      }

      if (!response.ok) {
        // A batch the server refused whole (400, 413, 415) would be refused again: drop it and say so.
        const problem = await response.json().catch(() => ({}));
        for (const op of batch) {
          this.#conflicts.push({ id: op.id, key: op.key, op: op.op, reason: problem.code ?? String(response.status) });
        }

        await this.#settle(batch, {});
        return;
      }

      const answer = await response.json();
      for (const result of answer.results) {
        if (result.status === 'rejected') {
          const op = batch.find((o) => o.id === result.id);
          this.#conflicts.push({
            id: result.id, key: op?.key, op: op?.op, reason: result.reason ?? 'rejected',
            serverVersion: result.serverVersion, serverValue: result.value,
          });
        }
      }

      await this.#settle(batch, answer.keys ?? {}, answer.results);
      this.#lastSync = new Date();
      await this.#put('meta', { name: 'lastSync', value: this.#lastSync.toISOString() });
      if (this.#pending.length === 0) {
        return;
      }
    }
  }

  // The answered operations leave the queue; the server's values become the confirmed base. Operations still waiting
  // (a queue longer than one batch) move onto the version this client's own answered operations produced: those
  // changes were its own, not someone else's.
  async #settle(batch, keys, results = []) {
    const answered = new Set(batch.map((o) => o.id));
    const lastVersion = new Map();
    for (const result of results) {
      const op = batch.find((o) => o.id === result.id);
      if (op && result.status !== 'rejected') {
        lastVersion.set(op.key, result.version);
      }
    }

    const tx = this.#db.transaction(['ops', 'keys'], 'readwrite');
    const ops = tx.objectStore('ops');
    for (const op of batch) {
      ops.delete(op.seq);
    }

    this.#pending = this.#pending.filter((o) => !answered.has(o.id));
    for (const op of this.#pending) {
      if (lastVersion.has(op.key)) {
        op.baseVersion = lastVersion.get(op.key);
        ops.put(op);
      }
    }

    for (const [key, state] of Object.entries(keys)) {
      const base = { key, version: state.version, exists: 'value' in state, value: state.value };
      this.#base.set(key, base);
      tx.objectStore('keys').put(base);
    }

    await done(tx);
    this.#broadcast();
  }

  async #loadLocal() {
    const tx = this.#db.transaction(['ops', 'keys', 'meta'], 'readonly');
    const [ops, keys, lastSync] = await Promise.all([
      request(tx.objectStore('ops').getAll()),
      request(tx.objectStore('keys').getAll()),
      request(tx.objectStore('meta').get('lastSync')),
    ]);
    this.#pending = ops.sort((a, b) => a.seq - b.seq);
    this.#base = new Map(keys.map((k) => [k.key, k]));
    this.#lastSync = lastSync ? new Date(lastSync.value) : this.#lastSync;
  }

  async #put(store, value) {
    const tx = this.#db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value);
    await done(tx);
  }

  #open() {
    const open = indexedDB.open(this.#dbName, DB_VERSION);
    open.onupgradeneeded = () => {
      const db = open.result;
      db.createObjectStore('ops', { keyPath: 'seq', autoIncrement: true });
      db.createObjectStore('keys', { keyPath: 'key' });
      db.createObjectStore('meta', { keyPath: 'name' });
    };
    return request(open);
  }

  #broadcast() {
    this.#channel?.postMessage('changed');
  }

  #changed() {
    this.dispatchEvent(new CustomEvent('change', { detail: this.status }));
  }
}
