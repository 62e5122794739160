namespace StateKit.Redis;

/// <summary>
/// The Lua scripts behind every store operation. Each runs atomically on the one node that owns its key's slot, so each
/// operation is one round trip and never leaves a half-applied change. Layout and return codes: docs/redis.md; in code, the
/// keys are <see cref="RedisKeys"/>, the fields <see cref="RedisFields"/>, the arguments <see cref="RedisScriptArgs"/>, and
/// each reply code an enum named on its script.
/// </summary>
/// <remarks>
/// Hash fields: <c>d:&lt;key&gt;</c> holds a value, <c>w:&lt;key&gt;</c> the version that last wrote or removed it,
/// <c>m:&lt;name&gt;</c> metadata (<c>v</c> version, <c>c</c> created, <c>a</c> last access, <c>x</c> absolute expiry,
/// <c>i</c> idle timeout, <c>n</c> payload bytes, <c>k</c> key count, <c>u</c> user id, <c>z</c> version of the last clear,
/// <c>s</c> sign-in metadata as a JSON object of strings).
/// Times are Unix milliseconds of the store's <see cref="System.TimeProvider"/>, passed in as <c>now</c>: the server's
/// clock is only used for the relative TTL, which is a backstop that deletes what the logical check already treats as gone.
/// </remarks>
internal static class RedisScripts
{
    // Integers travel as decimal strings: Lua 5.1 would print large doubles in exponent form.
    private const string Prelude = """
        local function s(n) return string.format('%d', n) end
        local function alive(a, x, i, now) return now < x and now < a + i end
        """;

    /// <summary>
    /// The first half of a load. KEYS[1] session; ARGV[1] now. Returns 1 and slides the idle deadline when the session is
    /// live; 0 when absent; 2 (idle) or 3 (absolute) when past a deadline, deleting it: <see cref="RedisTouchCode"/>. The caller sends <c>HGETALL</c> right
    /// behind it in the same write.
    /// </summary>
    /// <remarks>
    /// The values never pass through Lua: converting a reply into a Lua table and back costs the server far more than
    /// the command itself (a 64 KB session: about 90 µs of CPU against 8 µs for a plain <c>HGETALL</c>), and that is the
    /// server time every other client waits behind.
    /// </remarks>
    public static readonly RedisScript Touch = new("touch", Prelude + """

        local h = KEYS[1]
        local now = tonumber(ARGV[1])
        local meta = redis.call('HMGET', h, 'm:v', 'm:a', 'm:x', 'm:i')
        local a, x, i = tonumber(meta[2]), tonumber(meta[3]), tonumber(meta[4])
        if not (meta[1] and a and x and i) then return 0 end
        if not alive(a, x, i, now) then
          redis.call('DEL', h)
          if now >= x then return 3 end
          return 2
        end
        if now > a then redis.call('HSET', h, 'm:a', s(now)) end
        redis.call('PEXPIRE', h, s(math.min(i, x - now)))
        return 1
        """);

