using System;
using System.Buffers.Text;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using StateKit.Testing;

namespace StateKit.Jwt.Tests;

/// <summary>The attacks a JWT store must shrug off, each against a real JsonWebTokenHandler.</summary>
public sealed class JwtSecurityTests
{
    // An HS256 token of a fixed session, key, clock and ids. Tokens live in users' browsers: if this test fails, the change
    // signs every user out. Keep reading the old shape (or bump the state format version) instead.
    private const string Hs256Snapshot =
        "eyJhbGciOiJIUzI1NiIsImtpZCI6ImgxIiwidHlwIjoiSldUIn0.eyJhdWQiOiJzdGF0ZWtpdC10ZXN0cyIsImlzcyI6Imh0dHBzOi8vdGVzdHMuc3RhdGVraXQiLCJleHAiOjE3OTU2OTU2MDAsImlhdCI6MTc5NTY5NDQwMCwibmJmIjoxNzk1Njk0NDAwLCJzaWQiOiJpZC0wMS1BQUFBQUFBQUFBQUFBQUFBQUFBIiwianRpIjoiaWQtMDItQUFBQUFBQUFBQUFBQUFBQUFBQSIsInN0ayI6IkFRRUFBQUFBQUFBQUFCSzZGNklCQUFBQUVyb1hvZ0VBQUFEdkp4aWlBUUFBZ0U4U0FBQUFBQUFCQTJGdVlRRUVZMkZ5ZEFkN0luZ2lPakY5In0.Mb-wcVUvgvAUFst0j8kYa9KJB5vfQ7ahR_vZcfQajDo";

    private static readonly DateTimeOffset Epoch = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(Epoch);
    private readonly SymmetricSecurityKey _hmac = JwtTestKeys.Hmac("h1");

    [Fact]
    public async Task Issue_FixedSessionKeyClockAndIds_MatchesTheSnapshot()
    {
        var store = Store(_hmac);
        var ids = 0;
        store.NewId = () => $"id-{++ids:D2}-AAAAAAAAAAAAAAAAAAA";
        var session = store.Open(null);
        session.SetBytes("cart", "{\"x\":1}"u8);
        session.BindUser("ana");
        await session.CommitAsync();

        Assert.Equal(Hs256Snapshot, session.Ticket);
        Assert.NotNull(await store.LoadAsync(Hs256Snapshot));
    }

