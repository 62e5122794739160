using System;
using System.Linq;
using System.Security.Claims;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using StateKit.AspNetCore;
using StateKit.Benchmarks.Infrastructure;
using StateKit.DependencyInjection;
using StateKit.Redis;

namespace StateKit.Benchmarks;

/// <summary>
/// Issue 19: an authenticated request of a user with 50 claims, through ASP.NET Core's authentication middleware and cookie
/// handler, in process: the default cookie (the whole ticket, data-protected and chunked) against StateKit's ticket store on
/// Redis and in memory (a key in the cookie, the ticket in the store). Each setup prints its cookie's size. The claims are
/// roles, whose claim type is a URI, as ASP.NET Core Identity issues them.
/// </summary>
[MemoryDiagnoser]
public class CookieAuthenticationBenchmarks
{
    public const int Claims = 50;

    private BenchRedis? _redis;
    private Pipeline _cookie = null!;
    private Pipeline _inMemory = null!;
    private Pipeline _onRedis = null!;

    [GlobalSetup]
    public void Setup()
    {
        _redis = BenchRedis.Start();
        _cookie = Pipeline.SignIn("default cookie", null);
        _inMemory = Pipeline.SignIn("StateKit in-memory", kit => kit.UseInMemory());
        _onRedis = Pipeline.SignIn("StateKit Redis", kit => kit.UseRedis(_redis.Configuration, o => o.KeyPrefix = "bench:tickets:"));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _cookie.Dispose();
        _inMemory.Dispose();
        _onRedis.Dispose();
        _redis?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<int> DefaultCookie() => _cookie.RequestAsync();

    [Benchmark]
    public Task<int> StateKitTicketsInMemory() => _inMemory.RequestAsync();

    [Benchmark]
    public Task<int> StateKitTicketsOnRedis() => _onRedis.RequestAsync();

    /// <summary>The authentication middleware in front of a handler that reads the user, with one user signed in.</summary>
    private sealed class Pipeline : IDisposable
    {
        private readonly ServiceProvider _services;
        private readonly RequestDelegate _app;
        private string _cookie = string.Empty;

        private Pipeline(Action<StateKitBuilder>? store)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddDataProtection().UseEphemeralDataProtectionProvider();
            var auth = services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie();
            if (store is not null)
            {
                services.AddStateKit(store);
                auth.UseStateKitTickets();
            }

            _services = services.BuildServiceProvider();
            var app = new ApplicationBuilder(_services);
            app.UseAuthentication();
            app.Run(context => context.User.Identity?.IsAuthenticated == true ? Task.CompletedTask : throw new InvalidOperationException("not signed in"));
            _app = app.Build();
        }

        public static Pipeline SignIn(string name, Action<StateKitBuilder>? store)
        {
            var pipeline = new Pipeline(store);
            using var scope = pipeline._services.CreateScope();
            var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
            context.Request.Scheme = "https";
            // Role claims, as ASP.NET Core Identity and most identity providers issue them: the claim type is a URI.
            var claims = Enumerable.Range(0, Claims).Select(i => new Claim(ClaimTypes.Role, $"catalog:item-{i:D3}:read-write"))
                .Prepend(new Claim(ClaimTypes.Name, "ana")).Prepend(new Claim(ClaimTypes.NameIdentifier, "user-0001"));
            context.SignInAsync(new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme))).GetAwaiter().GetResult();

            // What a browser sends back: every chunk's name=value, as one Cookie header.
            var pairs = context.Response.Headers.SetCookie.Select(c => c![..c!.IndexOf(';', StringComparison.Ordinal)]).ToList();
            pipeline._cookie = string.Join("; ", pairs);
            Console.WriteLine($"// {name}: Cookie header of {pipeline._cookie.Length} bytes in {pairs.Count} cookie(s), {Claims} claims");
            pipeline.RequestAsync().GetAwaiter().GetResult();
            return pipeline;
        }

        public async Task<int> RequestAsync()
        {
            await using var scope = _services.CreateAsyncScope();
            var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
            context.Request.Scheme = "https";
            context.Request.Path = "/orders";
            context.Request.Headers.Cookie = _cookie;
            await _app(context);
            return context.Response.StatusCode;
        }

        public void Dispose() => _services.Dispose();
    }
}