    /// <summary>
    /// KEYS[1] new session; ARGV: now, idle ms, absolute expiry, user or '', payload bytes, n, then n key/value pairs, then
    /// the sign-in metadata (<c>m:s</c>, kept only with a user) or ''.
    /// Returns 1, 0 when the key already exists (an id collision: nothing written), or -1 when the id carries a tombstone
    /// (a sign-out everywhere or a prune gave it up before it was written): <see cref="RedisWriteOnceCode"/>.
    /// Arguments: <see cref="RedisScriptArgs.Create"/>.
    /// </summary>
    public static readonly RedisScript Create = new("create", Prelude + """

        local h = KEYS[1]
        if redis.call('EXISTS', h) == 1 then
          if redis.call('HEXISTS', h, 'm:v') == 0 then return -1 end
          return 0
        end
        local now, idle, abs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
        local n = tonumber(ARGV[6])
        local f = { 'm:v', '1', 'm:c', ARGV[1], 'm:a', ARGV[1], 'm:x', ARGV[3], 'm:i', ARGV[2], 'm:n', ARGV[5], 'm:k', s(n), 'm:z', '0' }
        if ARGV[4] ~= '' then
          f[#f + 1] = 'm:u'; f[#f + 1] = ARGV[4]
          local sm = ARGV[7 + 2 * n]
          if sm and sm ~= '' then f[#f + 1] = 'm:s'; f[#f + 1] = sm end
        end
        -- One HSET for everything, in chunks that stay within Lua's stack for unpack.
        for j = 0, n - 1 do
          local k = ARGV[7 + 2 * j]
          f[#f + 1] = 'd:' .. k; f[#f + 1] = ARGV[8 + 2 * j]; f[#f + 1] = 'w:' .. k; f[#f + 1] = '1'
          if #f >= 4000 then redis.call('HSET', h, unpack(f)); f = {} end
        end
        if #f > 0 then redis.call('HSET', h, unpack(f)) end
        redis.call('PEXPIRE', h, s(math.min(idle, abs - now)))
        return 1
        """);

    /// <summary>
    /// KEYS[1] session; ARGV: now, base version (0 = blind), require base (0/1), per-key conflicts (0/1), clear (0/1),
    /// max payload bytes, user to bind or '', upsert count, removal count, upsert key/value pairs, removal keys, sign-in
    /// metadata or '' (a bind replaces <c>m:s</c> with it, or drops it: metadata never outlives the user it was captured for).
    /// Returns {1, version, expiresAt, previous user or '', absolute expiry} committed; {0, previous user or ''} deleted (no key left);
    /// {-1} not found or expired (nothing written, never resurrected); {-2} conflict; {-3, size} over the payload limit.
    /// Nothing is written unless the whole commit applies. The codes are <see cref="RedisCommitCode"/>, the reply is read by
    /// <see cref="RedisCommitReply"/>, the arguments built by <see cref="RedisScriptArgs.Commit"/>.
    /// </summary>
    public static readonly RedisScript Commit = new("commit", Prelude + """

        local h = KEYS[1]
        local now, base = tonumber(ARGV[1]), tonumber(ARGV[2])
        local meta = redis.call('HMGET', h, 'm:v', 'm:a', 'm:x', 'm:i', 'm:n', 'm:k', 'm:u', 'm:z')
        local v = tonumber(meta[1])
        if not v then return { -1 } end
        local a, x, i = tonumber(meta[2]), tonumber(meta[3]), tonumber(meta[4])
        if not alive(a, x, i, now) then
          redis.call('DEL', h)
          return { -1 }
        end
        if ARGV[3] == '1' and v ~= base then return { -2 } end
        local clear = ARGV[5] == '1'
        local nu, nr = tonumber(ARGV[8]), tonumber(ARGV[9])
        local fr = 10 + 2 * nu
        if ARGV[4] == '1' and base > 0 and v ~= base then
          if (tonumber(meta[8]) or 0) > base then return { -2 } end
          if clear then
            local all = redis.call('HGETALL', h)
            for j = 1, #all, 2 do
              if string.sub(all[j], 1, 2) == 'w:' and tonumber(all[j + 1]) > base then return { -2 } end
            end
          end
          for j = 0, nu - 1 do
            local w = redis.call('HGET', h, 'w:' .. ARGV[10 + 2 * j])
            if w and tonumber(w) > base then return { -2 } end
          end
          for j = fr, fr + nr - 1 do
            local w = redis.call('HGET', h, 'w:' .. ARGV[j])
            if w and tonumber(w) > base then return { -2 } end
          end
        end
        local size, count = tonumber(meta[5]), tonumber(meta[6])
        if clear then size, count = 0, 0 end
        local cur = {}
        local function len(k)
          local c = cur[k]
          if c == nil then
            if clear then c = false else
              -- The length, not the value: a 64 KB value copied into Lua costs the server more than the whole commit.
              c = redis.call('HSTRLEN', h, 'd:' .. k)
              if c == 0 and redis.call('HEXISTS', h, 'd:' .. k) == 0 then c = false end
            end
          end
          return c
        end
        if not clear then
          for j = fr, fr + nr - 1 do
            local k = ARGV[j]
            local c = len(k)
            if c then size = size - #k - c; count = count - 1 end
            cur[k] = false
          end
        end
        for j = 0, nu - 1 do
          local k, val = ARGV[10 + 2 * j], ARGV[11 + 2 * j]
          local c = len(k)
          if c then size = size - #k - c else count = count + 1 end
          size = size + #k + #val
          cur[k] = #val
        end
        local user = meta[7] or ''
        if count <= 0 then
          redis.call('DEL', h)
          return { 0, user }
        end
        if size > tonumber(ARGV[6]) then return { -3, size } end
        local nv = v + 1
        local sv = s(nv)
        if clear then
          local fields = redis.call('HKEYS', h)
          for _, f in ipairs(fields) do
            local p = string.sub(f, 1, 2)
            if p == 'd:' or p == 'w:' then redis.call('HDEL', h, f) end
          end
          redis.call('HSET', h, 'm:z', sv)
        else
          for j = fr, fr + nr - 1 do
            local k = ARGV[j]
            redis.call('HDEL', h, 'd:' .. k)
            redis.call('HSET', h, 'w:' .. k, sv)
          end
        end
        if now > a then a = now end
        -- One HSET for the values and the metadata, in chunks that stay within Lua's stack for unpack.
        local f = { 'm:v', sv, 'm:a', s(a), 'm:n', s(size), 'm:k', s(count) }
        for j = 0, nu - 1 do
          local k = ARGV[10 + 2 * j]
          f[#f + 1] = 'd:' .. k; f[#f + 1] = ARGV[11 + 2 * j]; f[#f + 1] = 'w:' .. k; f[#f + 1] = sv
          if #f >= 4000 then redis.call('HSET', h, unpack(f)); f = {} end
        end
        if #f > 0 then redis.call('HSET', h, unpack(f)) end
        if ARGV[7] ~= '' then
          redis.call('HSET', h, 'm:u', ARGV[7])
          local sm = ARGV[fr + nr]
          if sm and sm ~= '' then redis.call('HSET', h, 'm:s', sm) else redis.call('HDEL', h, 'm:s') end
        end
        redis.call('PEXPIRE', h, s(math.min(i, x - now)))
        return { 1, sv, s(math.min(a + i, x)), user, s(x) }
        """);