    [Fact]
    public async Task Token_WithoutEncryption_IsReadableByTheClient_AsDocumented()
    {
        var token = await NewTokenAsync(Store(_hmac));

        var payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.Split('.')[1]));

        Assert.Contains("\"stk\":", payload, StringComparison.Ordinal);
        Assert.Contains("\"sid\":", payload, StringComparison.Ordinal);
        Assert.Contains("\"iss\":\"https://tests.statekit\"", payload, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_WithEncryption_RoundTripsAndHidesTheState()
    {
        var options = JwtTestKeys.Options(_hmac);
        options.Encryption = new EncryptingCredentials(
            new SymmetricSecurityKey(Enumerable.Range(0, 64).Select(i => (byte)i).ToArray()) { KeyId = "enc1" },
            JwtConstants.DirectKeyUseAlg,
            SecurityAlgorithms.Aes256CbcHmacSha512);
        var store = new JwtSessionStore(options, _time);

        var token = await NewTokenAsync(store);

        Assert.Equal(5, token.Split('.').Length);
        Assert.DoesNotContain("stk", string.Concat(token.Split('.').Take(1).Select(s => Encoding.UTF8.GetString(Base64Url.DecodeFromChars(s)))), StringComparison.Ordinal);
        Assert.Equal(1, (await store.Open(token).GetAsync("n", ContractJsonContext.Default.Int32)));
    }

    [Fact]
    public async Task Load_EverySingleBitFlipOfEverySegment_IsRejected()
    {
        var store = Store(_hmac);
        var token = await NewTokenAsync(store);
        var segments = token.Split('.');

        for (var s = 0; s < segments.Length; s++)
        {
            var bytes = Base64Url.DecodeFromChars(segments[s]);
            for (var bit = 0; bit < bytes.Length * 8; bit++)
            {
                var flipped = (byte[])bytes.Clone();
                flipped[bit / 8] ^= (byte)(1 << (bit % 8));
                var copy = (string[])segments.Clone();
                copy[s] = Base64Url.EncodeToString(flipped);
                Assert.Null(await store.LoadAsync(string.Join('.', copy)));
            }
        }

        Assert.NotNull(await store.LoadAsync(token));
    }

    [Fact]
    public async Task Load_TruncatedExtendedEmptyNonBase64OrNonCanonical_IsRejected()
    {
        var store = Store(_hmac);
        var token = await NewTokenAsync(store);

        for (var length = 0; length < token.Length; length += 3)
        {
            Assert.Null(await store.LoadAsync(token[..length]));
        }

        foreach (var bad in new[]
        {
            token + "A", token + ".", token + ".AAAA.AAAA", "." + token, string.Empty, "...", "a.b", "!!.??.**",
            token.Replace('-', '+').Replace('_', '/'), token + "=", token.Insert(10, " "),
        }.Where(bad => bad != token))
        {
            Assert.Null(await store.LoadAsync(bad));
        }

        // Same signature bytes to a lenient decoder, a different string: only one encoding of a token is accepted.
        var signature = token[(token.LastIndexOf('.') + 1)..];
        if (signature.Length % 4 != 0)
        {
            const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            var sibling = token[..^1] + alphabet[alphabet.IndexOf(token[^1], StringComparison.Ordinal) | 1];
            Assert.Null(await store.LoadAsync(sibling));
        }
    }

    [Fact]
    public async Task Load_OneMegabyteToken_IsRejectedInBoundedTime()
    {
        var store = Store(_hmac);
        var huge = string.Join('.', new string('A', 512 * 1024), new string('A', 512 * 1024), "AAAA");

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 100; i++)
        {
            Assert.Null(await store.LoadAsync(huge));
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Load_AlgNone_IsRejected()
    {
        var store = Store(_hmac);
        var token = await NewTokenAsync(store);
        var header = Base64Url.EncodeToString("{\"alg\":\"none\",\"kid\":\"h1\",\"typ\":\"JWT\"}"u8);

        Assert.Null(await store.LoadAsync($"{header}.{token.Split('.')[1]}."));
        Assert.Null(await store.LoadAsync($"{header}.{token.Split('.')[1]}"));
    }

    [Fact]
    public async Task Load_Hs256SignedWithTheRsaPublicKeyAsSecret_IsRejected()
    {
        var rsa = JwtTestKeys.Rsa("r1");
        var store = Store(rsa);
        var claims = await ClaimsOfAsync(store);
        var publicKeyAsSecret = new SymmetricSecurityKey(rsa.Rsa.ExportSubjectPublicKeyInfo()) { KeyId = "r1" };

        var forged = Forge(claims, new SigningCredentials(publicKeyAsSecret, SecurityAlgorithms.HmacSha256));

        Assert.Null(await store.LoadAsync(forged));
    }

    [Fact]
    public async Task Load_AlgorithmOutsideTheAllowedList_IsRejected()
    {
        // A 64-byte key can sign HS384 and HS512 too: only the pinned list stands between them and the store.
        var wide = new SymmetricSecurityKey(Enumerable.Range(0, 64).Select(i => (byte)i).ToArray()) { KeyId = "h1" };
        var options = JwtTestKeys.Options(wide);
        options.AllowedAlgorithms.Remove(SecurityAlgorithms.RsaSha256);
        options.AllowedAlgorithms.Remove(SecurityAlgorithms.EcdsaSha256);
        var store = new JwtSessionStore(options, _time);
        var claims = await ClaimsOfAsync(store);

        Assert.Null(await store.LoadAsync(Forge(claims, new SigningCredentials(wide, SecurityAlgorithms.HmacSha512))));
        Assert.Null(await store.LoadAsync(Forge(claims, new SigningCredentials(wide, SecurityAlgorithms.HmacSha384))));
        Assert.NotNull(await store.LoadAsync(Forge(claims, new SigningCredentials(wide, SecurityAlgorithms.HmacSha256))));
    }

    [Fact]
    public async Task Load_ExpiredNotYetValidWrongIssuerOrAudience_IsRejected()
    {
        var store = Store(_hmac);
        var claims = await ClaimsOfAsync(store);
        var now = _time.GetUtcNow().UtcDateTime;
        var signing = new SigningCredentials(_hmac, SecurityAlgorithms.HmacSha256);

        Assert.NotNull(await store.LoadAsync(Forge(claims, signing)));
        Assert.Null(await store.LoadAsync(Forge(claims, signing, notBefore: now.AddMinutes(-10), expires: now.AddMinutes(-1))));
        Assert.Null(await store.LoadAsync(Forge(claims, signing, notBefore: now.AddMinutes(2), expires: now.AddMinutes(10))));
        Assert.Null(await store.LoadAsync(Forge(claims, signing, issuer: "https://evil.example")));
        Assert.Null(await store.LoadAsync(Forge(claims, signing, audience: "another-app")));

        // Within the 30-second skew, both ends still pass: nodes' clocks differ a little.
        Assert.NotNull(await store.LoadAsync(Forge(claims, signing, notBefore: now.AddSeconds(20), expires: now.AddMinutes(10))));
    }

    [Fact]
    public async Task Load_UnknownKidOrAKidOfTheWrongKeyType_IsRejected()
    {
        var ec = JwtTestKeys.EcDsa("e1");
        var store = Store(_hmac, ec);
        var claims = await ClaimsOfAsync(store);

        var sameBytesOtherKid = JwtTestKeys.Hmac("other");
        Assert.Null(await store.LoadAsync(Forge(claims, new SigningCredentials(sameBytesOtherKid, SecurityAlgorithms.HmacSha256))));

        // An EC signature claiming the HMAC key's kid, and an HMAC one claiming the EC key's kid.
        var strangerEc = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "h1" };
        Assert.Null(await store.LoadAsync(Forge(claims, new SigningCredentials(strangerEc, SecurityAlgorithms.EcdsaSha256))));
        var hmacAsEc = JwtTestKeys.Hmac("e1");
        Assert.Null(await store.LoadAsync(Forge(claims, new SigningCredentials(hmacAsEc, SecurityAlgorithms.HmacSha256))));
    }

    [Fact]
    public async Task Load_AfterRotation_RetiredKeyVerifiesUntilRemovedAndCommitReIssuesWithTheCurrentKey()
    {
        var h1 = JwtTestKeys.Hmac("h1", 1);
        var h2 = JwtTestKeys.Hmac("h2", 2);
        var old = await NewTokenAsync(Store(h1));

        var rotatedOptions = JwtTestKeys.Options(h2, h1);
        var rotated = new JwtSessionStore(rotatedOptions, _time);
        Assert.NotNull(await rotated.LoadAsync(old));
        var session = rotated.Open(old);
        session.Set("touched", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        Assert.Equal("h2", new JsonWebToken(session.Ticket).Kid);

        var retired = Store(h2);
        Assert.Null(await retired.LoadAsync(old));
        Assert.NotNull(await retired.LoadAsync(session.Ticket!));
    }

    [Fact]
    public async Task Commit_TokenOverTheBudget_ThrowsTypedErrorNamingMaxTokenLength()
    {
        var options = JwtTestKeys.Options(_hmac);
        options.MaxTokenLength = 2000;
        options.MaxPayloadBytes = 900;
        var store = new JwtSessionStore(options, _time);
        var session = store.Open(null);
        for (var i = 0; i < 300; i++)
        {
            session.SetBytes(i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture), []);
        }

        var error = await Assert.ThrowsAsync<SessionPayloadTooLargeException>(async () => await session.CommitAsync());

        Assert.Equal("MaxTokenLength", error.LimitName);
        Assert.Equal(2000, error.Limit);
    }

    [Fact]
    public void Fuzz_RandomStrings_NeverValidateAndNeverThrow()
    {
        var store = Store(_hmac);
        var alphabet = Gen.Char["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ "];
        Gen.OneOf(Gen.String[alphabet, 0, 300], Gen.String[Gen.Char, 0, 100])
            .Sample(token => Assert.Null(store.ValidateAsync(token).AsTask().GetAwaiter().GetResult()), iter: 100_000, threads: 1);
    }

    [Fact]
    public async Task Fuzz_MutatedValidTokens_NeverValidateAndNeverThrow()
    {
        var store = Store(_hmac);
        var token = await NewTokenAsync(store);
        var mutation = Gen.Select(Gen.Int[0, 3], Gen.Int[0, token.Length - 1], Gen.Char["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.{}\""], Gen.Int[1, 8]);

        mutation.Sample(
            m =>
            {
                var (kind, at, c, count) = m;
                var mutated = kind switch
                {
                    0 => token[..at] + c + token[(at + 1)..],
                    1 => token[..at],
                    2 => token[..at] + new string(c, count) + token[at..],
                    _ => token[..at] + token[Math.Min(token.Length, at + count)..],
                };
                if (mutated != token)
                {
                    Assert.Null(store.ValidateAsync(mutated).AsTask().GetAwaiter().GetResult());
                }
            },
            iter: 100_000,
            threads: 1);
    }

    private JwtSessionStore Store(params SecurityKey[] keys) => new(JwtTestKeys.Options(keys), _time);

    private static async Task<string> NewTokenAsync(ISessionStore store)
    {
        var session = store.Open(null);
        session.Set("n", 1, ContractJsonContext.Default.Int32);
        await session.CommitAsync();
        return session.Ticket!;
    }

    private static async Task<Dictionary<string, object>> ClaimsOfAsync(ISessionStore store)
    {
        var token = new JsonWebToken(await NewTokenAsync(store));
        return new Dictionary<string, object>
        {
            ["sid"] = token.GetPayloadValue<string>("sid"),
            ["jti"] = token.GetPayloadValue<string>("jti"),
            ["stk"] = token.GetPayloadValue<string>("stk"),
        };
    }

    private string Forge(
        Dictionary<string, object> claims,
        SigningCredentials signing,
        DateTime? notBefore = null,
        DateTime? expires = null,
        string issuer = "https://tests.statekit",
        string audience = "statekit-tests")
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = notBefore ?? now,
            NotBefore = notBefore ?? now,
            Expires = expires ?? now.AddMinutes(10),
            SigningCredentials = signing,
            Claims = claims,
        });
    }
}