    /// <summary>
    /// KEYS[1] session; ARGV[1] now, ARGV[2] the user it must be bound to, or '' for any, ARGV[3] tombstone ttl ms. Deletes the
    /// session. Returns {1 when it was live or 0, user or ''} when deleted; nil when absent; with a user: {-2} when absent
    /// (a tombstone now holds the id, so that a create or an import still in flight under it can never make it live), and
    /// {-1, user or ''} when bound to someone else (left alone, and left in the index: it may be a bind to this user in flight).
    /// ARGV[4] '1' deletes only a session that is no longer alive (a listing's prune: the session it read as absent may have
    /// been created since), and answers {-3} for a live one, left alone.
    /// </summary>
    public static readonly RedisScript Revoke = new("revoke", Prelude + """

        local h = KEYS[1]
        local meta = redis.call('HMGET', h, 'm:v', 'm:a', 'm:x', 'm:i', 'm:u')
        if not meta[1] then
          if ARGV[2] == '' then return false end
          if redis.call('EXISTS', h) == 0 then
            redis.call('HSET', h, 'm:t', '1')
            redis.call('PEXPIRE', h, ARGV[3])
          end
          return { -2 }
        end
        if ARGV[2] ~= '' and meta[5] ~= ARGV[2] then return { -1, meta[5] or '' } end
        local a, x, i = tonumber(meta[2]), tonumber(meta[3]), tonumber(meta[4])
        local live = 0
        if a and x and i and alive(a, x, i, tonumber(ARGV[1])) then live = 1 end
        if live == 1 and ARGV[4] == '1' then return { -3 } end
        redis.call('DEL', h)
        return { live, meta[5] or '' }
        """);

    /// <summary>
    /// Rotation, step 1. KEYS[1] old session; ARGV[1] now. Returns every raw field and value of a live session, or nil
    /// (deleting it when expired). Changes nothing else.
    /// </summary>
    public static readonly RedisScript Export = new("export", Prelude + """

        local h = KEYS[1]
        local meta = redis.call('HMGET', h, 'm:v', 'm:a', 'm:x', 'm:i')
        if not meta[1] then return false end
        local a, x, i = tonumber(meta[2]), tonumber(meta[3]), tonumber(meta[4])
        if not alive(a, x, i, tonumber(ARGV[1])) then
          redis.call('DEL', h)
          return false
        end
        return redis.call('HGETALL', h)
        """);

    /// <summary>
    /// Rotation, step 2. KEYS[1] new session; ARGV: now, then raw field/value pairs from <see cref="Export"/>.
    /// Writes the copy (expiring like the original) unless the key exists. Returns 1, 0 on an id collision, or -1 on a
    /// tombstone (<see cref="RedisWriteOnceCode"/>). Arguments: <see cref="RedisScriptArgs.Import"/>.
    /// </summary>
    public static readonly RedisScript Import = new("import", Prelude + """

        local h = KEYS[1]
        if redis.call('EXISTS', h) == 1 then
          if redis.call('HEXISTS', h, 'm:v') == 0 then return -1 end
          return 0
        end
        for j = 2, #ARGV, 2 do redis.call('HSET', h, ARGV[j], ARGV[j + 1]) end
        local meta = redis.call('HMGET', h, 'm:x', 'm:i')
        local now = tonumber(ARGV[1])
        redis.call('PEXPIRE', h, s(math.max(1, math.min(tonumber(meta[2]), tonumber(meta[1]) - now))))
        return 1
        """);

    /// <summary>
    /// Rotation, step 4. KEYS[1] old session; ARGV[1] the version that was copied. Deletes the old session only if nobody
    /// wrote it since the copy. Returns 1 deleted, 0 changed meanwhile (kept), -1 gone: <see cref="RedisRetireCode"/>.
    /// </summary>
    public static readonly RedisScript Retire = new("retire", """
        local v = redis.call('HGET', KEYS[1], 'm:v')
        if not v then return -1 end
        if v ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[1])
        return 1
        """);

    /// <summary>
    /// The prune's check of one id found in a user index. KEYS[1] session; ARGV[1] tombstone ttl ms. Returns 1 when a session
    /// is there (kept); otherwise 0, and a tombstone now holds the id: an id whose create or import is still in flight
    /// (in the index, no key yet) can then never become live outside the index, so dropping it is safe.
    /// </summary>
    public static readonly RedisScript Seal = new("seal", """
        local h = KEYS[1]
        if redis.call('HEXISTS', h, 'm:v') == 1 then return 1 end
        if redis.call('EXISTS', h) == 0 then
          redis.call('HSET', h, 'm:t', '1')
          redis.call('PEXPIRE', h, ARGV[1])
        end
        return 0
        """);

    /// <summary>
    /// <see cref="IndexAdd"/> under <c>MaxSessionsPerUser</c>, atomically: two sign-ins of one user cannot both slip under the
    /// limit. KEYS[1] user index, KEYS[2] its leases, KEYS[3..] the session key of each id the caller read from the index;
    /// ARGV: id, index ttl ms, now, max, policy (0 sign out the least recently active, 1 refuse), user, lease ms, tombstone
    /// ttl ms, the id this one replaces (a rotation: not counted) or '', then the ids read (in KEYS order).
    /// Returns {1, signed-out ids...} when the id is indexed, {0} when refused, {-9} when the index changed since the caller
    /// read it (read it again).
    /// </summary>
    /// <remarks>
    /// An id indexed here has no session key until its create or bind runs (another slot). The lease says how long such an
    /// id counts as a sign-in in flight; past it, a keyless id is dead, and is sealed (tombstoned) and dropped as the prune
    /// does. Counted: sessions alive and bound to this user, plus leases in flight. Every key is declared, so on a standalone
    /// server or Sentinel the script is atomic over them; a Redis Cluster refuses it (cross-slot), and the store then uses
    /// <see cref="IndexAddCounted"/>, see docs/decisions.md.
    /// </remarks>
    public static readonly RedisScript IndexAddLimited = new("index-add-limited", Prelude + """

        local idx, lease, id = KEYS[1], KEYS[2], ARGV[1]
        local now, max, user = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[6]
        if redis.call('SISMEMBER', idx, id) == 1 then return { 1 } end
        local n = #KEYS - 2
        if redis.call('SCARD', idx) ~= n then return { -9 } end
        for j = 1, n do
          if redis.call('SISMEMBER', idx, ARGV[9 + j]) == 0 then return { -9 } end
        end
        local live, pending = {}, 0
        for j = 1, n do
          local key, m = KEYS[2 + j], ARGV[9 + j]
          local meta = redis.call('HMGET', key, 'm:v', 'm:a', 'm:x', 'm:i', 'm:u')
          if meta[1] then
            redis.call('HDEL', lease, m)
            local a, x, i = tonumber(meta[2]), tonumber(meta[3]), tonumber(meta[4])
            if alive(a, x, i, now) and meta[5] == user and m ~= ARGV[9] then live[#live + 1] = { m, key, a } end
          elseif tonumber(redis.call('HGET', lease, m) or '0') > now and redis.call('EXISTS', key) == 0 then
            pending = pending + 1
          else
            if redis.call('EXISTS', key) == 0 then
              redis.call('HSET', key, 'm:t', '1')
              redis.call('PEXPIRE', key, ARGV[8])
            end
            redis.call('SREM', idx, m)
            redis.call('HDEL', lease, m)
          end
        end
        local over = #live + pending + 1 - max
        local out = { 1 }
        if over > 0 then
          if ARGV[5] == '1' or over > #live then return { 0 } end
          table.sort(live, function(p, q) return p[3] < q[3] end)
          for j = 1, over do
            redis.call('DEL', live[j][2])
            redis.call('SREM', idx, live[j][1])
            out[#out + 1] = live[j][1]
          end
        end
        redis.call('SADD', idx, id)
        redis.call('HSET', lease, id, s(now + tonumber(ARGV[7])))
        local ttl = tonumber(ARGV[2])
        if redis.call('PTTL', idx) < ttl then redis.call('PEXPIRE', idx, ARGV[2]) end
        if redis.call('PTTL', lease) < ttl then redis.call('PEXPIRE', lease, ARGV[2]) end
        return out
        """);

    /// <summary>
    /// Signs a session out for <see cref="IndexAddCounted"/>'s caller. KEYS[1] session; ARGV[1] tombstone ttl ms. Deletes it
    /// and leaves a tombstone, so that until the decision drops the id (and its lease) from the index, other sign-ins
    /// reading it see a session that ended, not a sign-in still in flight.
    /// </summary>
    public static readonly RedisScript SignOut = new("sign-out", """
        redis.call('DEL', KEYS[1])
        redis.call('HSET', KEYS[1], 'm:t', '1')
        redis.call('PEXPIRE', KEYS[1], ARGV[1])
        return 1
        """);

    /// <summary>
    /// <see cref="IndexAddLimited"/> where the sessions live in other slots (Redis Cluster): the caller reads the index, its
    /// leases and each indexed session, seals the dead and signs out the least recently active itself, then this script,
    /// over the user's slot only, makes the decision atomically. KEYS[1] user index, KEYS[2] its leases; ARGV: id, index ttl
    /// ms, now, max, lease ms, n, then the n ids the caller read, then n classes in the same order: <c>c</c> counted (live,
    /// bound to the user), <c>p</c> counted (a sign-in in flight), <c>k</c> kept but not counted, <c>d</c> dead (sealed or
    /// signed out by the caller: dropped). Returns 1 when the id is indexed, 0 when refused, -9 when the index changed since
    /// the caller read it (read it again).
    /// </summary>
    /// <remarks>
    /// A class can only be stale towards counting more: a session read live may end before this runs (it still counts, so a
    /// sign-in can be refused or sign out one session more than needed in that window), but one read dead cannot come back
    /// (sealed, or deleted under an id nobody reuses). The index itself cannot be stale: any change since the read is -9.
    /// </remarks>
    public static readonly RedisScript IndexAddCounted = new("index-add-counted", Prelude + """

        local idx, lease, id = KEYS[1], KEYS[2], ARGV[1]
        local now, max, n = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
        if redis.call('SISMEMBER', idx, id) == 1 then return 1 end
        if redis.call('SCARD', idx) ~= n then return -9 end
        for j = 1, n do
          if redis.call('SISMEMBER', idx, ARGV[6 + j]) == 0 then return -9 end
        end
        local counted = 0
        for j = 1, n do
          local m, c = ARGV[6 + j], ARGV[6 + n + j]
          if c == 'd' then
            redis.call('SREM', idx, m)
            redis.call('HDEL', lease, m)
          elseif c == 'p' then
            counted = counted + 1
          else
            redis.call('HDEL', lease, m)
            if c == 'c' then counted = counted + 1 end
          end
        end
        if counted + 1 > max then return 0 end
        redis.call('SADD', idx, id)
        redis.call('HSET', lease, id, s(now + tonumber(ARGV[5])))
        local ttl = tonumber(ARGV[2])
        if redis.call('PTTL', idx) < ttl then redis.call('PEXPIRE', idx, ARGV[2]) end
        if redis.call('PTTL', lease) < ttl then redis.call('PEXPIRE', lease, ARGV[2]) end
        return 1
        """);

    /// <summary>
    /// KEYS[1] user index, KEYS[2] its leases; ARGV: session id, ttl ms, sample size, now, lease ms. Adds the id with a lease
    /// (its key is written right after, in another slot) and extends (never shortens) both keys' TTL. Returns, for pruning,
    /// the ids of a random sample of the index (all of a small one, a bounded few of a user's thousands) that hold no lease:
    /// an id still within its lease is a sign-in in flight, and pruning it would make its create start over, which under
    /// many concurrent sign-ins of one user repeats until the create gives up. A lease the sample finds expired is dropped.
    /// </summary>
    public static readonly RedisScript IndexAdd = new("index-add", Prelude + """

        local k, lease, id = KEYS[1], KEYS[2], ARGV[1]
        local now = tonumber(ARGV[4])
        redis.call('SADD', k, id)
        redis.call('HSET', lease, id, s(now + tonumber(ARGV[5])))
        local ttl = tonumber(ARGV[2])
        if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ARGV[2]) end
        if redis.call('PTTL', lease) < ttl then redis.call('PEXPIRE', lease, ARGV[2]) end
        local out = {}
        for _, m in ipairs(redis.call('SRANDMEMBER', k, ARGV[3])) do
          if m ~= id then
            local d = tonumber(redis.call('HGET', lease, m) or '0')
            if d <= now then
              if d > 0 then redis.call('HDEL', lease, m) end
              out[#out + 1] = m
            end
          end
        end
        return out
        """);
}
